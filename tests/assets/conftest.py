"""Tiny runs for the asset tests, written directly (no training): a box-world dataset, a
stage-1 run whose field is shaped to give token-dependent blobs, and a stage-2 run (random
MaskGIT) pinned to that stage-1 checkpoint."""

import shutil
from types import SimpleNamespace

import pytest
import torch
from boxworld import BoxWorldSource

from gina3d.config import save_yaml, to_dict
from gina3d.data.build import BuildConfig, build_dataset
from gina3d.data.filters import FilterConfig
from gina3d.data.patches import PatchConfig
from gina3d.models.config import tiny_model_config
from gina3d.models.stage1 import Stage1Model
from gina3d.training.checkpoint import save_checkpoint

RES = 16


def shaped_stage1(seed: int = 0) -> Stage1Model:
    """A random tiny stage-1 model whose density crosses the mesh level in about a third to
    a half of the box, depending on the tokens (so meshes and renders differ per asset)."""
    torch.manual_seed(seed)
    model = Stage1Model(tiny_model_config(RES)).eval()
    with torch.no_grad():
        last = model.field.mlp[-1]
        last.weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(seed + 1))
        last.bias.zero_()
        last.bias[0] = 9.8
    return model


def write_stage1_run(run, model, data) -> None:
    """A stage-1 run directory for ``model``: one checkpoint (step 3) and config.yaml naming
    the dataset ``data`` (no token cache: training sizes come from the dataset's metadata)."""
    from gina3d.training.presets import Stage1Config

    cfg = {"kind": "stage1", "preset": "tiny", "model": to_dict(model.cfg), "loss": {}}
    save_checkpoint(run, 3, {"model": model}, cfg, {}, {"step": 3})
    save_yaml(Stage1Config(preset="tiny", data=str(data), model=model.cfg), run / "config.yaml")


def write_stage2_run(run, stage1_run, stage1_cfg, **maskgit) -> None:
    """A stage-2 run with a random tiny MaskGIT (``maskgit``: more MaskGITConfig fields),
    checkpoint step 2, pinned to ``stage1_run``'s step-3 checkpoint (RUN/stage1)."""
    from gina3d.models.maskgit import MaskGIT, MaskGITConfig

    cfg = MaskGITConfig(
        plane_tokens=stage1_cfg.plane_tokens,
        codebook_size=stage1_cfg.codebook_size,
        width=32,
        depth=1,
        heads=2,
        **maskgit,
    )
    torch.manual_seed(0)
    config = {"kind": "stage2", "preset": "tiny", "stage1_run": str(stage1_run)}
    config.update(stage1_step=3, model=to_dict(cfg), loss={})
    save_checkpoint(run, 2, {"model": MaskGIT(cfg)}, config, {}, {"step": 2})
    pinned = run / "stage1"  # the stage-1 checkpoint a stage-2 run decodes with
    pinned.mkdir()
    for name in ("model.safetensors", "model_config.json", "state.json"):
        shutil.copy2(stage1_run / "checkpoints" / "step-00000003" / name, pinned / name)


@pytest.fixture(scope="session")
def box_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("assets") / "data"
    cfg = BuildConfig(
        patches=PatchConfig(resolution=RES),
        filters=FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1),
        scenes_per_shard=2,
        workers=1,
    )
    build_dataset(BoxWorldSource(6), root, cfg, seed=0)
    return root


@pytest.fixture(scope="session")
def stage1_run(tmp_path_factory, box_data):
    """A stage-1 run directory: one checkpoint (step 3) and config.yaml naming the dataset
    (no token cache: training sizes then come from the dataset's metadata)."""
    run = tmp_path_factory.mktemp("assets") / "s1"
    write_stage1_run(run, shaped_stage1(), box_data)
    return run


@pytest.fixture(scope="session")
def stage2_run(tmp_path_factory, stage1_run):
    """A stage-2 run with a random MaskGIT (all four conditions on)."""
    run = tmp_path_factory.mktemp("assets") / "s2"
    write_stage2_run(run, stage1_run, tiny_model_config(RES), use_image=True, image_size=16)
    return run


@pytest.fixture
def model():
    return shaped_stage1()


@pytest.fixture
def tokens():
    """Two different token grids [T] of the tiny model."""
    cfg = tiny_model_config(RES)
    g = torch.Generator().manual_seed(5)
    return [torch.randint(0, cfg.codebook_size, (cfg.num_tokens,), generator=g) for _ in range(2)]


def sphere_fn(radius: float = 0.8, centre=(0.0, 0.0, 0.0), sigma: float = 1000.0, linear=False):
    """An analytic density function: a solid sphere coloured red in front (x > centre).

    Density ``sigma`` inside and 0 outside; with ``linear`` the density is instead linear
    in the distance to the centre and crosses ``density_level()`` exactly at ``radius``
    (marching cubes on the density then puts the surface there).
    """
    from gina3d.assets.surface import density_level

    c = torch.tensor(centre, dtype=torch.float32)
    level = density_level()

    def fn(points):
        r = (points - c).norm(dim=-1)
        if linear:
            dens = (level * (1.0 + (radius - r) / 0.1)).clamp_min(0.0)
        else:
            dens = torch.where(r < radius, sigma, 0.0)
        front = (points[:, 0] > c[0]).float()
        rgb = torch.stack([front, torch.full_like(r, 0.25), 1.0 - front], dim=-1)
        return dens, rgb

    return fn


def union(*fns):
    def fn(points):
        outs = [f(points) for f in fns]
        sigma = torch.stack([o[0] for o in outs]).amax(0)
        return sigma, outs[0][1]

    return fn


@pytest.fixture
def fields():
    """Analytic density functions for mesh tests: ``fields.sphere(...)``, ``fields.union``."""
    return SimpleNamespace(sphere=sphere_fn, union=union)
