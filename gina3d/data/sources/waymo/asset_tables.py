"""Small per-segment tables of the asset conversion, read whole: boxes, stats, calibrations.

``lidar_box`` (a few thousand rows per segment), ``stats`` and ``camera_calibration`` hold
no pixel data, so they are read in full and looked up by key. The object-asset folders
hold the large payloads and are streamed (``assets.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from gina3d.data.sources.waymo.columns import (
    CAMERA,
    DEFAULT_IMAGE_SIZE,
    LASER_OBJECT,
    TIMESTAMP,
    col,
    normalise_keys,
)
from gina3d.geometry.transforms import pose_from_xyz_yaw

LB = "LiDARBoxComponent"
BOX_COLUMNS = [col(LB, f"box.center.{a}") for a in "xyz"]
BOX_COLUMNS += [col(LB, f"box.size.{a}") for a in "xyz"] + [col(LB, "box.heading")]
TIME_OF_DAY = {"day": "day", "dawn/dusk": "dusk", "dusk": "dusk", "dawn": "dusk", "night": "night"}


def _read(path: Path, columns: list[str], report: dict, name: str):
    have = set(pq.ParquetFile(path).schema_arrow.names)
    missing = [c for c in columns if c not in have]
    if missing:
        report.setdefault("missing_columns", {})[name] = missing
        return None
    return normalise_keys(pq.read_table(path, columns=columns))


def read_boxes(path: Path | None, report: dict) -> dict:
    """(timestamp, laser_object_id) -> (vehicle_from_box [4,4], size [3]) from lidar_box."""
    if path is None:
        return {}
    table = _read(path, [TIMESTAMP, LASER_OBJECT, *BOX_COLUMNS], report, "lidar_box")
    if table is None:
        return {}
    values = np.stack([table[c].to_numpy(zero_copy_only=False) for c in BOX_COLUMNS], -1)
    out = {}
    for ts, obj, v in zip(table[TIMESTAMP].to_pylist(), table[LASER_OBJECT].to_pylist(), values):
        v = v.astype(np.float64)
        out[(ts, obj)] = (pose_from_xyz_yaw(v[:3], float(v[6])), v[3:6])
    return out


def read_time_of_day(path: Path | None, report: dict) -> dict:
    """timestamp -> 'day' | 'dusk' | 'night' from stats (``Dawn/Dusk`` becomes dusk)."""
    if path is None:
        return {}
    table = _read(path, [TIMESTAMP, col("StatsComponent", "time_of_day")], report, "stats")
    if table is None:
        return {}
    out = {}
    for ts, tod in zip(table[TIMESTAMP].to_pylist(), table.column(1).to_pylist()):
        if tod is not None and tod.strip().lower() in TIME_OF_DAY:
            out[ts] = TIME_OF_DAY[tod.strip().lower()]
    return out


def read_image_sizes(path: Path | None, report: dict) -> dict:
    """camera_name -> (H, W): camera_calibration when present, else WOD's sensor sizes."""
    sizes = dict(DEFAULT_IMAGE_SIZE)
    if path is None:
        return sizes
    cc = "CameraCalibrationComponent"
    table = _read(path, [CAMERA, col(cc, "height"), col(cc, "width")], report, "camera_calibration")
    if table is None:
        return sizes
    for cam, h, w in zip(*(table.column(i).to_pylist() for i in range(3))):
        if h and w:
            sizes[cam] = (int(h), int(w))
    return sizes


def extents_from_points(points: np.ndarray) -> np.ndarray:
    """Box size [3] that holds box-frame points [L,3] when the box is centred: 2 max|p|."""
    return 2.0 * np.abs(points).max(0) if len(points) else np.zeros(3)


# Typical sizes (length, width, height) for objects without lidar_box and without points.
PRIOR_SIZE = {"vehicle": np.array([4.6, 1.9, 1.7]), "pedestrian": np.array([0.8, 0.8, 1.75])}
