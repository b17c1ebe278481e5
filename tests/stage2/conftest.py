"""Shared stage-2 fixtures: a tiny synthetic dataset and a tiny stage-1 run (built once)."""

import pytest
import torch

from gina3d.cli.synth import main as synth_main
from gina3d.cli.train import main as train_main
from gina3d.models.maskgit import MaskGIT, MaskGITConfig

TINY_WORLD = ["--scenes", "2", "--frames", "1", "--camera-scale", "0.25", "--resolution", "16"]
TINY_WORLD += ["--workers", "1", "--min-crop-px", "10", "--min-object-pixels", "6"]
TINY_WORLD += [
    "--rig",
    "waymo",
    "--ego-speed",
    "3",
    "12",
    "--ego-stopped-share",
    "0.2",
]  # counts below


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("stage2") / "data"
    assert synth_main(["--out", str(root), "--seed", "3", *TINY_WORLD]) == 0
    return root


@pytest.fixture(scope="session")
def stage1_run(tiny_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("stage2") / "s1"
    args = ["stage1", "--data", str(tiny_data), "--preset", "tiny", "--out", str(run)]
    assert train_main([*args, "--threads", "1"]) == 0
    return run


def _tiny_maskgit(**flags) -> MaskGIT:
    """A randomly initialised tiny MaskGIT (T = 48, K = 16), every condition on by default."""
    torch.manual_seed(0)
    cfg = MaskGITConfig(plane_tokens=4, codebook_size=16, width=32, depth=1, heads=2, image_size=16)
    cfg.use_image = True
    for k, v in flags.items():
        setattr(cfg, k, v)
    return MaskGIT(cfg).eval()


@pytest.fixture
def tiny_maskgit():
    """Factory: ``tiny_maskgit(use_size=False, ...)`` -> an untrained tiny MaskGIT."""
    return _tiny_maskgit
