"""WOD camera calibrations in gina3d's conventions: OpenCV frame, pinhole K, undistortion.

WOD's camera frame is x forward, y left, z up; it projects with ``u_n = -y/x``,
``v_n = -z/x``, OpenCV-style distortion (k1, k2, p1, p2, k3), then ``u = f_u u_n + c_u``.
In the OpenCV frame (x right, y down, z forward) ``u_n = x/z``: the same numbers, so
``K = [[f_u, 0, c_u], [0, f_v, c_v], [0, 0, 1]]`` and
``vehicle_from_cam = extrinsic @ flu_from_opencv``. Images are undistorted to that pinhole
once, here (rolling shutter is ignored), so patch extraction sees a plain pinhole camera.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import map_coordinates

from gina3d.geometry.cameras import intrinsics_matrix, pixel_centres
from gina3d.geometry.transforms import OPENCV_FROM_FLU, invert

FLU_FROM_OPENCV = invert(OPENCV_FROM_FLU)


@dataclass
class WaymoCamera:
    """One camera's calibration. distortion = (k1, k2, p1, p2, k3)."""

    name: str
    K: np.ndarray  # [3,3]
    distortion: np.ndarray  # [5]
    vehicle_from_cam: np.ndarray  # [4,4] OpenCV camera
    width: int
    height: int
    _maps: dict = field(default_factory=dict, repr=False, compare=False)

    @staticmethod
    def from_calibration(name: str, intrinsic: dict, extrinsic: np.ndarray, width, height):
        """``intrinsic``: f_u, f_v, c_u, c_v, k1, k2, p1, p2, k3; ``extrinsic``: WOD
        vehicle_from_camera [4,4] (camera frame x forward, y left, z up)."""
        K = intrinsics_matrix(
            intrinsic["f_u"], intrinsic["f_v"], intrinsic["c_u"], intrinsic["c_v"]
        )
        dist = np.array([intrinsic.get(k) or 0.0 for k in ("k1", "k2", "p1", "p2", "k3")])
        return WaymoCamera(name, K, dist, extrinsic @ FLU_FROM_OPENCV, int(width), int(height))

    def distort(self, normalised: np.ndarray) -> np.ndarray:
        """Distorted normalised coordinates [...,2] of undistorted ones (OpenCV model)."""
        k1, k2, p1, p2, k3 = self.distortion
        x, y = normalised[..., 0], normalised[..., 1]
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        return np.stack([xd, yd], -1)

    def source_pixels(self, height: int, width: int) -> np.ndarray | None:
        """For each pixel of the undistorted image, where to read the recorded image:
        [2,H,W] (row, col) array coordinates, or None when there is no distortion."""
        if not np.any(self.distortion):
            return None
        if (height, width) in self._maps:
            return self._maps[(height, width)]
        K = self.K
        uv = pixel_centres(height, width)
        n = np.stack([(uv[..., 0] - K[0, 2]) / K[0, 0], (uv[..., 1] - K[1, 2]) / K[1, 1]], -1)
        d = self.distort(n)
        u = d[..., 0] * K[0, 0] + K[0, 2]
        v = d[..., 1] * K[1, 1] + K[1, 2]
        coords = np.stack([v - 0.5, u - 0.5])  # array indices of pixel centres
        self._maps[(height, width)] = coords
        return coords


def undistort(image: np.ndarray, coords: np.ndarray | None, labels: bool = False) -> np.ndarray:
    """Resample an image [H,W] or [H,W,C] at ``source_pixels`` coordinates: bilinear for
    colour, nearest for labels; outside the recording is 0."""
    if coords is None:
        return image
    order = 0 if labels else 1
    if image.ndim == 2:
        return map_coordinates(image, coords, order=order, mode="constant", cval=0)
    channels = [
        map_coordinates(image[..., c], coords, order=order, mode="constant", cval=0)
        for c in range(image.shape[-1])
    ]
    return np.stack(channels, -1).astype(image.dtype)
