"""Fit 3D Gaussian splats to an asset's field (``splat_raster`` renders them).

1. **Initialise** ``n`` Gaussians on the asset's surface (``mesh``, e.g. the marching-cubes
   mesh): area-weighted samples (seeded), colour = the field's colour there, isotropic
   scale = sqrt(area / (pi n)) (the radius of the disc each sample stands for), opacity
   0.8, rotation identity.
2. **Optimise** every parameter with Adam for ``steps`` steps against the field's own
   renders (``AssetField.render``: the tri-plane volume renderer, or an analytic field)
   from ``views`` look-at cameras at ``image_size`` px (azimuths uniform and elevations in
   [5, 40] degrees, seeded); one view per step; loss = L1(rgb) + ``alpha_weight``
   L1(alpha, field opacity), both images over black.
3. **Score**: PSNR of the splat renders against the field's at ``eval_views`` held-out
   orbit views (elevation 20 degrees, azimuths midway between eight equal steps, so none
   is a training view).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from gina3d.assets.splat_raster import rasterize, rgb_to_sh
from gina3d.errors import Gina3dError
from gina3d.geometry.cameras import look_at_camera


@dataclass
class SplatFitConfig:
    n: int = 1024
    """number of Gaussians"""
    steps: int = 100
    """Adam steps (one view each)"""
    views: int = 12
    """training views"""
    image_size: int = 64
    """side of the training and evaluation images in px"""
    eval_views: int = 8
    """held-out orbit views for the PSNR"""
    alpha_weight: float = 0.1
    """weight of the L1 between the splats' alpha and the field's opacity"""
    seed: int = 0
    """seed of the surface samples and the training cameras"""


def check_fit_config(cfg: SplatFitConfig) -> SplatFitConfig:
    """``cfg`` or Gina3dError naming the bad field."""
    if cfg.n < 1:
        raise Gina3dError(f"splats: number of Gaussians must be positive, got {cfg.n}")
    if cfg.steps < 0:
        raise Gina3dError(f"splats: steps must be 0 or more, got {cfg.steps}")
    if cfg.views < 1 or cfg.eval_views < 0:
        raise Gina3dError(f"splats: views must be positive, got {cfg.views}")
    if not 8 <= cfg.image_size <= 512:
        raise Gina3dError(f"splats: image size must be in 8..512, got {cfg.image_size}")
    return cfg


def init_splats(mesh, fn, n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """``n`` Gaussians on ``mesh`` (trimesh, metres) coloured by ``fn`` (points -> (sigma,
    rgb)); Gina3dError when the mesh has no area."""
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    if len(faces) == 0:
        raise Gina3dError("splats: the mesh has no faces (nothing to fit)")
    tri = verts[faces]  # [F,3,3]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    if area.sum() <= 0:
        raise Gina3dError("splats: the mesh has no area (nothing to fit)")
    rng = np.random.default_rng(seed)
    face = rng.choice(len(faces), size=n, p=area / area.sum())
    r1, r2 = rng.random(n), rng.random(n)
    s = np.sqrt(r1)
    w = np.stack([1 - s, s * (1 - r2), s * r2], axis=1)  # uniform barycentric [n,3]
    pts = np.einsum("nk,nkd->nd", w, tri[face])  # [n,3]
    means = torch.as_tensor(pts, dtype=torch.float32)
    with torch.no_grad():
        rgb = fn(means)[1].float().cpu().clamp(0.0, 1.0)  # [n,3]
    radius = math.sqrt(area.sum() / (math.pi * n))
    quats = torch.zeros(n, 4)
    quats[:, 0] = 1.0
    return {
        "means": means,
        "log_scales": torch.full((n, 3), math.log(radius)),
        "quats": quats,
        "logit_opacities": torch.full((n,), math.log(0.8 / 0.2)),
        "sh": rgb_to_sh(rgb),
    }


def training_cameras(size, n: int, image_size: int, seed: int) -> list[tuple]:
    """``n`` look-at cameras (cam_from_obj [4,4], K [3,3]), seeded azimuths and elevations."""
    rng = np.random.default_rng(seed + 1)
    az = (np.arange(n) + rng.random(n)) * 360.0 / n
    el = rng.uniform(5.0, 40.0, n)
    return [look_at_camera(size, image_size, float(a), float(e)) for a, e in zip(az, el)]


def eval_cameras(size, n: int, image_size: int) -> list[tuple]:
    """``n`` held-out orbit cameras at elevation 20 deg, azimuths (k + 0.5) 360 / n."""
    return [look_at_camera(size, image_size, (k + 0.5) * 360.0 / n, 20.0) for k in range(n)]


def field_target(field, cam, image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The field's render from ``cam``: rgb [3,H,W] over black, opacity [H,W]."""
    cam_from_obj, K = cam
    out = field.render(K, cam_from_obj, image_size, image_size)
    rgb = torch.as_tensor(out["rgb"], dtype=torch.float32).permute(2, 0, 1)
    return rgb, torch.as_tensor(out["opacity"], dtype=torch.float32)


