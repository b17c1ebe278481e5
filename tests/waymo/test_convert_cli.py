"""``gina3d waymo``: datasets that inspect reads and stage 1 trains on; Dask; resume; errors."""

import json

import pytest
from waymo.wod_frames import write_frames
from waymo.wod_writer import scene, write_assets

from gina3d.cli.inspect import main as inspect_main
from gina3d.cli.train import main as train_main
from gina3d.cli.waymo import main as waymo_main
from gina3d.data.dataset import PatchDataset
from gina3d.data.filters import FilterConfig
from gina3d.data.sources.waymo.asset_record import AssetConfig
from gina3d.data.sources.waymo.convert import ConvertConfig, convert_dataset
from gina3d.data.sources.waymo.layout import scan_assets

LOOSE = ["--min-crop-px", "4", "--min-visibility", "0", "--min-object-pixels", "1"]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    write_assets(root, scene(3, 4))
    return root


def test_assets_cli_inspect_train_resume(release, tmp_path, capsys):
    out = tmp_path / "d"
    args = ["assets", "--root", str(release), "--out", str(out), "--resolution", "16", *LOOSE]
    assert waymo_main([*args, "--split", "train"]) == 0
    assert "12 patches (train 12) from 3 segments" in capsys.readouterr().out
    assert inspect_main([str(out), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["num_patches"] == 12 and stats["source"] == "waymo_assets"
    assert stats["per_class"] == {"pedestrian": 3, "vehicle": 9}
    assert stats["per_time_of_day"] == {"dusk": 12}
    # resume: finished segments are skipped, the files stay as they are
    shard = sorted((out / "shards").glob("*.parquet"))[0]
    before = shard.stat().st_mtime_ns
    assert waymo_main([*args, "--split", "train"]) == 0
    assert shard.stat().st_mtime_ns == before
    assert waymo_main([*args, "--split", "val"]) == 2  # other settings: refused
    assert "differ in: split" in capsys.readouterr().err
    run = tmp_path / "run"
    cmd = ["stage1", "--data", str(out), "--preset", "tiny", "--out", str(run), "--steps", "2"]
    assert train_main(cmd) == 0
    assert (run / "checkpoints" / "latest").read_text().strip() == "step-00000002"


def test_dask_cluster_gives_the_same_dataset(release, tmp_path):
    cfg = AssetConfig(
        resolution=16, filters=FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1)
    )
    layout = scan_assets(release)
    local = convert_dataset("assets", layout, tmp_path / "a", cfg, ConvertConfig())
    dask = convert_dataset(
        "assets", layout, tmp_path / "b", cfg, ConvertConfig(workers=2, processes=False)
    )
    assert local["per_split"] == dask["per_split"] and local["num_patches"] == 12

    def ids(root):
        ds = PatchDataset(root, split=None)
        return sorted(ds.record(i).patch_id for i in range(len(ds)))

    assert ids(tmp_path / "a") == ids(tmp_path / "b")
    # a killed run resumes: drop one segment's sidecar, only that segment is rebuilt
    sidecar = sorted((tmp_path / "b" / "shards").glob("*.json"))[0]
    sidecar.unlink()
    (tmp_path / "b" / "manifest.json").unlink()
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        existing = ConvertConfig(scheduler=cluster.scheduler_address)
        again = convert_dataset("assets", layout, tmp_path / "b", cfg, existing)
    assert again["num_patches"] == 12 and sidecar.exists()


def test_frames_cli(tmp_path, capsys):
    write_frames(tmp_path / "wod", frames=2)
    out = tmp_path / "f"
    args = ["frames", "--root", str(tmp_path / "wod"), "--out", str(out), "--resolution", "16"]
    assert waymo_main([*args, *LOOSE]) == 0
    assert "4 patches" in capsys.readouterr().out
    assert inspect_main([str(out), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["source"] == "waymo_frames" and stats["per_time_of_day"] == {"night": 4}
    rep = json.loads((out / "waymo_reports" / "2000_000_000_020_000.json").read_text())
    assert rep["counts"]["frames"] == 2


def test_bad_input_is_one_line(tmp_path, capsys):
    def fails(args, text):
        try:
            code = waymo_main(args)
        except SystemExit as e:  # usage errors exit from argparse
            code = e.code
        assert code == 2
        err = capsys.readouterr().err  # besides the progress bar: one line
        lines = [x for x in err.splitlines() if x.strip() and "segments:" not in x]
        assert len(lines) == 1 and text in lines[0], err

    out = ["--out", str(tmp_path / "o")]
    fails(["assets", "--root", str(tmp_path / "none"), *out], "no such directory")
    fails(["assets", "--root", str(tmp_path), *out], "no object-asset folders")
    fails(["frames", "--root", str(tmp_path), *out], "missing component folders")
    fails(["assets", *out], "the following arguments are required: --root")
    fails(["nope"], "invalid choice")
    write_assets(tmp_path / "r", scene(1, 1))
    fails(["assets", "--root", str(tmp_path / "r"), *out, "--workers", "0"], "--workers 0")
    fails(["assets", "--root", str(tmp_path / "r"), *out, "--segments", "x"], "no such segment")
    fails(
        ["assets", "--root", str(tmp_path / "r"), *out, "--min-visibility", "2"], "min_visibility"
    )
    # a corrupt segment file: the others are converted, the failure is reported in one line
    write_assets(tmp_path / "r", scene(2, 1))
    bad = sorted((tmp_path / "r" / "veh_asset_ray").glob("*.parquet"))[0]
    bad.write_bytes(b"not parquet")
    fails(["assets", "--root", str(tmp_path / "r"), *out], "1 of 2 segments failed")
    report = json.loads((tmp_path / "o" / "waymo_report.json").read_text())
    assert bad.stem in report["failed_segments"][0]
