"""Resample a WOD patch (any H x W) to the record's square R x R grid.

The square window is centred on the patch, side S = max(H, W) patch pixels, so nothing is
cut and the shorter side is padded. Each record pixel is supersampled k x k times
(k = ceil(S / R), at most ``max_supersample``):

* RGB: mean of bilinear samples (area filter when shrinking, bilinear when enlarging);
* labels: each sample takes its nearest patch pixel's label, samples in the padding are
  *unseen*; a record pixel is object when half its samples are, occluder when any sample
  is occluder or unseen, else background (the rule of ``gina3d.data.patches``);
* rays: WOD's exact rays bilinearly interpolated at the record pixel centres (directions
  renormalised); centres in the padding take the fitted pinhole's rays;
* LiDAR distance: the nearest return among the patch pixels inside a record pixel, or the
  return of the patch pixel under its centre when enlarging.

With S == R == H == W every array passes through unchanged.
"""

from __future__ import annotations

import numpy as np

from gina3d.data.schema import BACKGROUND, OBJECT, OCCLUDER
from gina3d.geometry.cameras import camera_rays, pixel_centres

UNSEEN = 3


def square_window(height: int, width: int) -> tuple[float, float, float]:
    """(x0, y0, side) of the centred square window in patch pixels."""
    side = float(max(height, width))
    return (width - side) / 2.0, (height - side) / 2.0, side


def _bilinear(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear samples of image [H,W,C] at pixel coordinates uv [...,2] (clamped)."""
    h, w = image.shape[:2]
    x = np.clip(uv[..., 0] - 0.5, 0, w - 1)
    y = np.clip(uv[..., 1] - 0.5, 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    img = image.astype(np.float64)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def _inside(uv: np.ndarray, height: int, width: int) -> np.ndarray:
    return (uv[..., 0] >= 0) & (uv[..., 0] < width) & (uv[..., 1] >= 0) & (uv[..., 1] < height)


def resample_patch(
    rgb: np.ndarray,
    labels: np.ndarray,
    origins: np.ndarray,
    directions: np.ndarray,
    dist: np.ndarray | None,
    K_patch: np.ndarray,
    cam_from_obj: np.ndarray,
    resolution: int,
    max_supersample: int = 4,
) -> dict:
    """Record arrays of a patch: rgb [R,R,3] uint8, masks [R,R] uint8, ray_origin and
    ray_direction [R,R,3] float32, dist [R,R] float32 (not yet restricted to the object),
    the window (x0, y0, side) in patch pixels and the ray-hit-independent 'hidden' samples
    [R,R] (count of occluder or unseen samples) for visibility."""
    height, width = labels.shape
    x0, y0, side = square_window(height, width)
    res = resolution
    k = int(np.clip(np.ceil(side / res), 1, max_supersample))
    uv = pixel_centres(res * k, res * k) * (side / (res * k)) + np.array([x0, y0])
    inside = _inside(uv, height, width)
    col = np.clip(np.floor(uv[..., 0]).astype(int), 0, width - 1)
    row = np.clip(np.floor(uv[..., 1]).astype(int), 0, height - 1)

    samples = np.where(inside[..., None], _bilinear(rgb, uv), 0.0)
    out_rgb = samples.reshape(res, k, res, k, 3).mean(axis=(1, 3))
    sample_labels = np.where(inside, labels[row, col], UNSEEN)
    blocks = sample_labels.reshape(res, k, res, k).transpose(0, 2, 1, 3).reshape(res, res, k * k)
    hidden = ((blocks == OCCLUDER) | (blocks == UNSEEN)).sum(-1)
    masks = np.full((res, res), BACKGROUND, dtype=np.uint8)
    masks[hidden > 0] = OCCLUDER
    masks[(blocks == OBJECT).mean(-1) >= 0.5] = OBJECT

    centres = pixel_centres(res, res) * (side / res) + np.array([x0, y0])  # [R,R,2] patch px
    in_patch = _inside(centres, height, width)
    ray_o = _bilinear(origins, centres)
    ray_d = _bilinear(directions, centres)
    if not in_patch.all():
        fo, fd = camera_rays(K_patch, cam_from_obj, centres)
        ray_o = np.where(in_patch[..., None], ray_o, fo)
        ray_d = np.where(in_patch[..., None], ray_d, fd)
    norm = np.linalg.norm(ray_d, axis=-1, keepdims=True)
    ray_d = np.where(np.abs(norm - 1) > 1e-6, ray_d / np.maximum(norm, 1e-12), ray_d)  # exact stay

    out_dist = np.zeros((res, res), dtype=np.float32)
    if dist is not None:
        has = dist > 0
        zbuf = np.full((res, res), np.inf)
        rows, cols = np.nonzero(has)
        oc = np.floor((cols + 0.5 - x0) * res / side).astype(int)
        orow = np.floor((rows + 0.5 - y0) * res / side).astype(int)
        np.minimum.at(zbuf, (orow, oc), dist[rows, cols])
        c_col = np.clip(np.floor(centres[..., 0]).astype(int), 0, width - 1)
        c_row = np.clip(np.floor(centres[..., 1]).astype(int), 0, height - 1)
        under = np.where(in_patch, dist[c_row, c_col], 0.0)
        out_dist = np.where(np.isfinite(zbuf), zbuf, under).astype(np.float32)

    return {
        "rgb": np.clip(np.round(out_rgb), 0, 255).astype(np.uint8),
        "masks": masks,
        "ray_origin": ray_o.astype(np.float32),
        "ray_direction": ray_d.astype(np.float32),
        "dist": out_dist,
        "window": (x0, y0, side),
        "hidden_samples": hidden,
        "object_samples": (blocks == OBJECT).sum(-1),
        "k": k,
    }
