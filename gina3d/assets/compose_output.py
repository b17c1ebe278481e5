"""The files ``gina3d compose`` writes: composed image, instance mask, boxes, LiDAR, summary.

``OUT/image.png`` (RGB), ``OUT/instance.png`` (16-bit grey: instance ids, 0 = none),
``OUT/boxes.json`` (the frame's boxes, then the inserted ones), ``OUT/lidar.npz``
(``points`` [L,3] float32 vehicle frame, ``instance`` [L] int32, ``inserted`` [L] bool,
``origin`` [3]) and ``OUT/lidar.ply`` (the same points coloured: grey background, a colour
per object, red for inserted assets; an ``instance`` property per vertex), and
``OUT/compose.json`` (what was done). Every file is written atomically, compose.json last.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np

from gina3d.atomic import atomic_write_bytes, atomic_write_json
from gina3d.errors import Gina3dError


def png_bytes(array: np.ndarray) -> bytes:
    """uint8 [H,W,3] RGB or uint16 [H,W] grey -> PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def instance_png(instance: np.ndarray) -> bytes:
    """Instance ids [H,W] as a 16-bit PNG (Gina3dError past 65535)."""
    if instance.size and (instance.min() < 0 or instance.max() > 65535):
        raise Gina3dError("instance ids must lie in [0, 65535] for a 16-bit PNG")
    return png_bytes(instance.astype(np.uint16))


def ply_bytes(points: np.ndarray, instance: np.ndarray, inserted: np.ndarray) -> bytes:
    """Binary little-endian PLY of points [L,3] with colours and an int ``instance``."""
    palette = np.array([[230, 159, 0], [86, 180, 233], [0, 158, 115], [240, 228, 66]])
    colour = palette[instance % len(palette)].astype(np.uint8)
    colour[instance == 0] = 150
    colour[inserted] = (220, 30, 30)
    fields = [(a, "<f4") for a in "xyz"] + [(c, "u1") for c in ("red", "green", "blue")]
    rows = np.zeros(len(points), dtype=[*fields, ("instance", "<i4")])
    for i, axis in enumerate("xyz"):
        rows[axis] = points[:, i]
    rows["red"], rows["green"], rows["blue"] = colour.T
    rows["instance"] = instance
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(points)}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        "property int instance\nend_header\n"
    )
    return header.encode() + rows.tobytes()


def write_outputs(out: Path, result, lidar, frame_info: dict, threshold: float, start: float):
    """Write the compose outputs to ``out``; returns the paths written (compose.json last)."""
    from gina3d.assets.compose import box_record

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise Gina3dError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "image.png", out / "instance.png", out / "boxes.json"]
    atomic_write_bytes(written[0], png_bytes(result.image))
    atomic_write_bytes(written[1], instance_png(result.instance))
    inserted_ids = {r["object_id"] for r in result.inserted}
    boxes = [{**box_record(b), "inserted": b.object_id in inserted_ids} for b in result.boxes]
    atomic_write_json(written[2], {"frame": frame_info, "boxes": boxes})
    summary = {"frame": frame_info, "camera": result.camera, "assets": result.inserted}
    if lidar is not None:
        buf = io.BytesIO()
        arrays = {"points": lidar.points, "instance": lidar.instance}
        np.savez_compressed(buf, **arrays, inserted=lidar.inserted, origin=lidar.origin)
        atomic_write_bytes(out / "lidar.npz", buf.getvalue())
        atomic_write_bytes(out / "lidar.ply", ply_bytes(**arrays, inserted=lidar.inserted))
        written += [out / "lidar.npz", out / "lidar.ply"]
        summary["lidar"] = {
            "beams": lidar.beams,
            "threshold": threshold,
            "origin": [round(float(v), 4) for v in lidar.origin],
            "points": len(lidar.points),
            "added": lidar.added,
            "removed": lidar.removed,
            "per_asset": lidar.per_asset,
        }
    written.append(out / "compose.json")
    summary["outputs"] = [p.name for p in written]
    summary["seconds"] = round(time.perf_counter() - start, 3)
    atomic_write_json(out / "compose.json", summary)
    return written
