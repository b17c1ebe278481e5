"""Which folders the report shows as assets: those holding asset.json, one level nested too."""

from gina3d.evaluation.report import asset_dirs


def test_asset_dirs_keeps_folders_with_asset_json_including_viewer_samples(tmp_path):
    run = tmp_path / "run"
    for folder in ("assets/a_000", "assets/a_001", "assets/viewer/sample_000"):
        (run / folder).mkdir(parents=True)
        (run / folder / "asset.json").write_text("{}")
    (run / "assets" / "empty").mkdir()
    names = [p.relative_to(run / "assets").as_posix() for p in asset_dirs(run)]
    assert names == ["a_000", "a_001", "viewer/sample_000"]
    assert asset_dirs(run, run / "assets" / "a_001") == [run / "assets" / "a_001"]
    assert asset_dirs(tmp_path / "no_run") == []
