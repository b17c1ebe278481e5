"""A tiny box-world dataset (with box meshes) and a fake stage-1 model for evaluation tests."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import trimesh
from boxworld import BoxWorldSource

from gina3d.data.build import BuildConfig, build_dataset
from gina3d.data.dataset import PatchDataset
from gina3d.data.filters import FilterConfig
from gina3d.data.patches import PatchConfig

RES = 32


class FakeStage1(torch.nn.Module):
    """The Stage1Model API without learning.

    ``forward`` keeps the input rgb as "tri-plane" (plane p = the image, F = 3, R = H) and
    emits code indices ``arange(T) % used`` for every patch. ``render_image`` casts each
    pixel's centre ray at the object's box: opacity 1 and depth = entry distance where the
    ray hits, rgb = the stored input image plus ``offset`` (so the input view's error is
    known exactly).
    """

    def __init__(self, offset: float = 0.0, codebook_size: int = 8, tokens: int = 6, used: int = 4):
        super().__init__()
        self.cfg = SimpleNamespace(codebook_size=codebook_size)
        self.offset, self.tokens, self.used = offset, tokens, used
        self.calls = 0

    def forward(self, rgb, ray_direction, ray_origin=None, box_size=None):
        self.calls += 1
        b = rgb.shape[0]
        triplane = rgb[:, None].expand(b, 3, *rgb.shape[1:]).clone()
        idx = (torch.arange(self.tokens) % self.used).expand(b, -1).clone()
        return triplane, SimpleNamespace(indices=idx, perplexity=None, usage=None)

    def render_image(self, triplane, K, cam_from_obj, box_size, height, width, chunk=4096):
        b = triplane.shape[0]
        v, u = torch.meshgrid(
            torch.arange(height, dtype=torch.float64) + 0.5,
            torch.arange(width, dtype=torch.float64) + 0.5,
            indexing="ij",
        )
        K, cam = K.double(), cam_from_obj.double()
        x = (u[None] - K[:, 0, 2, None, None]) / K[:, 0, 0, None, None]
        y = (v[None] - K[:, 1, 2, None, None]) / K[:, 1, 1, None, None]
        d_cam = torch.stack([x, y, torch.ones_like(x)], -1)
        d_cam = d_cam / d_cam.norm(dim=-1, keepdim=True)  # [B,H,W,3]
        rot = cam[:, :3, :3]
        origin = -torch.einsum("bji,bj->bi", rot, cam[:, :3, 3])  # obj-frame camera centre
        d = torch.einsum("bji,bhwj->bhwi", rot, d_cam)
        half = box_size.double()[:, None, None, :] / 2
        o = origin[:, None, None, :]
        with np.errstate(divide="ignore"):
            t0, t1 = (-half - o) / d, (half - o) / d
        t_near = torch.minimum(t0, t1).amax(-1).clamp(min=0)
        t_far = torch.maximum(t0, t1).amin(-1)
        hit = t_far > t_near
        opacity = hit.float()
        rgb = (triplane[:, 0] + self.offset).float() if height == triplane.shape[-2] else None
        if rgb is None:
            rgb = torch.zeros(b, 3, height, width)
        return {"rgb": rgb, "opacity": opacity, "depth": torch.where(hit, t_near, 0).float()}


@pytest.fixture
def fake_model():
    return FakeStage1


@pytest.fixture(scope="session")
def box_dataset(tmp_path_factory):
    """Box world (6 scenes: a car each, a pedestrian in odd ones) with the box meshes of
    objects o1 (car) and o2 (pedestrian) written where synthetic datasets keep meshes."""
    root = tmp_path_factory.mktemp("boxes")
    cfg = BuildConfig(
        patches=PatchConfig(resolution=RES),
        filters=FilterConfig(min_crop_px=4, min_visibility=0.0, min_object_pixels=1),
        scenes_per_shard=2,
        workers=1,
    )
    build_dataset(BoxWorldSource(6), root, cfg, seed=0)
    sizes = {}
    ds = PatchDataset(root, split=None)
    for i in range(len(ds)):
        rec = ds.record(i)
        sizes.setdefault(rec.object_id, rec.box_size)
    (root / "meshes").mkdir()
    for object_id, size in sizes.items():
        tm = trimesh.creation.box(extents=size)
        (root / "meshes" / f"{object_id}.ply").write_bytes(tm.export(file_type="ply"))
    return root


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes tens of seconds (FID cross-check)")


def _analytic_render_fn(hit_fn, noise: float = 0.0, seed: int = 0):
    """render_fn(K [B,3,3], cam_from_obj [B,4,4], H, W) from ``hit_fn(origins, directions)
    -> (hit [B,N], distance [B,N])`` (object frame, float64); ``noise`` scales each view's
    depth by its own random factor (1 + noise * N(0, 1)): geometry that disagrees with
    itself across views."""
    from gina3d.models.stage1 import image_rays

    gen = torch.Generator().manual_seed(seed)

    def render(K, cam_from_obj, height, width):
        o, d = image_rays(K, cam_from_obj, height, width)  # [B,H*W,3]
        hit, t = hit_fn(o.double(), d.double())
        depth = torch.where(hit, t, torch.zeros_like(t))
        if noise:
            scale = 1 + noise * torch.randn(depth.shape[0], 1, generator=gen, dtype=depth.dtype)
            depth = depth * scale
        b = K.shape[0]
        return {
            "depth": depth.reshape(b, height, width).float(),
            "opacity": hit.reshape(b, height, width).float(),
        }

    return render


def sphere_render_fn(radius: float = 1.0, noise: float = 0.0, seed: int = 0):
    """Exact depth and opacity of a sphere at the object origin."""

    def hit_fn(o, d):
        b = (o * d).sum(-1)
        disc = b * b - ((o * o).sum(-1) - radius**2)
        return disc > 0, -b - disc.clamp(min=0).sqrt()

    return _analytic_render_fn(hit_fn, noise, seed)


def box_render_fn(size, noise: float = 0.0, seed: int = 0):
    """Exact depth and opacity of an axis-aligned box of ``size`` [3] centred at the origin."""
    half = torch.as_tensor(np.asarray(size, dtype=np.float64)) / 2

    def hit_fn(o, d):
        t0, t1 = (-half - o) / d, (half - o) / d  # [B,N,3] slab entries/exits (inf if d=0)
        t_near = torch.minimum(t0, t1).amax(-1).clamp(min=0)
        t_far = torch.maximum(t0, t1).amin(-1)
        return t_far > t_near, t_near

    return _analytic_render_fn(hit_fn, noise, seed)


@pytest.fixture
def analytic():
    """Analytic renderers for geometry-consistency tests: ``.sphere(...)``, ``.box(...)``."""
    return SimpleNamespace(sphere=sphere_render_fn, box=box_render_fn)
