"""benchmarks/mesh_calibration.py on both field types (tiny synthetic data and models)."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from gina3d.cli.synth import main as synth_main
from gina3d.config import save_yaml, to_dict
from gina3d.models.config import tiny_model_config
from gina3d.models.stage1 import Stage1Model
from gina3d.training.checkpoint import save_checkpoint

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--scenes", "2", "--frames", "1", "--camera-scale", "0.25", "--resolution", "32"]
TINY += ["--workers", "1", "--min-crop-px", "12", "--min-object-pixels", "10", "--seed", "5"]


def _load():
    spec = importlib.util.spec_from_file_location(
        "mesh_cal", ROOT / "benchmarks" / "mesh_calibration.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cal") / "data"
    assert synth_main(["--out", str(root), *TINY]) == 0
    return root


def _run(root: Path, data: Path, field_type: str) -> Path:
    from gina3d.training.presets import Stage1Config

    torch.manual_seed(0)
    cfg = tiny_model_config(32)
    cfg.field_type = field_type
    if field_type == "density":
        cfg.density_bias = 3.0  # dense enough to have a surface
    model = Stage1Model(cfg).eval()
    run = root / field_type
    save_checkpoint(run, 1, {"model": model}, {"kind": "stage1", "preset": "tiny",
                    "model": to_dict(cfg), "loss": {}}, {}, {"step": 1})  # fmt: skip
    save_yaml(Stage1Config(preset="tiny", data=str(data), model=cfg), run / "config.yaml")
    return run


@pytest.mark.parametrize("field_type", ["density", "sdf"])
def test_mesh_calibration_reports_both_field_types(tmp_path, data, capsys, field_type):
    run = _run(tmp_path, data, field_type)
    args = ["--run", str(run), "--data", str(data), "--split", "train", "--per-class", "2"]
    args += ["--resolution", "16", "--points", "256", "--opacities", "0.1,0.3", "--threads", "1"]
    assert _load().main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["field_type"] == field_type
    veh = out["classes"]["vehicle"]
    assert veh["count"] == 2 and {"0.1", "0.3"} <= set(veh)
    assert veh["best_chamfer_opacity"] in (0.1, 0.3)
    assert ("sdf" in veh) == (field_type == "sdf")
    if field_type == "sdf":  # the untrained sdf field is its prior: 0.75 of the box
        assert veh["sdf"]["extent_over_size"] == pytest.approx([0.75] * 3, abs=0.08)
        assert veh["sdf"]["share_within_10pct"] == 0.0
