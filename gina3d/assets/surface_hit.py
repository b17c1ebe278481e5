"""Where a ray first meets an asset's surface: LiDAR returns and compositing depth.

One surface per asset, the same one its mesh is cut at (``surface.py``):

- a field with a signed distance (``field.surface == "sdf"``: ``Stage1Field`` of an sdf
  model, ``FunctionField`` given ``sdf_fn``) stops a ray at the distance's first zero
  crossing: samples every ``step`` metres (at most ``max_samples``) between box entry and
  exit; the first sample at or below zero brackets the crossing, ``refine`` bisection
  steps narrow it, and a linear interpolation of the distance inside the last bracket ends.
  A ray that enters the box already inside (the surface reaches the box face) stops at
  the entry.
- a density field stops a ray where its accumulated opacity ``1 - exp(-tau)`` first
  reaches ``threshold``, i.e. at optical depth ``tau = -ln(1 - threshold)``, by the same
  march with tau integrated by the trapezoid rule.

``cfg`` is a ``MarchConfig`` (or ``lidar_sim.LidarSimConfig``, which extends it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gina3d.geometry.boxes import ray_box_intersect
from gina3d.geometry.cameras import camera_rays, pixel_centres


@dataclass
class MarchConfig:
    """How rays are marched to an asset's surface."""

    threshold: float = 0.5
    """Density assets: accumulated opacity at which a ray stops."""
    step: float = 0.02
    """Metres between march samples along a ray inside the box."""
    max_samples: int = 512
    """At most this many march samples per ray (longer boxes get a coarser step)."""
    refine: int = 12
    """Bisection steps inside the bracketing interval."""
    chunk: int = 1 << 18
    """Field evaluations per call."""


def surface_kind(fld) -> str:
    """ "sdf" for a field with a signed distance, else "density"."""
    return "sdf" if getattr(fld, "surface", "density") == "sdf" else "density"


