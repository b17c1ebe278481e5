"""Planar polygon helpers for the procedural primitives: ear-clipping triangulation, mitred
inward offset (bevels, window insets) and the area normal.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def triangulate_polygon(points: np.ndarray) -> np.ndarray:
    """Ear-clip a simple 2D polygon [N,2] (either orientation) into triangles [N-2,3].

    Triangles keep the winding of the input polygon.
    """
    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    area = 0.5 * np.sum(pts[:, 0] * np.roll(pts[:, 1], -1) - np.roll(pts[:, 0], -1) * pts[:, 1])
    sign = 1.0 if area >= 0 else -1.0
    remaining = list(range(n))
    tris: list[tuple[int, int, int]] = []

    def cross(a: int, b: int, c: int) -> float:
        ab, ac = pts[b] - pts[a], pts[c] - pts[a]
        return sign * (ab[0] * ac[1] - ab[1] * ac[0])

    while len(remaining) > 3:
        m = len(remaining)
        for k in range(m):
            a, b, c = remaining[k - 1], remaining[k], remaining[(k + 1) % m]
            if cross(a, b, c) <= 1e-12:
                continue  # reflex or collinear corner
            if any(
                cross(a, b, p) >= 0 and cross(b, c, p) >= 0 and cross(c, a, p) >= 0
                for p in remaining
                if p not in (a, b, c)
            ):
                continue  # another vertex inside the candidate ear
            tris.append((a, b, c))
            remaining.pop(k)
            break
        else:  # numerically stuck (degenerate input): fan the rest
            tris += [(remaining[0], remaining[i], remaining[i + 1]) for i in range(1, m - 1)]
            remaining = remaining[:3]
            break
    if len(remaining) == 3:
        tris.append(tuple(remaining))  # type: ignore[arg-type]
    return np.asarray(tris, dtype=np.int64).reshape(-1, 3)


def offset_polygon(points: np.ndarray, normal: ArrayLike, distance: float) -> np.ndarray:
    """Move a planar polygon's corners [N,3] inward by ``distance`` (mitred, clamped).

    ``normal`` [3] is the side from which the polygon is counter-clockwise.
    """
    p = np.asarray(points, dtype=np.float64)
    nrm = np.asarray(normal, dtype=np.float64)
    d_in = p - np.roll(p, 1, axis=0)  # edge arriving at each corner
    d_out = np.roll(p, -1, axis=0) - p  # edge leaving each corner
    d_in /= np.linalg.norm(d_in, axis=1, keepdims=True) + 1e-12
    d_out /= np.linalg.norm(d_out, axis=1, keepdims=True) + 1e-12
    n1, n2 = np.cross(nrm, d_in), np.cross(nrm, d_out)  # inward edge normals
    denom = np.maximum(1.0 + np.sum(n1 * n2, axis=1, keepdims=True), 0.25)
    return p + distance * (n1 + n2) / denom


def polygon_normal(points: np.ndarray) -> np.ndarray:
    """Unnormalised area normal [3] of a polygon [N,3] (right-hand rule)."""
    return 0.5 * np.sum(np.cross(points, np.roll(points, -1, axis=0)), axis=0)
