"""WOD range images -> LiDAR points in the vehicle frame (the standard conversion, in numpy).

A range image is [H,W,C] (channel 0: range in metres, 0 or less: no return). Row i looks
along beam inclination ``inclination[H-1-i]`` (row 0 is the highest beam): the calibration's
``beam_inclination.values`` when given (the top LiDAR: non-uniform), else H uniform steps
over [min, max] at cell centres. Column j looks along the *vehicle-frame* azimuth
``pi * (1 - 2 (j + 0.5) / W)`` (column 0 behind, W/2 ahead): in the sensor frame that is
minus the extrinsic's yaw ``atan2(R[1,0], R[0,0])``. Points are
``range * (cos(inc) cos(az), cos(inc) sin(az), sin(inc))`` in the LiDAR frame, then mapped
by the extrinsic (``vehicle_from_lidar``). With per-pixel poses (``lidar_pose``, top LiDAR)
each point goes to the world by its pixel's pose and back by the frame's pose, undoing the
ego motion during the sweep.
"""

from __future__ import annotations

import numpy as np

from gina3d.geometry.transforms import apply, invert


def beam_inclinations(height: int, min_incl: float, max_incl: float, values=None) -> np.ndarray:
    """Inclination [H] of each beam, ascending (row H-1 first), as the calibration gives it."""
    if values is not None and len(values):
        values = np.asarray(values, dtype=np.float64)
        if len(values) != height:
            raise ValueError(f"{len(values)} beam inclinations for a range image of {height} rows")
        return values
    return min_incl + (np.arange(height) + 0.5) / height * (max_incl - min_incl)


def column_azimuths(width: int, vehicle_from_lidar: np.ndarray) -> np.ndarray:
    """Sensor-frame azimuth [W] of each range-image column."""
    az_correction = np.arctan2(vehicle_from_lidar[1, 0], vehicle_from_lidar[0, 0])
    ratios = (width - np.arange(width) - 0.5) / width
    return (ratios * 2.0 - 1.0) * np.pi - az_correction


def euler_rotation(roll: np.ndarray, pitch: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Rotations [...,3,3] = Rz(yaw) Ry(pitch) Rx(roll) (WOD's 3-2-1 convention)."""
    cr, sr = np.cos(roll), np.sin(roll)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cy, sy = np.cos(yaw), np.sin(yaw)
    r = np.empty((*roll.shape, 3, 3))
    r[..., 0, 0], r[..., 0, 1], r[..., 0, 2] = (
        cy * cp,
        cy * sp * sr - sy * cr,
        cy * sp * cr + sy * sr,
    )
    r[..., 1, 0], r[..., 1, 1], r[..., 1, 2] = (
        sy * cp,
        sy * sp * sr + cy * cr,
        sy * sp * cr - cy * sr,
    )
    r[..., 2, 0], r[..., 2, 1], r[..., 2, 2] = -sp, cp * sr, cp * cr
    return r


def range_image_to_points(
    range_image: np.ndarray,
    vehicle_from_lidar: np.ndarray,
    inclinations: np.ndarray,
    pixel_pose: np.ndarray | None = None,
    world_from_vehicle: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Vehicle-frame points [N,3] of the returns (range > 0) and their (row, col) [N,2].

    range_image [H,W] or [H,W,C]; inclinations [H] ascending (``beam_inclinations``);
    pixel_pose [H,W,6] (roll, pitch, yaw, x, y, z: vehicle to world per pixel) with
    world_from_vehicle [4,4] of the frame, or None for no motion compensation.
    """
    ranges = range_image[..., 0] if range_image.ndim == 3 else range_image
    width = ranges.shape[1]
    incl = np.asarray(inclinations, dtype=np.float64)[::-1]  # row 0: highest beam
    az = column_azimuths(width, vehicle_from_lidar)
    rows, cols = np.nonzero(ranges > 0)
    r = ranges[rows, cols].astype(np.float64)
    ci, si = np.cos(incl[rows]), np.sin(incl[rows])
    lidar = np.stack([r * ci * np.cos(az[cols]), r * ci * np.sin(az[cols]), r * si], -1)
    points = apply(vehicle_from_lidar, lidar)
    if pixel_pose is not None:
        if world_from_vehicle is None:
            raise ValueError("pixel poses need the frame's world_from_vehicle")
        pose = pixel_pose[rows, cols].astype(np.float64)  # [N,6]
        rot = euler_rotation(pose[:, 0], pose[:, 1], pose[:, 2])
        world = np.einsum("nij,nj->ni", rot, points) + pose[:, 3:]
        points = apply(invert(world_from_vehicle), world)
    return points.astype(np.float32), np.stack([rows, cols], -1)
