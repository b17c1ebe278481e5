"""The sensor rig of the synthetic vehicle: five Waymo-like cameras and a spinning top LiDAR.

Vehicle frame: x forward, y left, z up, metres, origin on the ground under the middle of the
rear axle (as in the Waymo Open Dataset). Camera frames are OpenCV (x right, y down,
z forward); ``vehicle_from_cam`` maps OpenCV camera coordinates into the vehicle frame.
Intrinsics ``K`` are in pixels with pixel centres at integer + 0.5 (pixel (u, v) covers
[u, u+1) x [v, v+1)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gina3d.geometry.lidar_spec import LidarSpec
from gina3d.geometry.transforms import OPENCV_FROM_FLU, make_transform, rot_y, rot_z

CAMERA_NAMES = ("FRONT", "FRONT_LEFT", "FRONT_RIGHT", "SIDE_LEFT", "SIDE_RIGHT")
REAR_CAMERA_NAMES = ("REAR_LEFT", "REAR_RIGHT")
RIGS = {"waymo": CAMERA_NAMES, "surround": CAMERA_NAMES + REAR_CAMERA_NAMES}

# name: (width, height, focal px, mount xyz in the vehicle frame, yaw deg, pitch deg down).
# Full-resolution numbers close to the Waymo Open Dataset's calibrations.
_WAYMO_CAMERAS: dict[str, tuple[int, int, float, tuple[float, float, float], float, float]] = {
    "FRONT": (1920, 1280, 2060.0, (1.54, 0.00, 2.12), 0.0, 0.6),
    "FRONT_LEFT": (1920, 1280, 2060.0, (1.50, 0.10, 2.12), 45.0, 0.6),
    "FRONT_RIGHT": (1920, 1280, 2060.0, (1.50, -0.10, 2.12), -45.0, 0.6),
    "SIDE_LEFT": (1920, 886, 2060.0, (1.43, 0.12, 2.12), 90.0, 0.6),
    "SIDE_RIGHT": (1920, 886, 2060.0, (1.43, -0.12, 2.12), -90.0, 0.6),
    # not in the Waymo rig: two cameras looking back past the rear corners ("surround" rig),
    # so objects stay in view after the vehicle passes them
    "REAR_LEFT": (1920, 886, 2060.0, (0.60, 0.12, 2.12), 140.0, 0.6),
    "REAR_RIGHT": (1920, 886, 2060.0, (0.60, -0.12, 2.12), -140.0, 0.6),
}


@dataclass
class CameraSpec:
    """One pinhole camera of the rig.

    name: one of ``CAMERA_NAMES``.
    K: [3,3] float64 intrinsics in pixels (pixel centres at integer + 0.5).
    width, height: image size in pixels.
    vehicle_from_cam: [4,4] float64 pose of the OpenCV camera frame in the vehicle frame.
    """

    name: str
    K: np.ndarray
    width: int
    height: int
    vehicle_from_cam: np.ndarray

    @property
    def horizontal_fov_deg(self) -> float:
        """Horizontal field of view in degrees (principal point assumed near the centre)."""
        fx, cx = float(self.K[0, 0]), float(self.K[0, 2])
        return float(np.degrees(np.arctan(cx / fx) + np.arctan((self.width - cx) / fx)))

    def project(self, points_vehicle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project vehicle-frame points [N,3] to pixels [N,2] and camera depth z [N]."""
        cam_from_vehicle = np.linalg.inv(self.vehicle_from_cam)
        p = np.asarray(points_vehicle, dtype=np.float64) @ cam_from_vehicle[:3, :3].T
        p = p + cam_from_vehicle[:3, 3]
        z = p[:, 2]
        uvw = p @ self.K.T
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = uvw[:, :2] / uvw[:, 2:3]
        return uv, z


def camera_mount(xyz: tuple[float, float, float], yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """``vehicle_from_cam`` [4,4] for an OpenCV camera at ``xyz`` looking along ``yaw_deg``.

    Yaw turns about +z (positive = towards +y, the left); pitch tilts the view down.
    """
    vehicle_from_flu = make_transform(
        rot_z(np.radians(yaw_deg)) @ rot_y(np.radians(pitch_deg)), np.asarray(xyz, float)
    )
    return vehicle_from_flu @ OPENCV_FROM_FLU.T  # OPENCV_FROM_FLU is a pure rotation


def waymo_like_rig(scale: float = 1 / 3, rig: str = "waymo") -> list[CameraSpec]:
    """The five Waymo cameras, image size and focal length multiplied by ``scale``.

    Front cameras are 1920x1280 and side cameras 1920x886 at ``scale=1``; every camera has a
    focal length of about 2060 px, i.e. a horizontal field of view of about 50 degrees.
    Cameras sit about 2.1 m above the ground near x = 1.5 m, turned by yaw 0 (FRONT),
    +45 deg (FRONT_LEFT), -45 deg (FRONT_RIGHT), +90 deg (SIDE_LEFT), -90 deg (SIDE_RIGHT),
    all pitched down by 0.6 deg. ``rig="surround"`` adds REAR_LEFT and REAR_RIGHT (side
    camera optics, yaw +-140 deg), which the Waymo vehicle does not have.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if rig not in RIGS:
        raise ValueError(f"unknown rig '{rig}' (rigs: {', '.join(RIGS)})")
    cameras = []
    for name in RIGS[rig]:
        w_full, h_full, f_full, xyz, yaw, pitch = _WAYMO_CAMERAS[name]
        width, height = max(1, round(w_full * scale)), max(1, round(h_full * scale))
        # Scale the focal length with the width so that the field of view is kept exactly.
        f = f_full * width / w_full
        K = np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])
        cameras.append(CameraSpec(name, K, width, height, camera_mount(xyz, yaw, pitch)))
    return cameras


__all__ = [
    "CAMERA_NAMES",
    "REAR_CAMERA_NAMES",
    "RIGS",
    "CameraSpec",
    "LidarSpec",
    "camera_mount",
    "waymo_like_rig",
]