def first_surface(fld, origins: np.ndarray, dirs: np.ndarray, cfg) -> np.ndarray:
    """Distance [N] along object-frame rays (origins, unit dirs [N,3], metres) to the
    field's surface inside its box; inf where a ray meets none (module docstring)."""
    size = np.asarray(fld.size, dtype=np.float64)
    t0, t1, hit = ray_box_intersect(origins, dirs, size)
    out = np.full(len(origins), np.inf)
    idx = np.flatnonzero(hit)
    if not len(idx):
        return out
    march = _zero_crossing if surface_kind(fld) == "sdf" else _opacity_crossing
    s = int(np.clip(math.ceil(float((t1[idx] - t0[idx]).max()) / cfg.step) + 1, 2, cfg.max_samples))
    u = np.linspace(0.0, 1.0, s)  # [S]
    per = max(1, cfg.chunk // s)
    for start in range(0, len(idx), per):
        r = idx[start : start + per]
        t = t0[r, None] + (t1[r] - t0[r])[:, None] * u  # [n,S]
        out[r] = march(fld, origins[r], dirs[r], t, size, cfg)
    return out


def _zero_crossing(fld, o, d, t, size, cfg) -> np.ndarray:
    """First zero of ``fld.sdf`` along rays o, d [n,3] marched at t [n,S] -> [n] (inf: none)."""
    n, s = t.shape
    out = np.full(n, np.inf)
    sdf = fld.sdf((o[:, None] + t[..., None] * d[:, None]).reshape(-1, 3)).reshape(n, s)
    inside = sdf <= 0.0
    ok = inside.any(axis=1)
    k = np.argmax(inside, axis=1)[ok]
    rows = np.flatnonzero(ok)
    entry = k == 0  # inside from the box face on
    out[rows[entry]] = t[rows[entry], 0]
    rows, k = rows[~entry], k[~entry]
    if not len(rows):
        return out
    lo, hi = t[rows, k - 1], t[rows, k]
    f_lo, f_hi = sdf[rows, k - 1], sdf[rows, k]
    o, d = o[rows], d[rows]
    for _ in range(cfg.refine):
        mid = 0.5 * (lo + hi)
        f_mid = fld.sdf(o + mid[:, None] * d)
        down = f_mid <= 0.0
        hi, f_hi = np.where(down, mid, hi), np.where(down, f_mid, f_hi)
        lo, f_lo = np.where(down, lo, mid), np.where(down, f_lo, f_mid)
    frac = np.clip(f_lo / np.maximum(f_lo - f_hi, 1e-12), 0.0, 1.0)
    out[rows] = lo + frac * (hi - lo)
    return out


def _opacity_crossing(fld, o, d, t, size, cfg) -> np.ndarray:
    """Where the opacity of ``fld.density`` first reaches ``cfg.threshold`` -> [n] (inf)."""
    n, s = t.shape
    out = np.full(n, np.inf)
    level = -math.log(1.0 - cfg.threshold)
    scale = np.linalg.norm(d / (size / 2.0), axis=-1)  # [n] normalised units per metre
    sigma = fld.density((o[:, None] + t[..., None] * d[:, None]).reshape(-1, 3))
    sigma = np.maximum(sigma.reshape(n, s), 0.0)  # [n,S]
    seg = 0.5 * (sigma[:, 1:] + sigma[:, :-1]) * np.diff(t, axis=1) * scale[:, None]
    tau = np.concatenate([np.zeros((n, 1)), np.cumsum(seg, axis=1)], axis=1)  # [n,S]
    crossed = tau >= level
    ok = crossed.any(axis=1)
    k = np.argmax(crossed, axis=1)[ok]  # >= 1 since tau[0] = 0 < level
    rows = np.flatnonzero(ok)
    lo, hi = t[rows, k - 1], t[rows, k]
    tau_lo, tau_hi, s_lo = tau[rows, k - 1], tau[rows, k], sigma[rows, k - 1]
    o, d, scale = o[rows], d[rows], scale[rows]
    for _ in range(cfg.refine):
        mid = 0.5 * (lo + hi)
        s_mid = np.maximum(fld.density(o + mid[:, None] * d), 0.0)
        tau_mid = tau_lo + 0.5 * (s_lo + s_mid) * (mid - lo) * scale
        up = tau_mid >= level
        hi, tau_hi = np.where(up, mid, hi), np.where(up, tau_mid, tau_hi)
        lo, tau_lo = np.where(up, lo, mid), np.where(up, tau_lo, tau_mid)
        s_lo = np.where(up, s_lo, s_mid)
    frac = np.clip((level - tau_lo) / np.maximum(tau_hi - tau_lo, 1e-12), 0.0, 1.0)
    out[rows] = lo + frac * (hi - lo)
    return out


def window_rays(K: np.ndarray, cam_from_obj: np.ndarray, height: int, width: int):
    """Object-frame rays through a window's pixel centres (row-major): origins, unit
    directions [H*W,3]. K [3,3], cam_from_obj [4,4], OpenCV camera."""
    pixels = pixel_centres(height, width).reshape(-1, 2)
    return camera_rays(np.asarray(K, np.float64), np.asarray(cam_from_obj, np.float64), pixels)


def surface_depth(fld, K, cam_from_obj, height: int, width: int, where: np.ndarray, cfg=None):
    """Distance [H,W] along each pixel's ray to the field's surface, at pixels ``where``
    [H,W] (bool); inf elsewhere and where the ray meets no surface."""
    cfg = cfg or MarchConfig()
    origins, dirs = window_rays(np.asarray(K, np.float64), cam_from_obj, height, width)
    out = np.full(height * width, np.inf)
    sel = np.flatnonzero(np.asarray(where).reshape(-1))
    if len(sel):
        out[sel] = first_surface(fld, origins[sel], dirs[sel], cfg)
    return out.reshape(height, width)