def render_splats(splats: dict, cam, image_size: int) -> dict[str, torch.Tensor]:
    """Splats from ``cam`` (cam_from_obj, K) over black: rgb [3,H,W], alpha [H,W]."""
    cam_from_obj, K = cam
    keys = ("means", "log_scales", "quats", "logit_opacities", "sh")
    return rasterize(*(splats[k] for k in keys), K, cam_from_obj, image_size, image_size)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two images in [0,1]."""
    mse = float(((a.clamp(0, 1) - b.clamp(0, 1)) ** 2).mean())
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


@torch.no_grad()
def score_splats(splats: dict, targets: list, cams: list, image_size: int) -> float:
    """Mean PSNR over views of the splats' rgb against the targets' rgb."""
    vals = [psnr(render_splats(splats, c, image_size)["rgb"], t[0]) for c, t in zip(cams, targets)]
    return float(np.mean(vals)) if vals else float("nan")


def _optimise(params: dict, opt, cams: list, targets: list, order, cfg: SplatFitConfig) -> float:
    """The Adam steps (one view each, ``order``); returns the last loss."""
    last = float("nan")
    for step in range(cfg.steps):
        v = int(order[step])
        out = render_splats(params, cams[v], cfg.image_size)
        loss = (out["rgb"] - targets[v][0]).abs().mean()
        loss = loss + cfg.alpha_weight * (out["alpha"] - targets[v][1]).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        last = float(loss.detach())
    return last


def fit_splats(
    field, fn, mesh, cfg: SplatFitConfig | None = None, device: str = "cpu"
) -> tuple[dict, dict]:
    """Fit splats to ``field`` (an AssetField), starting on ``mesh`` coloured by ``fn``, on
    ``device``. Returns the splats (detached CPU tensors) and a report: seconds (targets,
    fit, eval), PSNR at the held-out views before and after the fit, final loss."""
    cfg = check_fit_config(cfg or SplatFitConfig())
    size, px = np.asarray(field.size, dtype=np.float64), cfg.image_size
    t0 = time.perf_counter()
    splats = init_splats(mesh, fn, cfg.n, cfg.seed)
    cams = training_cameras(size, cfg.views, px, cfg.seed)
    targets = [tuple(t.to(device) for t in field_target(field, c, px)) for c in cams]
    held = eval_cameras(size, cfg.eval_views, px)
    held_targets = [tuple(t.to(device) for t in field_target(field, c, px)) for c in held]
    splats = {k: v.to(device) for k, v in splats.items()}
    t1 = time.perf_counter()
    psnr_init = score_splats(splats, held_targets, held, px)
    radius = float(np.linalg.norm(size)) / 2.0
    params = {k: v.clone().requires_grad_(True) for k, v in splats.items()}
    lrs = {"means": 1e-3 * radius, "log_scales": 0.01, "quats": 0.005}
    lrs.update({"logit_opacities": 0.05, "sh": 0.02})
    opt = torch.optim.Adam([{"params": [params[k]], "lr": lr} for k, lr in lrs.items()])
    order = np.random.default_rng(cfg.seed + 2).integers(0, cfg.views, cfg.steps)
    t2 = time.perf_counter()
    with torch.enable_grad():  # also when called under no_grad (save_asset)
        loss = _optimise(params, opt, cams, targets, order, cfg)
    t3 = time.perf_counter()
    fitted = {k: v.detach() for k, v in params.items()}
    psnr_fit = score_splats(fitted, held_targets, held, px)
    fitted = {k: v.cpu() for k, v in fitted.items()}
    t4 = time.perf_counter()
    report = {
        "n": cfg.n,
        "steps": cfg.steps,
        "views": cfg.views,
        "image_size": px,
        "eval_views": cfg.eval_views,
        "psnr_init": round(psnr_init, 3),
        "psnr": round(psnr_fit, 3),
        "loss": round(loss, 5),
        "seconds": {
            "targets": round(t1 - t0, 3),
            "fit": round(t3 - t2, 3),
            "eval": round(t4 - t3 + t2 - t1, 3),
        },
    }
    return fitted, report
