"""Procedural mesh primitives for the synthetic world's assets.

Every builder returns a :class:`Mesh` with one albedo colour and one emissive colour, faces
counter-clockwise seen from outside (closed parts have a positive signed volume). Shapes:

* :func:`box`, :func:`frustum` and :func:`hexahedron`: six-faced blocks (bodies, cabins).
* :func:`extruded_profile`: a polygon in the x-z plane extruded along y, optionally bevelled;
  the side silhouette of a car body with wheel arches.
* :func:`revolve`: a surface of revolution from an (axial distance, radius) profile, the base of
  :func:`cylinder`, :func:`cone`, :func:`capsule`, :func:`ellipsoid` and :func:`sphere`.
* :func:`panel`: a flat single-sided polygon laid slightly proud of a surface (windows,
  lights, stripes).

Colours are rgb triples in [0,1]; ``emissive=None`` means the part does not glow.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import ArrayLike

from gina3d.data.sources.synthetic.polygons import (
    offset_polygon,
    polygon_normal,
    triangulate_polygon,
)
from gina3d.geometry.mesh import Mesh


def _mesh(vertices: ArrayLike, faces: ArrayLike, color: ArrayLike, emissive: ArrayLike | None):
    """Mesh with uniform colour and emission."""
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    e = None if emissive is None else np.asarray(emissive, dtype=np.float32)
    return Mesh(v, np.asarray(faces, dtype=np.int64).reshape(-1, 3), np.asarray(color), e)


def panel(
    corners: ArrayLike,
    outward: ArrayLike,
    color: ArrayLike,
    emissive: ArrayLike | None = None,
    inset: float = 0.0,
    offset: float = 0.006,
) -> Mesh:
    """A flat convex polygon [N,3] facing ``outward`` [3], shrunk by ``inset`` metres at its
    border and pushed ``offset`` metres along its normal (windows, lamps, stripes)."""
    p = np.asarray(corners, dtype=np.float64)
    if np.dot(polygon_normal(p), outward) < 0:
        p = p[::-1]
    nrm = polygon_normal(p)
    nrm /= np.linalg.norm(nrm) + 1e-12
    if inset:
        p = offset_polygon(p, nrm, inset)
    p = p + offset * nrm
    faces = [(0, i, i + 1) for i in range(1, len(p) - 1)]  # [N-2,3] fan
    return _mesh(p, faces, color, emissive)


def _loft_faces(ring_starts: list[int], n: int) -> list[tuple[int, int, int]]:
    """Side faces between consecutive closed rings of ``n`` vertices (rings CCW about the
    loft direction) so that they face outward."""
    faces = []
    for a, b in itertools.pairwise(ring_starts):
        for i in range(n):
            j = (i + 1) % n
            faces += [(a + i, a + j, b + j), (a + i, b + j, b + i)]
    return faces


def hexahedron(corners: ArrayLike, color: ArrayLike, emissive: ArrayLike | None = None) -> Mesh:
    """Closed block from 8 corners [8,3]: bottom 0-3 then top 4-7, each counter-clockwise seen
    from above, top corner k above bottom corner k."""
    c = np.asarray(corners, dtype=np.float64).reshape(8, 3)
    faces = [(0, 2, 1), (0, 3, 2), (4, 5, 6), (4, 6, 7), *_loft_faces([0, 4], 4)]  # [12,3]
    return _mesh(c, faces, color, emissive)


def frustum(
    bottom: ArrayLike,
    top: ArrayLike,
    z0: float,
    z1: float,
    color: ArrayLike,
    emissive: ArrayLike | None = None,
) -> Mesh:
    """Tapered box between an axis-aligned rectangle ``bottom`` = (x0, x1, y0, y1) at height
    ``z0`` and ``top`` (same layout) at ``z1`` (cabins, hoppers, dump beds)."""
    corners = []
    for (x0, x1, y0, y1), z in ((bottom, z0), (top, z1)):
        corners += [(x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z)]
    return hexahedron(corners, color, emissive)


def box(
    size: ArrayLike, center: ArrayLike, color: ArrayLike, emissive: ArrayLike | None = None
) -> Mesh:
    """Axis-aligned box of extents ``size`` [3] around ``center`` [3]."""
    (sx, sy, sz), (cx, cy, cz) = np.asarray(size, float), np.asarray(center, float)
    rect = (cx - sx / 2, cx + sx / 2, cy - sy / 2, cy + sy / 2)
    return frustum(rect, rect, cz - sz / 2, cz + sz / 2, color, emissive)


def extruded_profile(
    profile_xz: ArrayLike,
    width: float,
    color: ArrayLike,
    emissive: ArrayLike | None = None,
    bevel: float = 0.0,
    y_center: float = 0.0,
) -> Mesh:
    """Extrude a simple polygon [N,2] of (x, z) points along y over ``width`` metres.

    With ``bevel`` > 0 the two side caps are inset by ``bevel`` and joined to the full profile
    by a chamfer ``bevel`` wide, which softens the silhouette. Either winding is accepted.
    """
    xz = np.asarray(profile_xz, dtype=np.float64)
    shoelace = np.sum(xz[:, 0] * np.roll(xz[:, 1], -1) - np.roll(xz[:, 0], -1) * xz[:, 1])
    if shoelace > 0:
        xz = xz[::-1]  # rings must run counter-clockwise about +y, the loft direction
    n = len(xz)
    flat = np.stack([xz[:, 0], np.zeros(n), xz[:, 1]], axis=1)  # [N,3] profile at y = 0
    y0, y1 = y_center - width / 2, y_center + width / 2
    if bevel > 0:
        inner = offset_polygon(flat, (0.0, 1.0, 0.0), bevel)
        rings = [(inner, y0), (flat, y0 + bevel), (flat, y1 - bevel), (inner, y1)]
    else:
        rings = [(flat, y0), (flat, y1)]
    verts = np.concatenate([r + np.array([0.0, y, 0.0]) for r, y in rings])  # [R*N,3]
    starts = [k * n for k in range(len(rings))]
    faces = _loft_faces(starts, n)
    cap = triangulate_polygon(xz)  # [N-2,3]; counter-clockwise about +y, like the rings
    last = starts[-1]
    faces += [(a, c, b) for a, b, c in cap] + [(last + a, last + b, last + c) for a, b, c in cap]
    return _mesh(verts, faces, color, emissive)


def _perpendicular_frame(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors u, v with u x v = axis (axis a unit vector)."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(helper, axis)
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)


def revolve(
    origin: ArrayLike,
    axis: ArrayLike,
    profile: ArrayLike,
    color: ArrayLike,
    emissive: ArrayLike | None = None,
    segments: int = 12,
) -> Mesh:
    """Surface of revolution about the line ``origin`` + s * ``axis``.

    profile: [K,2] (s metres along the unit axis, radius) from one end to the other; a zero
    radius makes a pole, an end with a positive radius gets a flat cap.
    """
    o = np.asarray(origin, dtype=np.float64)
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    u, v = _perpendicular_frame(a)
    ang = 2 * np.pi * np.arange(segments) / segments
    circle = np.cos(ang)[:, None] * u + np.sin(ang)[:, None] * v  # [S,3], CCW about a
    verts: list[np.ndarray] = []
    rings: list[tuple[int, bool]] = []  # (first vertex index, is_pole)
    count = 0
    for s, r in np.asarray(profile, dtype=np.float64):
        pole = r <= 1e-9
        verts.append((o + s * a)[None] if pole else o + s * a + r * circle)
        rings.append((count, pole))
        count += 1 if pole else segments
    faces: list[tuple[int, int, int]] = []
    for (p, p_pole), (q, q_pole) in itertools.pairwise(rings):
        for i in range(segments):
            j = (i + 1) % segments
            if p_pole and not q_pole:
                faces.append((p, q + j, q + i))
            elif q_pole and not p_pole:
                faces.append((p + i, p + j, q))
            elif not p_pole:
                faces += [(p + i, p + j, q + j), (p + i, q + j, q + i)]
    (first, first_pole), (last, last_pole) = rings[0], rings[-1]
    fan = range(1, segments - 1)
    if not first_pole:
        faces += [(first, first + i + 1, first + i) for i in fan]
    if not last_pole:
        faces += [(last, last + i, last + i + 1) for i in fan]
    return _mesh(np.concatenate(verts), faces, color, emissive)


def cone(
    p0: ArrayLike,
    p1: ArrayLike,
    r0: float,
    r1: float,
    color: ArrayLike,
    emissive: ArrayLike | None = None,
    segments: int = 12,
) -> Mesh:
    """Truncated cone from ``p0`` (radius ``r0``) to ``p1`` (radius ``r1``; 0 for a tip)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    length = float(np.linalg.norm(p1 - p0))
    return revolve(p0, p1 - p0, [(0.0, r0), (length, r1)], color, emissive, segments)


