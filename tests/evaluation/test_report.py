"""``gina3d report``: one well-formed, self-contained page from whatever a run holds."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import trimesh
from PIL import Image

from gina3d.cli.eval import main as eval_main
from gina3d.cli.main import main as gina3d_main
from gina3d.cli.train import main as train_main
from gina3d.evaluation.report import write_report

XHTML = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def stage1_run(box_dataset, tmp_path_factory):
    """A real tiny stage-1 run: 4 training steps on the box world, then eval recon."""
    run = tmp_path_factory.mktemp("report") / "run"
    data = str(box_dataset)
    args = ["stage1", "--data", data, "--preset", "tiny", "--out", str(run), "--steps", "4"]
    assert train_main(args) == 0
    recon = ["recon", "--run", str(run), "--data", data, "--split", "train"]
    assert eval_main([*recon, "--max-patches", "2", "--views", "180", "--quiet"]) == 0
    return run


def _parse(path):
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    return text, ET.fromstring(text.split("\n", 1)[1])  # raises if not well-formed


def test_stage1_run_report(stage1_run, capsys):
    assert gina3d_main(["report", "--run", str(stage1_run)]) == 0
    assert "report.html" in capsys.readouterr().out
    text, root = _parse(stage1_run / "report.html")
    for name in ("psnr_visible", "codebook_perplexity", "recon.json", "protocol", "config.yaml"):
        assert name in text, name
    alts = [img.get("alt") for img in root.iter(f"{XHTML}img")]
    assert "total loss" in alts and "codebook perplexity" in alts and "codebook usage" in alts
    assert any(a.startswith("stage_sample at step") for a in alts)
    srcs = [img.get("src") for img in root.iter(f"{XHTML}img")]
    assert all(s.startswith("data:image/png;base64,") for s in srcs)  # self-contained
    assert "Assets" not in text and "real vs real" not in text


def _asset(folder, seed):
    folder.mkdir(parents=True)
    frames = [Image.fromarray(np.full((24, 24, 3), 40 * i + seed, np.uint8)) for i in range(4)]
    frames[0].save(folder / "turntable.png")
    frames[0].save(folder / "turntable.gif", save_all=True, append_images=frames[1:])
    (folder / "asset.json").write_text(json.dumps({"class": "car", "seed": seed}))
    (folder / "mesh.glb").write_bytes(trimesh.creation.box().export(file_type="glb"))


def test_generation_results_and_assets(stage1_run, tmp_path):
    gen = {
        "fid": 85.0,
        "kid": 0.05,
        "cov": 0.4,
        "mmd": 0.01,
        "one_nna": 0.8,
        "geometry_consistency": {"depth_abs_rel": 0.02},
        "matched": {"fid": 90.0, "kid": 0.06, "cov": 0.5, "mmd": 0.012, "one_nna": 0.8},
        "real_vs_real": {"fid": 20.0, "kid": 0.001, "cov": 0.7, "mmd": 0.008, "one_nna": 0.55},
        "protocol": {"seed": 0, "images": {"feature_network": {"name": "fid-inception-v3"}}},
    }
    (stage1_run / "eval" / "gen.json").write_text(json.dumps(gen))
    assets = tmp_path / "assets"
    _asset(assets / "car_000", 0)
    _asset(assets / "car_001", 1)
    out = tmp_path / "pages" / "r.html"
    out.parent.mkdir()
    try:
        write_report(stage1_run, out, assets)
    finally:
        (stage1_run / "eval" / "gen.json").unlink()
    text, root = _parse(out)
    assert "real vs real (floor)" in text and "geometry_consistency.depth_abs_rel" in text
    assert "images.feature_network.name" in text and "car_001" in text
    srcs = [img.get("src") for img in root.iter(f"{XHTML}img")]
    assert sum(s.startswith("data:image/gif;base64,") for s in srcs) == 2
    hrefs = [a.get("href") for a in root.iter(f"{XHTML}a")]
    assert "../assets/car_000/mesh.glb" in hrefs  # relative to the page


def test_empty_run_and_errors(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    text, _ = _parse(write_report(empty))
    assert "no metrics, evaluations, samples or assets" in text
    assert gina3d_main(["report", "--run", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gina3d report: error:") and "no such run directory" in err
    assert err.count("\n") == 1
    assert gina3d_main(["report", "--run", str(empty), "--assets", str(tmp_path / "no")]) == 2
    assert "no such assets directory" in capsys.readouterr().err


def test_stage2_samples_get_their_own_legend(tmp_path):
    run = tmp_path / "s2"
    (run / "samples").mkdir(parents=True)
    (run / "config.yaml").write_text("stage1_run: runs/s1\n")
    grid = Image.fromarray(np.zeros((8, 24, 3), np.uint8))
    for step in (2, 4, 6, 8, 10):
        grid.save(run / "samples" / f"stage_sample-{step:08d}.png")
    (run / "metrics.jsonl").write_text('{"step": 2, "loss": 3.0, "masked_acc": 0.1}\n')
    text, root = _parse(write_report(run))
    assert "stage2 run" in text and "Stage-2 samples" in text and "Stage-1 recon" not in text
    alts = [img.get("alt") for img in root.iter(f"{XHTML}img")]
    assert "masked_acc" in alts  # metrics outside the known groups get a plot each
    steps = [a for a in alts if a.startswith("stage_sample at step")]
    assert steps[0] == "stage_sample at step 10" and len(steps) == 4  # latest first
