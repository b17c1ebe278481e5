"""Pinhole cameras in the OpenCV convention: projection, per-pixel rays, crops, and the
cameras that look at an object: orbits about its vertical axis and look-at views.

Pixel (row i, column j) covers [j, j+1) x [i, i+1); its centre is (j+0.5, i+0.5).
Intrinsics are K [3,3] = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] in pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gina3d.errors import Gina3dError
from gina3d.geometry.transforms import apply, invert, rot_z, rotate

DEFAULT_AZIMUTHS_DEG = (90.0, 180.0, 270.0)  # orbit views of evaluation and sample grids
FOV_DEG = 30.0  # look-at views: vertical field of view,
ELEVATION_DEG = 20.0  # height above the box centre's horizontal plane,
START_DEG = 30.0  # azimuth from the object's front (+x), counter-clockwise seen from above,
MARGIN = 1.05  # and room around the box's bounding sphere


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


# Orbits about the object's vertical axis (the object frame's z through the box centre):
# for an azimuth offset ``a`` the camera's pose is rotated by rot_z(a), which keeps its
# distance to the box centre, its elevation and its orientation relative to the line of
# sight; the principal point moves so that the box centre projects to the image centre
# (gina3d/evaluation/novel_views.py explains the choice).


def intrinsics_K(intrinsics: np.ndarray) -> np.ndarray:
    """K [3,3] from ``(fx, fy, cx, cy)`` [4], or K itself when given [3,3]."""
    k = np.asarray(intrinsics, dtype=np.float64)
    if k.shape == (3, 3):
        return k.copy()
    return intrinsics_matrix(*k.reshape(4))


def recentred_intrinsics(
    K: np.ndarray, cam_from_obj: np.ndarray, width: int, height: int
) -> np.ndarray:
    """K [3,3] with the same focal lengths whose principal point puts the box centre (the
    object origin) at the image centre ``(width / 2, height / 2)``."""
    K = intrinsics_K(K)
    c = np.asarray(cam_from_obj, dtype=np.float64)[:3, 3]
    if c[2] <= 1e-6:
        raise ValueError(f"box centre is not in front of the camera (camera z = {c[2]:.3f} m)")
    out = K.copy()
    out[0, 2] = width / 2.0 - K[0, 0] * c[0] / c[2] - K[0, 1] * c[1] / c[2]
    out[1, 2] = height / 2.0 - K[1, 1] * c[1] / c[2]
    return out


def orbit_cameras(
    cam_from_obj: np.ndarray,
    K: np.ndarray,
    width: int,
    height: int,
    azimuths_deg: Sequence[float] = DEFAULT_AZIMUTHS_DEG,
) -> tuple[np.ndarray, np.ndarray]:
    """Novel cameras orbiting the object: ``cam_from_obj`` [V,4,4] and K [V,3,3] (float64).

    ``K`` is the patch camera's K [3,3] or ``(fx, fy, cx, cy)``; ``width``/``height`` the
    novel images' size (normally the patch resolution). See the module docstring.
    """
    cam_from_obj = np.asarray(cam_from_obj, dtype=np.float64)
    K_new = recentred_intrinsics(K, cam_from_obj, width, height)  # same for every azimuth
    cams, Ks = [], []
    for a in azimuths_deg:
        rz = np.eye(4)
        rz[:3, :3] = rot_z(-np.radians(float(a)))
        cams.append(cam_from_obj @ rz)
        Ks.append(K_new.copy())
    return np.array(cams).reshape(-1, 4, 4), np.array(Ks).reshape(-1, 3, 3)


# Look-at views: a camera at ``distance`` (default: the bounding sphere fits the field of
# view with MARGIN) looking at the box centre, z up, square pixels, centred principal point.


def focal_length(image_size: int, fov_deg: float = FOV_DEG) -> float:
    """Focal length in pixels of a square image of ``image_size`` with vertical fov."""
    return (image_size / 2.0) / math.tan(math.radians(fov_deg) / 2.0)


def fit_distance(box_size, fov_deg: float = FOV_DEG, margin: float = MARGIN) -> float:
    """Camera distance (m) at which the box's bounding sphere fits the field of view."""
    radius = float(np.linalg.norm(np.asarray(box_size, dtype=np.float64))) / 2.0
    return margin * radius / math.sin(math.radians(fov_deg) / 2.0)


def look_at_camera(
    box_size,
    image_size: int,
    azimuth_deg: float = START_DEG,
    elevation_deg: float = ELEVATION_DEG,
    fov_deg: float = FOV_DEG,
    distance: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``cam_from_obj`` [4,4] and K [3,3] of a camera looking at the box centre, z up."""
    if image_size < 1:
        raise Gina3dError(f"image size must be positive, got {image_size}")
    d = fit_distance(box_size, fov_deg) if distance is None else float(distance)
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    centre = d * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    forward = -centre / np.linalg.norm(centre)  # camera z
    right = np.cross(forward, [0.0, 0.0, 1.0])  # camera x
    if np.linalg.norm(right) < 1e-9:
        raise Gina3dError(f"elevation {elevation_deg} deg: camera looks straight along z")
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)  # camera y
    obj_from_cam = np.eye(4)
    obj_from_cam[:3, :3] = np.stack([right, down, forward], axis=1)
    obj_from_cam[:3, 3] = centre
    f = focal_length(image_size, fov_deg)
    K = np.array([[f, 0.0, image_size / 2.0], [0.0, f, image_size / 2.0], [0.0, 0.0, 1.0]])
    return invert(obj_from_cam), K
