"""Pinhole cameras in the OpenCV convention: projection, per-pixel rays, crops.

Pixel (row i, column j) covers [j, j+1) x [i, i+1); its centre is (j+0.5, i+0.5).
Intrinsics are K [3,3] = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] in pixels.
"""

from __future__ import annotations

import numpy as np

from gina3d.geometry.transforms import apply, invert, rotate


def intrinsics_matrix(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """K [3,3] from the four pinhole numbers."""
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def project(K: np.ndarray, points_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project camera-frame points [...,3] to pixels [...,2]; also returns z [...]."""
    z = points_cam[..., 2]
    safe_z = np.where(np.abs(z) < 1e-9, 1e-9, z)
    u = K[0, 0] * points_cam[..., 0] / safe_z + K[0, 2]
    v = K[1, 1] * points_cam[..., 1] / safe_z + K[1, 2]
    return np.stack([u, v], axis=-1), z


def unproject_directions(K: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Camera-frame directions [...,3] with z = 1 through pixel coordinates [...,2]."""
    x = (pixels[..., 0] - K[0, 2]) / K[0, 0]
    y = (pixels[..., 1] - K[1, 2]) / K[1, 1]
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def pixel_centres(height: int, width: int) -> np.ndarray:
    """Pixel-centre coordinates [H,W,2] as (u, v) = (column + 0.5, row + 0.5)."""
    v, u = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
    return np.stack([u, v], axis=-1)


def camera_rays(
    K: np.ndarray, cam_from_frame: np.ndarray, pixels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rays through pixels [...,2] expressed in another frame (e.g. the object frame).

    Returns origins [...,3] and unit directions [...,3] in the frame that ``cam_from_frame``
    maps from. A point on the ray is ``origin + t * direction`` with t the Euclidean distance.
    """
    frame_from_cam = invert(cam_from_frame)
    d_cam = unproject_directions(K, pixels)  # [...,3], z = 1
    d_cam = d_cam / np.linalg.norm(d_cam, axis=-1, keepdims=True)
    directions = rotate(frame_from_cam, d_cam)
    origins = np.broadcast_to(frame_from_cam[:3, 3], directions.shape).copy()
    return origins, directions


def crop_intrinsics(
    K: np.ndarray, x0: float, y0: float, side: float, resolution: int
) -> np.ndarray:
    """Intrinsics of the square crop [x0, x0+side) x [y0, y0+side) resized to ``resolution``.

    The crop camera has the same centre and rotation as the full camera: a patch is a
    window onto the image, so ``cam_from_obj`` is unchanged and only K moves and scales.
    """
    s = resolution / side
    return np.array(
        [
            [K[0, 0] * s, 0.0, (K[0, 2] - x0) * s],
            [0.0, K[1, 1] * s, (K[1, 2] - y0) * s],
            [0.0, 0.0, 1.0],
        ]
    )


def depth_to_distance(K: np.ndarray, depth_z: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Convert camera z-depth [...] at pixels [...,2] to Euclidean distance along the ray."""
    d = unproject_directions(K, pixels)
    return depth_z * np.linalg.norm(d, axis=-1)


def points_to_pixels(
    K: np.ndarray, cam_from_frame: np.ndarray, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Project points [...,3] given in another frame; returns pixels [...,2] and z [...]."""
    return project(K, apply(cam_from_frame, points))
