"""Tiny object-asset releases with known answers: ``write_assets(root, ...)``.

Each asset is a box (the object) seen by a pinhole camera, optionally partly hidden by a
second box in front, cast exactly with ``boxworld.cast``. The files follow the release
layout and schema (``wod_schema.py``): PNG patches and masks (16-bit instance mask), LiDAR
distance images with their masks, rays (plain or PCA-compressed with a codec_config.json),
box-frame LiDAR points, refined poses for vehicles, lidar_box, stats.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from boxworld import cast
from PIL import Image
from waymo import wod_schema as ws

from gina3d.data.frame import ObjectBox
from gina3d.data.sources.waymo.codec import fit_codec
from gina3d.geometry.cameras import camera_rays, intrinsics_matrix, pixel_centres
from gina3d.geometry.transforms import invert, make_transform, pose_from_xyz_yaw

OBJECT_INSTANCE, OCCLUDER_INSTANCE = 300, 1201  # > 255: only a 16-bit decode keeps them
CAMERA_NAMES = {1: "FRONT", 2: "FRONT_LEFT", 3: "FRONT_RIGHT", 4: "SIDE_LEFT", 5: "SIDE_RIGHT"}


@dataclass
class Asset:
    """One patch: ``cam_from_box`` is an OpenCV camera looking at the box from ``distance``."""

    segment: str = "seg-a"
    timestamp: int = 1_000_000
    object_id: str = "obj-aaaaaaaaaaaaaaaaaa"
    camera: int = 1
    category: str = "veh"
    size: tuple = (4.0, 2.0, 1.6)
    height: int = 40
    width: int = 52
    distance: float = 10.0
    azimuth: float = 0.6
    occluder: bool = False
    vehicle_from_box: np.ndarray = field(
        default_factory=lambda: pose_from_xyz_yaw([12, 3, 0.8], 0.4)
    )
    region_corner: tuple = (700.0, 500.0)

    def camera_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """(K [3,3], cam_from_box [4,4]) with the box centred in the patch."""
        f = 0.9 * max(self.height, self.width) * self.distance / max(self.size)
        K = intrinsics_matrix(f, f * 1.02, self.width / 2 + 0.7, self.height / 2 - 0.4)
        eye = self.distance * np.array([np.cos(self.azimuth), np.sin(self.azimuth), 0.25])
        fwd = -eye / np.linalg.norm(eye)
        right = np.cross(fwd, [0, 0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        box_from_cam = make_transform(np.stack([right, down, fwd], 1), eye)
        return K, invert(box_from_cam)


def render(a: Asset) -> dict:
    """Every per-pixel array of an asset, in the box frame."""
    K, cam_from_box = a.camera_pose()
    origins, dirs = camera_rays(K, cam_from_box, pixel_centres(a.height, a.width))
    size = np.array(a.size, dtype=np.float64)
    geometry = [ObjectBox("o", 1, "vehicle", "", np.eye(4), size)]
    if a.occluder:  # a post between the camera and the box, covering part of it
        eye = invert(cam_from_box)[:3, 3]
        side = np.cross(eye, [0.0, 0.0, 1.0])
        side *= 0.15 * max(a.size) / np.linalg.norm(side)
        pose = make_transform(np.eye(3), eye * 0.5 + side)
        thick = 0.1 * max(a.size)
        geometry.append(ObjectBox("p", 2, "vehicle", "", pose, np.array([thick, thick, 3.0])))
    dist, inst = cast(geometry, origins, dirs)
    obj = inst == 1
    instance = np.where(obj, OBJECT_INSTANCE, np.where(inst == 2, OCCLUDER_INSTANCE, 0))
    rows = np.arange(a.height)[:, None] * np.ones(a.width, int)
    semantic = np.where(obj, 2 if a.category == "veh" else 9, np.where(inst == 2, 15, 0))
    semantic = np.where(inst == 0, np.where(rows < a.height // 2, 25, 20), semantic)
    rgb = np.stack([40 + 3 * rows % 200, 80 + inst * 60, (30 * instance) % 256], -1)
    lidar = np.isfinite(dist) & (rows % 2 == 0) & (np.arange(a.width) % 2 == 0)
    d = np.where(lidar, dist, 0.0).astype(np.float32)
    hit_points = (origins + dirs * np.where(lidar, dist, 0)[..., None])[lidar & obj]
    floor = np.array([[0.3, 0.2, -a.size[2] / 2 + 0.01]])  # a ground return inside the box
    return {
        "K": K,
        "cam_from_box": cam_from_box,
        "origins": origins.astype(np.float32),
        "directions": dirs.astype(np.float32),
        "rgb": rgb.astype(np.uint8),
        "object_mask": obj,
        "instance": instance.astype(np.uint16),
        "semantic": semantic.astype(np.uint8),
        "dist": d,
        "points": np.concatenate([hit_points, floor]).astype(np.float32),
        "labels_in": inst,
    }


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buf, format="PNG")
    return buf.getvalue()


def asset_rows(a: Asset, r: dict, old: bool, codec) -> dict:
    """Component -> row of one asset (the release folders, plus lidar_box and stats)."""
    key = {ws.S: a.segment, ws.TS: a.timestamp, ws.OBJ: a.object_id}
    camera_key = {**key, ws.CAM: CAMERA_NAMES[a.camera] if old else a.camera}
    x0, y0 = a.region_corner
    camera = {
        "camera_region.center.x": x0 + a.width / 2,
        "camera_region.center.y": y0 + a.height / 2,
        "camera_region.size.x": float(a.width),
        "camera_region.size.y": float(a.height),
        "rgb_image": png(r["rgb"]),
        "proj_points_dist.values": r["dist"].ravel().tolist(),
        "proj_points_dist.shape": [a.height, a.width],
        "proj_points_mask": png((r["dist"] > 0).astype(np.uint8)),
    }
    labels = {
        "semantic_mask": png(r["semantic"]),
        "instance_mask": png(r["instance"]),
        "object_mask": png(r["object_mask"].astype(np.uint8) * 255),
    }
    points = {"points_xyz.values": r["points"].ravel().tolist()}
    points["points_xyz.shape"] = [len(r["points"]), 3]
    if codec is not None:
        ref, values, shape = codec.encode(r["origins"], r["directions"])
        rays = {"reference": ref, "quantized_values": values, "shape": shape}
    else:
        rays = {}
        for n, arr in (("ray_origin", r["origins"]), ("ray_direction", r["directions"])):
            rays[f"{n}.values"], rays[f"{n}.shape"] = arr.ravel().tolist(), list(arr.shape)
    rows = {
        "camera_sensor": ws.prefixed("camera_sensor", {**camera_key, **camera}),
        "auto_label": ws.prefixed("auto_label", {**camera_key, **labels}),
        "lidar_sensor": ws.prefixed("lidar_sensor", {**key, **points}),
        "ray_compressed" if codec else "ray": ws.prefixed(
            "ray_compressed" if codec else "ray", {**camera_key, **rays}
        ),
    }
    v = a.vehicle_from_box
    if a.category == "veh":
        refined = pose_from_xyz_yaw([0.05, -0.02, 0.0], 0.01) @ invert(v)
        rows["refined_pose"] = ws.prefixed(
            "refined_pose", {**key, "box_from_vehicle.transform": refined.ravel().tolist()}
        )
    box = {f"box.center.{c}": v[i, 3] for i, c in enumerate("xyz")}
    box.update({f"box.size.{c}": a.size[i] for i, c in enumerate("xyz")})
    box.update({"box.heading": float(np.arctan2(v[1, 0], v[0, 0]))})
    box["type"] = 1 if a.category == "veh" else 2
    rows["lidar_box"] = ws.prefixed("lidar_box", {**key, **box})
    rows["stats"] = ws.prefixed(
        "stats", {ws.S: a.segment, ws.TS: a.timestamp, "time_of_day": "Dawn/Dusk"}
    )
    return rows


def write_assets(
    root: Path,
    assets: list[Asset],
    old: bool = False,
    compressed: bool = False,
    drop: dict | None = None,
    skip: tuple = (),
    extra_rows: dict | None = None,
) -> dict:
    """Write the release folders for ``assets``; returns the rendered arrays by patch key.

    ``compressed``: rays only as ray_compressed (+ codec_config.json). ``drop``: folder ->
    columns to leave out. ``skip``: components not to write at all. ``extra_rows``:
    component -> assets whose rows go to that component only (rows without partners).
    """
    drop, extra_rows = drop or {}, extra_rows or {}
    rendered = {(a.segment, a.timestamp, a.object_id, a.camera): render(a) for a in assets}
    codec = None
    if compressed:
        samples = [(r["origins"], r["directions"]) for r in rendered.values()]
        codec = fit_codec(samples, tile_size=4, n_components=96)
    tables: dict = {}
    jobs = [(a, None) for a in assets]
    jobs += [(a, part) for part, xs in extra_rows.items() for a in xs]
    for a, only in jobs:
        r = rendered.get((a.segment, a.timestamp, a.object_id, a.camera)) or render(a)
        for part, row in asset_rows(a, r, old, codec).items():
            if part in skip or (only is not None and part != only):
                continue
            folder = part if part in ("lidar_box", "stats") else f"{a.category}_asset_{part}"
            rows = tables.setdefault((folder, a.segment), (part, {}))[1]
            rows[tuple(v for k, v in row.items() if k.startswith("key."))] = row  # unique keys
    for (folder, segment), (part, rows) in tables.items():
        path = root / folder / f"{segment}.parquet"
        ws.write(path, part, list(rows.values()), old, drop.get(folder, ()))
    if codec is not None:
        for c in {a.category for a in assets}:
            (root / f"{c}_asset_ray_compressed").mkdir(parents=True, exist_ok=True)
            config = root / f"{c}_asset_ray_compressed" / "codec_config.json"
            config.write_text(json.dumps(codec.to_dict()))
    return rendered


def scene(n_segments: int = 2, per_segment: int = 3) -> list[Asset]:
    """A few vehicles and pedestrians over segments and frames; every other one occluded."""
    out = []
    for s in range(n_segments):
        for i in range(per_segment):
            ped = i % 3 == 2
            out.append(
                Asset(
                    segment=f"{1000 + s}_000_000_020_000",
                    timestamp=1_000_000 + 100_000 * (i // 2),
                    object_id=f"obj{s}{i}" + "x" * 17,
                    camera=1 + i % 5,
                    category="ped" if ped else "veh",
                    size=(0.8, 0.7, 1.8) if ped else (4.2, 1.9, 1.5),
                    height=44 if ped else 36,
                    width=24 if ped else 56,
                    distance=8.0 if ped else 11.0,
                    azimuth=0.3 + 0.5 * i,
                    occluder=i % 2 == 1,
                )
            )
    return out
