"""``benchmarks/recon_spectrum.py`` on a real tiny stage-1 run: its figures and its maths."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from gina3d.cli.train import main as train_main

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "recon_spectrum.py"


def _module():
    spec = importlib.util.spec_from_file_location("recon_spectrum", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lowpass_keeps_constants_and_averages_blocks():
    lowpass = _module()._lowpass
    flat = torch.full((1, 3, 8, 8), 0.25)
    assert torch.allclose(lowpass(flat, 4), flat)
    x = torch.zeros(1, 1, 4, 4)
    x[..., :2, :2] = 1.0  # one 2 x 2 block of a 2-factor grid
    low = lowpass(x, 2)
    assert low.shape == x.shape
    assert float(low.mean()) == pytest.approx(float(x.mean()))  # bilinear keeps the mean here
    assert torch.equal(lowpass(x, 1), x)


def test_recon_spectrum_on_a_tiny_run(box_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["stage1", "--data", str(box_dataset), "--preset", "tiny", "--out", str(run)]
    assert train_main([*args, "--steps", "2"]) == 0
    capsys.readouterr()
    common = ["--run", str(run), "--data", str(box_dataset), "--split", "train"]
    assert _module().main([*common, "--patches", "6", "--factors", "1,2,4"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["patches"] == 6
    every = out["all"]
    for key in ("psnr_visible", "lowpass_2", "lowpass_4", "ceiling_mean_colour"):
        assert 0.0 < every[key] < 100.0, key
    # no blur is a perfect reconstruction (the PSNR cap); a coarser blur loses more
    assert every["ceiling_blur_1"] == pytest.approx(100.0)
    assert every["lowpass_1"] == pytest.approx(every["psnr_visible"], abs=1e-6)
    assert every["ceiling_blur_2"] > every["ceiling_blur_4"]
    assert {"vehicle"} <= set(out) - {"run", "split", "patches", "all", "seconds"}
