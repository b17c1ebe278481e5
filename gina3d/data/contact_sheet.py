"""Contact sheet: a PNG grid of patches with their masks and LiDAR, for looking at a dataset.

Each tile shows three views of one patch side by side: the RGB patch; the patch with its
masks overlaid (object green, occluder red, background dimmed); the LiDAR depth image
(near yellow, far purple) over a grey copy of the patch. A caption names class, body type,
time of day and visibility.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from gina3d.atomic import atomic_write
from gina3d.data.dataset import PatchDataset
from gina3d.data.schema import OBJECT, OCCLUDER, PatchRecord
from gina3d.errors import Gina3dError

TILE = 96  # pixels per view
CAPTION = 12


def _mask_overlay(rec: PatchRecord) -> np.ndarray:
    img = rec.rgb.astype(np.float32)
    out = img * 0.35
    obj, occ = rec.masks == OBJECT, rec.masks == OCCLUDER
    out[obj] = 0.55 * img[obj] + 0.45 * np.array([40, 230, 60])
    out[occ] = 0.45 * img[occ] + 0.55 * np.array([235, 40, 40])
    return out.astype(np.uint8)


def _depth_colour(d: np.ndarray) -> np.ndarray:
    """Colours [N,3] for normalised depths [N] in [0,1]: yellow (near) to purple (far)."""
    near, mid, far = np.array([253, 231, 37]), np.array([33, 145, 140]), np.array([68, 1, 84])
    d = d[:, None]
    return np.where(d < 0.5, near + (mid - near) * d * 2, mid + (far - mid) * (d - 0.5) * 2)


def _lidar_overlay(rec: PatchRecord) -> np.ndarray:
    grey = rec.rgb.mean(-1, keepdims=True).repeat(3, -1) * 0.5
    hit = rec.lidar_depth > 0
    if hit.any():
        d = rec.lidar_depth[hit]
        span = max(float(d.max() - d.min()), 1e-3)
        grey[hit] = _depth_colour((d - d.min()) / span)
    return grey.astype(np.uint8)


def _pick(ds: PatchDataset, count: int, seed: int) -> list[int]:
    """Spread the picks over classes and times of day (round robin over groups)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ds))[: max(count * 8, count)]
    groups: dict[tuple[str, str], list[int]] = {}
    for i in order:
        rec = ds.record(int(i))
        groups.setdefault((rec.cls, rec.time_of_day), []).append(int(i))
    picks: list[int] = []
    while len(picks) < count and any(groups.values()):
        for key in sorted(groups):
            if groups[key] and len(picks) < count:
                picks.append(groups[key].pop(0))
    return picks


def write_contact_sheet(
    root: str | os.PathLike, path: str | os.PathLike, count: int = 24, seed: int = 0
) -> int:
    """Write the sheet PNG atomically; returns the number of patches shown."""
    ds = PatchDataset(root, split=None)
    picks = _pick(ds, count, seed)
    cols = 3
    rows = (len(picks) + cols - 1) // cols
    tile_w, tile_h = 3 * TILE + 8, TILE + CAPTION + 6
    sheet = Image.new("RGB", (cols * tile_w, rows * tile_h), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for k, i in enumerate(picks):
        rec = ds.record(i)
        x, y = (k % cols) * tile_w, (k // cols) * tile_h
        for j, view in enumerate((rec.rgb, _mask_overlay(rec), _lidar_overlay(rec))):
            tile = Image.fromarray(view).resize((TILE, TILE), Image.NEAREST)
            sheet.paste(tile, (x + j * TILE, y))
        caption = (
            f"{rec.subtype if rec.cls == 'vehicle' else rec.cls} {rec.time_of_day} "
            f"vis {rec.visibility:.2f} {rec.distance:.0f}m"
        )
        draw.text((x + 2, y + TILE + 1), caption, fill=(230, 230, 230))
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda tmp: sheet.save(tmp, format="PNG"))
    except OSError as e:
        raise Gina3dError(f"{out}: cannot write contact sheet ({e.strerror})") from None
    return len(picks)