def cylinder(
    p0: ArrayLike,
    p1: ArrayLike,
    radius: float,
    color: ArrayLike,
    emissive: ArrayLike | None = None,
    segments: int = 12,
) -> Mesh:
    """Capped cylinder of ``radius`` between the centres of its two end discs."""
    return cone(p0, p1, radius, radius, color, emissive, segments)


def capsule(
    p0: ArrayLike,
    p1: ArrayLike,
    r0: float,
    color: ArrayLike,
    r1: float | None = None,
    emissive: ArrayLike | None = None,
    segments: int = 8,
    rings: int = 2,
) -> Mesh:
    """Capsule (tapered when ``r1`` differs from ``r0``) whose hemispherical ends are centred on
    ``p0`` and ``p1``: limbs, necks, poles."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    r1 = r0 if r1 is None else r1
    length = max(float(np.linalg.norm(p1 - p0)), 1e-6)
    axis = (p1 - p0) if length > 1e-6 else np.array([0.0, 0.0, 1.0])
    t = np.linspace(0.0, np.pi / 2, rings + 1)  # polar angles of one hemisphere
    start = [(-r0 * np.cos(a), r0 * np.sin(a)) for a in t]
    end = [(length + r1 * np.sin(a), r1 * np.cos(a)) for a in t]
    return revolve(p0, axis, start + end, color, emissive, segments)


def ellipsoid(
    center: ArrayLike,
    radii: ArrayLike,
    color: ArrayLike,
    emissive: ArrayLike | None = None,
    rotation: ArrayLike | None = None,
    segments: int = 10,
    rings: int = 6,
) -> Mesh:
    """UV ellipsoid with semi-axes ``radii`` [3], rotated by ``rotation`` [3,3] (optional)."""
    polar = np.linspace(0.0, np.pi, rings + 1)
    unit = revolve(
        (0, 0, 0),
        (0, 0, 1),
        np.stack([-np.cos(polar), np.sin(polar)], 1),
        color,
        emissive,
        segments,
    )
    v = unit.vertices.astype(np.float64) * np.asarray(radii, dtype=np.float64)
    if rotation is not None:
        v = v @ np.asarray(rotation, dtype=np.float64).T
    return Mesh(v + np.asarray(center, float), unit.faces, unit.colors, unit.emissive)


def sphere(
    center: ArrayLike,
    radius: float,
    color: ArrayLike,
    emissive: ArrayLike | None = None,
    segments: int = 10,
    rings: int = 6,
) -> Mesh:
    """UV sphere."""
    return ellipsoid(center, (radius,) * 3, color, emissive, None, segments, rings)
