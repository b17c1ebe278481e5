"""Render the pictures in docs/images: every vehicle body type, pedestrians, and one street
frame by day, at dusk and at night (real rasteriser, fixed seeds).

    .venv/bin/python scripts/doc_figures.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from gina3d.data.render.lighting import apply_sensor, sample_lighting
from gina3d.data.sources.synthetic.pedestrians import sample_pedestrian
from gina3d.data.render.raster import Draw, default_renderer
from gina3d.data.sources.synthetic.street import SEMANTIC
from gina3d.data.sources.synthetic.vehicles import VEHICLE_TYPES, sample_vehicle
from gina3d.data.sources.synthetic.world import SynthConfig, SyntheticSource
from gina3d.geometry.cameras import intrinsics_matrix
from gina3d.geometry.transforms import OPENCV_FROM_FLU, invert, make_transform, rot_z

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"
TILE = 200


def _turn(asset, rng) -> np.ndarray:
    """An image of one asset seen from the front-left, 3/4 view, fitted to the tile."""
    lighting = sample_lighting(rng, "day", np.zeros((0, 3)))
    size = asset.size
    dist = max(size) * 1.9 + 1.0
    eye = np.array([np.cos(0.7) * dist, np.sin(0.7) * dist, size[2] * 0.6 + 0.6])
    fwd = -eye / np.linalg.norm(eye)
    yaw, pitch = np.arctan2(fwd[1], fwd[0]), np.arcsin(fwd[2])
    rot = rot_z(yaw) @ np.array(
        [[np.cos(-pitch), 0, np.sin(-pitch)], [0, 1, 0], [-np.sin(-pitch), 0, np.cos(-pitch)]]
    )
    world_from_cam = make_transform(rot, eye) @ invert(OPENCV_FROM_FLU)
    K = intrinsics_matrix(TILE * 1.3, TILE * 1.3, TILE / 2, TILE / 2)
    draws = [Draw(asset.mesh, np.eye(4), 1, SEMANTIC[asset.cls])]
    out = default_renderer().render(draws, K, invert(world_from_cam), TILE, TILE, lighting)
    return apply_sensor(out.rgb, np.random.default_rng(0), lighting)


def gallery() -> None:
    rng = np.random.default_rng(3)
    assets = [sample_vehicle(rng, t) for t in VEHICLE_TYPES]
    assets += [sample_pedestrian(rng) for _ in range(4)]
    cols = 6
    rows = (len(assets) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * TILE, rows * (TILE + 14)), (20, 20, 20))
    draw = ImageDraw.Draw(sheet)
    for i, a in enumerate(assets):
        x, y = (i % cols) * TILE, (i // cols) * (TILE + 14)
        sheet.paste(Image.fromarray(_turn(a, rng)), (x, y))
        label = f"{a.subtype} {a.size[0]:.1f}x{a.size[1]:.1f}x{a.size[2]:.1f} m"
        draw.text((x + 3, y + TILE), label, fill=(230, 230, 230))
    sheet.save(OUT / "asset_gallery.jpg", quality=85)


def frames() -> None:
    tiles = []
    for tod, seed in (("day", 0), ("dusk", 0), ("night", 0)):
        cfg = SynthConfig(
            scenes=1,
            frames_per_scene=1,
            time_of_day_weights=(float(tod == "day"), float(tod == "dusk"), float(tod == "night")),
        )
        frame = SyntheticSource(cfg, seed).frames("scene-00000")[0]
        cam = next(c for c in frame.cameras if c.name == "FRONT")
        tiles.append(Image.fromarray(cam.image))
    w, h = tiles[0].size
    sheet = Image.new("RGB", (w * 3, h))
    for i, t in enumerate(tiles):
        sheet.paste(t, (i * w, 0))
    sheet.resize((w * 3 * 2 // 3, h * 2 // 3)).save(OUT / "front_day_dusk_night.jpg", quality=85)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    gallery()
    frames()
    print(f"wrote {OUT}")
