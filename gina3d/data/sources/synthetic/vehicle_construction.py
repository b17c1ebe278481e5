"""Construction trucks on three axles: a cement mixer (a tilted drum with accent-coloured ends)
or a dump truck (open tipper body with a cab-protector canopy), in safety colours.

The builder takes the target AABB ``dims`` = (length, width, height) [3] and a body colour and
returns parts in the ground frame (ground at z = 0, x in [-L/2, L/2], y in [-W/2, W/2]; the
width includes the mirrors).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gina3d.data.sources.synthetic import vehicle_parts as vp
from gina3d.data.sources.synthetic.primitives import box, revolve
from gina3d.data.sources.synthetic.vehicle_truck_parts import chassis_frame, front_cab, rear_end
from gina3d.geometry.mesh import Mesh


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _mixer_drum(
    x_front: float, x_rear: float, top: float, radius: float, color: ArrayLike, accent: ArrayLike
) -> list[Mesh]:
    """Cement-mixer drum tilted up towards the rear, its highest point at z = ``top``."""
    tilt = np.radians(14.0)
    axis = np.array([-np.cos(tilt), 0.0, np.sin(tilt)])  # front to rear, rising
    span = (x_front - x_rear) / np.cos(tilt)
    along = np.array([0.0, 0.03, 0.25, 0.45, 0.7, 0.93, 1.0, 1.0]) * span  # [8]
    radii = np.array([0.0, 0.55, 0.92, 1.0, 0.85, 0.45, 0.38, 0.0]) * radius  # [8]
    prof = np.stack([along, radii], axis=1)  # [8,2] (distance along the axis, radius)
    z_rel = prof[:, 0] * axis[2] + prof[:, 1] * np.cos(tilt)  # highest point along each ring
    origin = np.array([x_front, 0.0, top - z_rel.max()])
    front, middle, rear = prof[:3], prof[2:5], prof[4:]
    return [
        revolve(origin, axis, front, accent, segments=16),
        revolve(origin, axis, middle, color, segments=16),
        revolve(origin, axis, rear, accent, segments=16),
    ]


def build_construction(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Construction truck on three axles: a cement mixer (drum with accent ends) or a dump
    truck (open tipper body with a cab-protector canopy), in safety colours."""
    length, width, height = dims
    bw = width / 2 - _u(rng, 0.15, 0.22)
    r = _u(rng, 0.5, 0.55)
    xf, xr = length / 2 - 0.01, -length / 2 + 0.01
    mixer = rng.uniform() < 0.55
    hood = 0.0 if mixer or rng.uniform() < 0.5 else _u(rng, 1.5, 1.9)
    x_fa = xf - (hood - 0.2 if hood else _u(rng, 1.0, 1.3))
    cab_top = min(_u(rng, 2.6, 2.9), height - 0.4)
    cab_color = vp.WHITE if rng.uniform() < 0.35 else color
    cab_len = _u(rng, 1.8, 2.1)
    parts, back = front_cab(
        rng, xf, bw - 0.06, width / 2, cab_top, cab_color, (x_fa, r), cab_len, hood
    )
    frame_top = 2 * r + 0.15
    parts.append(chassis_frame(xr + 0.3, back + 0.5, frame_top))
    x_ra = xr + _u(rng, 1.2, 1.6)
    if mixer:
        radius = min(_u(rng, 1.05, 1.2), (height - frame_top - 0.3) / 2)
        accent = vp.WHITE if np.asarray(color).min() < 0.6 else (0.9, 0.4, 0.05)
        parts += _mixer_drum(back - 0.2, xr + 0.5, height, radius, color, accent)
        for x, h in ((back - 0.6, 0.9), (xr + 1.0, 1.5)):  # drum pedestals
            parts.append(box((0.25, 1.2, h), (x, 0.0, frame_top + h / 2), vp.CHASSIS))
        parts.append(box((0.9, 0.5, 0.08), (xr + 0.35, 0.0, frame_top + 0.4), vp.TRIM))  # chute
    else:
        floor, t = frame_top + 0.05, 0.08
        x_bed = back - 0.1
        top = height - 0.15
        parts.append(box((x_bed - xr, 2 * bw, 0.12), ((x_bed + xr) / 2, 0.0, floor + 0.06), color))
        for s in (1.0, -1.0):
            parts.append(
                box(
                    (x_bed - xr, t, top - floor),
                    ((x_bed + xr) / 2, s * (bw - t / 2), (top + floor) / 2),
                    color,
                )
            )
        parts.append(
            box((t, 2 * bw, height - floor), (x_bed - t / 2, 0.0, (height + floor) / 2), color)
        )
        parts.append(
            box((t, 2 * bw - 2 * t, top - floor - 0.1), (xr + t / 2, 0.0, (top + floor) / 2), color)
        )
        parts.append(box((0.9, 2 * bw - 0.2, 0.06), (x_bed + 0.45, 0.0, height - 0.03), color))
    parts += rear_end(xr, bw, frame_top - 0.4)
    rim = vp.RIM_COLORS[rng.integers(4)]
    parts += vp.wheel_pair(x_fa, r, 0.32, bw - 0.06, rim)
    for x in (x_ra, x_ra + 1.35):
        parts += vp.wheel_pair(x, r, 0.55, bw, rim)
    return parts
