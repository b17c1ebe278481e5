"""SE(3) helpers on 4x4 homogeneous matrices (column vectors), named ``dst_from_src``.

Every function takes and returns numpy arrays; a leading batch of matrices or points works
wherever numpy broadcasting allows it.
"""

from __future__ import annotations

import numpy as np


def make_transform(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """Build ``dst_from_src`` [4,4] from a rotation [3,3] and a translation [3]."""
    out = np.eye(4, dtype=np.float64)
    out[:3, :3] = rotation
    out[:3, 3] = translation
    return out


def invert(dst_from_src: np.ndarray) -> np.ndarray:
    """Invert rigid transforms [..., 4, 4] exactly (transpose rotation, no general inverse)."""
    r = dst_from_src[..., :3, :3]
    t = dst_from_src[..., :3, 3]
    r_inv = np.swapaxes(r, -1, -2)
    out = np.zeros_like(dst_from_src, dtype=np.float64)
    out[..., :3, :3] = r_inv
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", r_inv, t)
    out[..., 3, 3] = 1.0
    return out


def apply(dst_from_src: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Transform points [..., 3] by one rigid transform [4,4]."""
    return points @ dst_from_src[:3, :3].T + dst_from_src[:3, 3]


def rotate(dst_from_src: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Rotate direction vectors [..., 3] (no translation)."""
    return vectors @ dst_from_src[:3, :3].T


def rot_z(angle: float) -> np.ndarray:
    """Rotation [3,3] about +z by ``angle`` radians (counter-clockwise seen from above)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rot_y(angle: float) -> np.ndarray:
    """Rotation [3,3] about +y by ``angle`` radians."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_x(angle: float) -> np.ndarray:
    """Rotation [3,3] about +x by ``angle`` radians."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def pose_from_xyz_yaw(center: np.ndarray, yaw: float) -> np.ndarray:
    """``parent_from_obj`` for a box at ``center`` [3] turned by ``yaw`` about +z."""
    return make_transform(rot_z(yaw), np.asarray(center, dtype=np.float64))


# Camera frame (OpenCV: x right, y down, z forward) from a "sensor" frame that looks along +x
# with +y left and +z up (the Waymo / vehicle convention). Used when a camera is mounted by
# its viewing direction in the vehicle frame.
OPENCV_FROM_FLU = np.array(
    [
        [0.0, -1.0, 0.0, 0.0],
        [0.0, 0.0, -1.0, 0.0],
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
