"""The small per-segment tables of the raw-log conversion, read whole and indexed by key.

Calibrations, 3D and 2D boxes, vehicle poses and stats hold no pixel data (a few thousand
rows per segment). Missing optional tables or columns are recorded in ``report``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from gina3d.data.frame import ObjectBox
from gina3d.data.sources.waymo.asset_tables import TIME_OF_DAY
from gina3d.data.sources.waymo.camera_model import WaymoCamera
from gina3d.data.sources.waymo.columns import (
    BOX_TYPES,
    CAMERA,
    CAMERA_NAMES,
    LASER,
    LASER_OBJECT,
    TIMESTAMP,
    col,
    normalise_keys,
)
from gina3d.geometry.transforms import pose_from_xyz_yaw

CC, LC, LB = "CameraCalibrationComponent", "LiDARCalibrationComponent", "LiDARBoxComponent"
INTRINSICS = ("f_u", "f_v", "c_u", "c_v", "k1", "k2", "p1", "p2", "k3")


def read_table(
    path: Path | None, keys: list[str], required: list[str], optional: list[str], report, name
) -> list[dict] | None:
    """Rows (dicts) of the needed columns, or None when the file or a required column is
    missing (recorded in ``report``)."""
    if path is None:
        report.setdefault("missing_files", []).append(name)
        return None
    have = set(pq.ParquetFile(path).schema_arrow.names)
    missing = [c for c in keys + required if c not in have]
    absent = [c for c in optional if c not in have]
    if missing or absent:
        report.setdefault("missing_columns", {})[name] = missing + absent
    if missing:
        return None
    table = pq.read_table(path, columns=keys + required + [c for c in optional if c in have])
    return normalise_keys(table).to_pylist()


def cameras(path: Path | None, report: dict) -> dict[int, WaymoCamera]:
    required = [col(CC, f"intrinsic.{n}") for n in INTRINSICS[:4]]
    required += [col(CC, n) for n in ("extrinsic.transform", "width", "height")]
    optional = [col(CC, f"intrinsic.{n}") for n in INTRINSICS[4:]]
    rows = read_table(path, [CAMERA], required, optional, report, "camera_calibration") or []
    out = {}
    for r in rows:
        intrinsic = {n: r.get(col(CC, f"intrinsic.{n}")) for n in INTRINSICS}
        extrinsic = np.asarray(r[col(CC, "extrinsic.transform")], np.float64).reshape(4, 4)
        name = CAMERA_NAMES.get(r[CAMERA], str(r[CAMERA]))
        width, height = r[col(CC, "width")], r[col(CC, "height")]
        out[r[CAMERA]] = WaymoCamera.from_calibration(name, intrinsic, extrinsic, width, height)
    return out


def lidars(path: Path | None, report: dict) -> dict[int, dict]:
    """laser_name -> {'vehicle_from_lidar': [4,4], 'min', 'max', 'values' (or None)}."""
    required = [col(LC, n) for n in ("extrinsic.transform", "beam_inclination.min")]
    required += [col(LC, "beam_inclination.max")]
    optional = [col(LC, "beam_inclination.values")]
    rows = read_table(path, [LASER], required, optional, report, "lidar_calibration") or []
    out = {}
    for r in rows:
        out[r[LASER]] = {
            "vehicle_from_lidar": np.asarray(r[required[0]], np.float64).reshape(4, 4),
            "min": float(r[required[1]]),
            "max": float(r[required[2]]),
            "values": r.get(optional[0]),
        }
    return out


def boxes(path: Path | None, classes: tuple[str, ...], report: dict) -> dict[int, list]:
    """timestamp -> [ObjectBox] of the wanted classes (instance ids 1..n per frame)."""
    geometry = [col(LB, f"box.center.{a}") for a in "xyz"] + [
        col(LB, f"box.size.{a}") for a in "xyz"
    ]
    required = [*geometry, col(LB, "box.heading"), col(LB, "type")]
    optional = [col(LB, "speed.x"), col(LB, "speed.y")]
    rows = read_table(path, [TIMESTAMP, LASER_OBJECT], required, optional, report, "lidar_box")
    out: dict[int, list] = defaultdict(list)
    for r in rows or []:
        cls = BOX_TYPES.get(r[col(LB, "type")])
        if cls not in classes:
            continue
        v = np.array([r[c] for c in geometry], dtype=np.float64)
        speed = float(np.hypot(r.get(optional[0]) or 0.0, r.get(optional[1]) or 0.0))
        frame = out[r[TIMESTAMP]]
        pose = pose_from_xyz_yaw(v[:3], float(r[col(LB, "box.heading")]))
        box = ObjectBox(r[LASER_OBJECT], len(frame) + 1, cls, "unknown", pose, v[3:6], speed)
        frame.append(box)
    return dict(out)


def regions_2d(layout, segment: str, report: dict) -> tuple[dict, dict]:
    """(projected: (ts, camera, object_id) -> (x0, y0, x1, y1), camera boxes: (ts, camera)
    -> [(x0, y0, x1, y1)]) from projected_lidar_box and camera_box when present."""
    projected, human = {}, defaultdict(list)
    for folder, comp, keys in (
        ("projected_lidar_box", "ProjectedLiDARBoxComponent", [TIMESTAMP, CAMERA, LASER_OBJECT]),
        ("camera_box", "CameraBoxComponent", [TIMESTAMP, CAMERA]),
    ):
        if not layout.has(folder):
            continue
        cols = [col(comp, f"box.{p}.{a}") for p in ("center", "size") for a in "xy"]
        rows = read_table(layout.file(folder, segment), keys, cols, [], report, folder) or []
        for r in rows:
            cx, cy, sx, sy = (float(r[c]) for c in cols)
            rect = (cx - sx / 2, cy - sy / 2, cx + sx / 2, cy + sy / 2)
            if folder == "projected_lidar_box":
                projected[(r[TIMESTAMP], r[CAMERA], r[LASER_OBJECT])] = rect
            else:
                human[(r[TIMESTAMP], r[CAMERA])].append(rect)
    return projected, dict(human)


def poses(path: Path | None, report: dict) -> dict[int, np.ndarray]:
    name = col("VehiclePoseComponent", "world_from_vehicle.transform")
    rows = read_table(path, [TIMESTAMP], [name], [], report, "vehicle_pose") or []
    return {r[TIMESTAMP]: np.asarray(r[name], np.float64).reshape(4, 4) for r in rows}


def times_of_day(path: Path | None, report: dict) -> dict[int, str]:
    name = col("StatsComponent", "time_of_day")
    rows = read_table(path, [TIMESTAMP], [name], [], report, "stats") or []
    out = {}
    for r in rows:
        tod = (r[name] or "").strip().lower()
        if tod in TIME_OF_DAY:
            out[r[TIMESTAMP]] = TIME_OF_DAY[tod]
    return out
