"""Which LiDAR beams to cast at inserted assets, and which beam an existing point lies on.

With a ``LidarSpec`` (the synthetic rig, ``data/sources/synthetic/rig.py``) the beams are
its rows x columns (``LidarSpec.ray_directions``) and a point belongs to the row of the
nearest elevation and the column whose azimuth interval holds it. Without one (e.g. Waymo
frames), a regular grid of ``grid_elevation_deg`` x ``grid_azimuth_deg`` cells, centred on
multiples of the steps, covers each asset box's angular extent seen from the origin
(clipped to the elevations the frame's points span); cells that already hold a point's
direction are left out, since that point's own direction is cast instead.
"""

from __future__ import annotations

import math

import numpy as np

from gina3d.geometry.boxes import box_corners, points_in_box
from gina3d.geometry.transforms import apply, invert


def _angles(dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elevation and azimuth [N] (radians) of directions [N,3] (x forward, y left, z up)."""
    norm = np.maximum(np.linalg.norm(dirs, axis=-1), 1e-12)
    return np.arcsin(np.clip(dirs[:, 2] / norm, -1.0, 1.0)), np.arctan2(dirs[:, 1], dirs[:, 0])


def beam_index(spec, dirs_lidar: np.ndarray) -> np.ndarray:
    """Flat beam index row * azimuth_samples + column [N] of LiDAR-frame directions [N,3];
    -1 for directions more than half a row outside the spec's elevation range."""
    el, az = _angles(dirs_lidar)
    top, bottom = math.radians(spec.max_elevation_deg), math.radians(spec.min_elevation_deg)
    row_step = (top - bottom) / max(spec.beams - 1, 1)
    row = np.round((top - el) / max(row_step, 1e-12)).astype(np.int64)
    n = spec.azimuth_samples
    col = np.floor((math.pi - az) * n / (2.0 * math.pi)).astype(np.int64) % n
    return np.where((row >= 0) & (row < spec.beams), row * n + col, -1)


def grid_directions(insertions, origin: np.ndarray, point_dirs: np.ndarray, cfg) -> np.ndarray:
    """Unit vehicle-frame directions [G,3] of grid cells over the assets' boxes that hold no
    existing point direction (``point_dirs`` [L,3]); see the module docstring."""
    se = math.radians(cfg.grid_elevation_deg)
    n_az = max(1, round(360.0 / cfg.grid_azimuth_deg))
    sa = 2.0 * math.pi / n_az
    el_pts, az_pts = _angles(point_dirs)
    occupied = set(
        zip(np.round(el_pts / se).astype(np.int64), np.round(az_pts / sa).astype(np.int64) % n_az)
    )
    el_lo = el_pts.min() - se / 2 if len(el_pts) else -math.pi / 2
    el_hi = el_pts.max() + se / 2 if len(el_pts) else math.pi / 2
    cells: set[tuple[int, int]] = set()
    for ins in insertions:
        if points_in_box(apply(invert(ins.vehicle_from_obj), origin[None]), ins.size).any():
            continue  # the sensor sits inside the box: no angular extent to speak of
        corners = apply(ins.vehicle_from_obj, box_corners(ins.size)) - origin  # [8,3]
        el, az = _angles(corners)
        centre = math.atan2(*(ins.vehicle_from_obj[[1, 0], 3] - origin[[1, 0]]))
        rel = (az - centre + math.pi) % (2.0 * math.pi) - math.pi  # [8] around the centre
        i0 = math.ceil(max(el.min(), el_lo) / se)
        i1 = math.floor(min(el.max(), el_hi) / se)
        j0, j1 = math.ceil((centre + rel.min()) / sa), math.floor((centre + rel.max()) / sa)
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                if (i, j % n_az) not in occupied:
                    cells.add((i, j % n_az))
    if not cells:
        return np.zeros((0, 3))
    ij = np.array(sorted(cells), dtype=np.float64)  # [G,2]
    el, az = ij[:, 0] * se, ij[:, 1] * sa
    return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1)
