"""Pure numpy helpers of the viewer: cameras between viser and gina3d, boxes, overlays.

The viewer's world frame is the object frame of what it shows (x forward, y left, z up,
metres; docs/conventions.md), which is also viser's default z-up world. viser cameras and
frustums follow OpenCV (x right, y down, z forward), like gina3d's camera frame, so a
viser camera pose ``(wxyz, position)`` is exactly ``obj_from_cam``: no axis flips.
"""

from __future__ import annotations

import math

import numpy as np

from gina3d.data.schema import BACKGROUND, OBJECT, OCCLUDER
from gina3d.geometry.boxes import box_corners

# Overlay colours of the mask labels (RGB): object green, occluder red, background blue.
MASK_COLOURS = {OBJECT: (40, 200, 70), OCCLUDER: (230, 50, 40), BACKGROUND: (50, 90, 220)}
MASK_ALPHA = 0.45

# The 12 edges of a box as pairs of corner indices (corners ordered as in
# ``gina3d.geometry.boxes.box_corners``: corner i has (x, y, z) > 0 as bits 2, 1, 0).
BOX_EDGES = np.array(
    [[0, 1], [2, 3], [4, 5], [6, 7], [0, 2], [1, 3], [4, 6], [5, 7], [0, 4], [1, 5], [2, 6], [3, 7]]
)


def quat_wxyz_from_matrix(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) of a 3x3 rotation matrix (w >= 0)."""
    m = np.asarray(rotation, dtype=np.float64)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    q = np.asarray(q) / np.linalg.norm(q)
    return q if q[0] >= 0 else -q


def matrix_from_quat_wxyz(wxyz) -> np.ndarray:
    """3x3 rotation matrix of a quaternion (w, x, y, z) (normalised first)."""
    w, x, y, z = np.asarray(wxyz, dtype=np.float64) / np.linalg.norm(wxyz)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def pose_of(obj_from_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(wxyz, position) of a rigid 4x4 transform, as viser scene nodes take them."""
    t = np.asarray(obj_from_cam, dtype=np.float64)
    return quat_wxyz_from_matrix(t[:3, :3]), t[:3, 3].copy()


def cam_from_obj_of_view(wxyz, position) -> np.ndarray:
    """``cam_from_obj`` [4,4] of a viser camera pose (OpenCV axes; world = object frame)."""
    rotation = matrix_from_quat_wxyz(wxyz)  # obj_from_cam rotation
    cam_from_obj = np.eye(4)
    cam_from_obj[:3, :3] = rotation.T
    cam_from_obj[:3, 3] = -rotation.T @ np.asarray(position, dtype=np.float64)
    return cam_from_obj


def view_intrinsics(fov_y: float, height: int, width: int) -> np.ndarray:
    """K [3,3] of an image of ``height`` x ``width`` px with vertical field of view ``fov_y``
    (radians), square pixels and the principal point at the image centre."""
    f = (height / 2.0) / math.tan(fov_y / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def render_shape(aspect: float, height: int, max_aspect: float = 2.5) -> tuple[int, int]:
    """(H, W) of a live render ``height`` px tall with the canvas aspect (width / height)."""
    aspect = min(max(float(aspect), 1.0 / max_aspect), max_aspect) if aspect > 0 else 1.0
    return height, max(8, int(round(height * aspect)))


def frustum_of(intrinsics, resolution: int) -> tuple[float, float]:
    """(vertical fov in radians, aspect) of a patch camera (fx, fy, cx, cy) of R x R px."""
    fx, fy = float(intrinsics[0]), float(intrinsics[1])
    fov = 2.0 * math.atan((resolution / 2.0) / fy)
    return fov, fy / fx  # width / height of the visible window (square patch)


def box_segments(size) -> np.ndarray:
    """The box's 12 edges as line segments [12,2,3] (viser's ``add_line_segments``)."""
    return box_corners(size)[BOX_EDGES].astype(np.float32)


def heading_segment(size) -> np.ndarray:
    """One segment [1,2,3] from the box centre to the middle of its front face (+x)."""
    return np.array([[[0.0, 0.0, 0.0], [size[0] / 2.0, 0.0, 0.0]]], dtype=np.float32)


def mask_overlay(rgb: np.ndarray, masks: np.ndarray, alpha: float = MASK_ALPHA) -> np.ndarray:
    """uint8 [H,W,3]: ``rgb`` blended with the colour of each pixel's mask label."""
    colours = np.zeros((256, 3), dtype=np.float64)
    for label, colour in MASK_COLOURS.items():
        colours[label] = colour
    blended = (1.0 - alpha) * rgb.astype(np.float64) + alpha * colours[masks]
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)


def height_colours(points: np.ndarray) -> np.ndarray:
    """uint8 [L,3] colours of points by their height z (blue low, yellow high)."""
    if len(points) == 0:
        return np.zeros((0, 3), dtype=np.uint8)
    z = points[:, 2]
    t = (z - z.min()) / max(float(z.max() - z.min()), 1e-6)
    low, high = np.array([40, 90, 230.0]), np.array([250, 210, 40.0])
    return np.round(low + t[:, None] * (high - low)).astype(np.uint8)


def enlarge(image: np.ndarray, side: int = 192) -> np.ndarray:
    """``image`` [H,W,...] repeated by the integer factor that brings its longer side
    closest to ``side`` from below (at least 1): crisp pixels in the GUI for tiny patches."""
    factor = max(1, side // max(image.shape[0], image.shape[1]))
    return image.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else image
