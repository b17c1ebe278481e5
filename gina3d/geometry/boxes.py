"""Oriented 3D boxes in their own frame: corners, containment and ray/box intersection.

A box is described in its object frame (centre at the origin, axes aligned), by its size
(length along x, width along y, height along z) in metres.
"""

from __future__ import annotations

import numpy as np


def box_corners(size: np.ndarray) -> np.ndarray:
    """The 8 corners [8,3] of a box of ``size`` [3] centred at the origin."""
    half = np.asarray(size, dtype=np.float64) / 2.0
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    return signs * half


def points_in_box(points: np.ndarray, size: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Boolean [L] for object-frame points [L,3] inside the box grown by ``margin`` metres."""
    half = np.asarray(size, dtype=np.float64) / 2.0 + margin
    return np.all(np.abs(points) <= half, axis=-1)


def ray_box_intersect(
    origins: np.ndarray, directions: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slab test of rays [...,3] against the centred box of ``size`` [3].

    Returns ``t_near`` [...], ``t_far`` [...] (distances along ``directions``, clipped so that
    t_near >= 0) and ``hit`` [...] (the ray meets the box in front of its origin).
    """
    half = np.asarray(size, dtype=np.float64) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / directions
        t0 = (-half - origins) * inv
        t1 = (half - origins) * inv
    # a zero direction component inside the slab gives nan from 0*inf: treat it as unbounded
    t_lo = np.where(np.isnan(t0), -np.inf, np.minimum(t0, t1))
    t_hi = np.where(np.isnan(t1), np.inf, np.maximum(t0, t1))
    t_near = np.maximum(t_lo.max(axis=-1), 0.0)
    t_far = t_hi.min(axis=-1)
    hit = t_far > t_near
    return t_near, t_far, hit
