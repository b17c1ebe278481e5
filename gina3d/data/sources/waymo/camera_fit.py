"""A pinhole camera fitted to a patch's per-pixel rays (WOD stores no patch intrinsics).

Object-asset rays are exact (they include rolling shutter and object motion), so they are
kept as they are; the fitted camera only serves what needs a pinhole: novel-view rendering
at other resolutions, projecting points, the record's ``intrinsics`` and ``cam_from_obj``.

Least squares in three steps: the camera centre is the mean ray origin; ``M = K R`` (3x3)
solves the homogeneous system ``[u, v, 1] ~ M d`` over the rays (DLT on pixel-normalised
coordinates); an RQ decomposition splits it into an upper-triangular K and a rotation R
(OpenCV camera: z forward, so every ray has ``(R d).z > 0``). The skew is dropped and
(rotation, fx, fy, cx, cy) are refined by Levenberg-Marquardt on the reprojection error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import rq
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from gina3d.geometry.cameras import pixel_centres


@dataclass
class PinholeFit:
    """K [3,3], cam_from_obj [4,4] (OpenCV camera) and the RMS reprojection error in pixels
    (``ok`` is False when the rays do not look like a camera: degenerate or mirrored)."""

    K: np.ndarray
    cam_from_obj: np.ndarray
    rms_px: float
    ok: bool = True


def _project(K: np.ndarray, R: np.ndarray, d: np.ndarray) -> np.ndarray:
    cam = d @ R.T  # [N,3]
    z = np.where(np.abs(cam[:, 2]) < 1e-12, 1e-12, cam[:, 2])
    return np.stack([K[0, 0] * cam[:, 0] / z + K[0, 2], K[1, 1] * cam[:, 1] / z + K[1, 2]], -1)


def _dlt(pix: np.ndarray, d: np.ndarray) -> np.ndarray:
    """M [3,3] with [u, v, 1] ~ M d, on Hartley-normalised pixels."""
    mean = pix.mean(0)
    scale = np.sqrt(2.0) / max(float(np.sqrt(((pix - mean) ** 2).sum(-1).mean())), 1e-12)
    T = np.array([[scale, 0, -scale * mean[0]], [0, scale, -scale * mean[1]], [0, 0, 1.0]])
    p = (pix - mean) * scale
    n = len(p)
    A = np.zeros((2 * n, 9))
    A[:n, 0:3] = -d
    A[:n, 6:9] = p[:, :1] * d
    A[n:, 3:6] = -d
    A[n:, 6:9] = p[:, 1:2] * d
    _, _, vt = np.linalg.svd(A, full_matrices=False)
    return np.linalg.solve(T, vt[-1].reshape(3, 3))


def fit_pinhole(
    origins: np.ndarray, directions: np.ndarray, max_rays: int = 1024, refine: bool = True
) -> PinholeFit:
    """Fit to rays [H,W,3] of a patch whose pixel (row i, column j) is centred at (j+0.5, i+0.5)."""
    height, width = directions.shape[:2]
    pix = pixel_centres(height, width).reshape(-1, 2)
    d = directions.reshape(-1, 3).astype(np.float64)
    good = np.isfinite(d).all(-1) & (np.linalg.norm(d, axis=-1) > 0.5)
    step = max(1, int(np.ceil(good.sum() / max_rays)))
    idx = np.flatnonzero(good)[::step]
    centre = origins.reshape(-1, 3)[good].astype(np.float64).mean(0)
    fallback = PinholeFit(np.eye(3), np.eye(4), float("inf"), ok=False)
    if len(idx) < 6:
        return fallback
    pix_s, d_s = pix[idx], d[idx] / np.linalg.norm(d[idx], axis=-1, keepdims=True)

    M = _dlt(pix_s, d_s)
    K, R = rq(M)
    signs = np.sign(np.diag(K))
    signs[signs == 0] = 1.0
    K, R = K * signs[None, :], signs[:, None] * R  # positive focal lengths
    if np.linalg.det(R) < 0:
        R = -R  # M is defined up to sign
    K = K / K[2, 2]
    if np.median(d_s @ R[2]) <= 0 or not np.isfinite(K).all():
        return fallback  # mirrored or behind: not a camera
    K[0, 1] = 0.0

    if refine:
        rotvec0 = Rotation.from_matrix(R).as_rotvec()
        x0 = np.concatenate([rotvec0, [K[0, 0], K[1, 1], K[0, 2], K[1, 2]]])

        def residual(x: np.ndarray) -> np.ndarray:
            Ri = Rotation.from_rotvec(x[:3]).as_matrix()
            Ki = np.array([[x[3], 0, x[5]], [0, x[4], x[6]], [0, 0, 1.0]])
            return (_project(Ki, Ri, d_s) - pix_s).ravel()

        sol = least_squares(residual, x0, method="lm", max_nfev=200)
        R = Rotation.from_rotvec(sol.x[:3]).as_matrix()
        K = np.array([[sol.x[3], 0, sol.x[5]], [0, sol.x[4], sol.x[6]], [0, 0, 1.0]])

    err = _project(K, R, d_s) - pix_s
    cam_from_obj = np.eye(4)
    cam_from_obj[:3, :3] = R
    cam_from_obj[:3, 3] = -R @ centre
    rms = float(np.sqrt((err**2).sum(-1).mean()))
    return PinholeFit(K, cam_from_obj, rms, ok=bool(np.isfinite(rms)))
