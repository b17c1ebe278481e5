"""Heavy vehicles: box truck, semi-trailer, garbage truck and fire engine.

Each builder takes the target AABB ``dims`` = (length, width, height) [3] and a body colour and
returns parts in the ground frame (ground at z = 0, x in [-L/2, L/2], y in [-W/2, W/2]; the
width includes the mirrors).
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import ArrayLike

from gina3d.data.sources.synthetic import vehicle_parts as vp
from gina3d.data.sources.synthetic.primitives import box, extruded_profile
from gina3d.data.sources.synthetic.vehicle_truck_parts import chassis_frame, front_cab, rear_end
from gina3d.geometry.mesh import Mesh

SILVER = (0.7, 0.71, 0.73)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def build_box_truck(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Rigid box truck: cab (flat-fronted or bonneted) and a tall cargo box with a roll-up
    door."""
    length, width, height = dims
    bw = width / 2 - _u(rng, 0.15, 0.22)
    r = _u(rng, 0.45, 0.5)
    xf, xr = length / 2 - 0.01, -length / 2 + 0.01
    hood = _u(rng, 1.1, 1.5) if rng.uniform() < 0.4 else 0.0
    x_fa = xf - (hood - 0.1 if hood else _u(rng, 0.9, 1.1))
    cab_color = color if rng.uniform() < 0.7 else vp.WHITE
    top, cab_len = min(_u(rng, 2.5, 2.9), height - 0.3), _u(rng, 1.7, 2.0)
    cab, back = front_cab(rng, xf, bw - 0.08, width / 2, top, cab_color, (x_fa, r), cab_len, hood)
    floor = _u(rng, 1.0, 1.2)
    x_box = back - 0.15
    x_ra = xr + 0.32 * (x_box - xr)
    cargo = box(
        (x_box - xr, 2 * bw, height - floor), ((x_box + xr) / 2, 0.0, (height + floor) / 2), color
    )
    parts = [*cab, cargo]
    parts.append(chassis_frame(xr + 0.3, back + 0.5, floor))
    parts.append(
        vp.flat_panel_x(
            xr, -(bw - 0.1), bw - 0.1, floor + 0.1, height - 0.15, vp.BACK, (0.55, 0.56, 0.58)
        )
    )  # roll-up door
    if rng.uniform() < 0.4:  # company livery band on the box flanks
        band = vp.RIM_COLORS[rng.integers(4)] if rng.uniform() < 0.3 else (0.15, 0.3, 0.6)
        for s in (1.0, -1.0):
            parts.append(
                vp.flat_panel_y(s * bw, xr + 0.3, x_box - 0.3, floor + 0.5, floor + 1.1, s, band)
            )
    parts += rear_end(xr, bw, floor - 0.35)
    rim = vp.RIM_COLORS[rng.integers(4)]
    parts += vp.wheel_pair(x_fa, r, 0.28, bw - 0.08, rim) + vp.wheel_pair(
        x_ra, r, 0.5, bw - 0.02, rim
    )
    return parts


def build_trailer(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Semi-trailer without a tractor: a box on tandem rear axles, landing legs at the front,
    optional side skirts and front refrigeration unit, amber markers and red tail lamps."""
    length, width, height = dims
    bw = width / 2 - 0.005
    r = _u(rng, 0.48, 0.52)
    xf, xr = length / 2 - 0.005, -length / 2 + 0.01
    reefer = rng.uniform() < 0.3
    x_box = xf - (0.45 if reefer else 0.0)
    deck = _u(rng, 1.15, 1.3)
    parts = [
        box(
            (x_box - xr, 2 * bw, height - deck), ((x_box + xr) / 2, 0.0, (height + deck) / 2), color
        )
    ]
    if reefer:
        parts.append(box((0.45, 1.9, 1.1), (xf - 0.225, 0.0, height - 0.7), (0.85, 0.86, 0.86)))
    x1 = xr + _u(rng, 1.0, 1.6)
    axles = (x1, x1 + 1.3)
    parts.append(
        box((3.2, 1.0, deck - 2 * r + 0.1), (x1 + 0.65, 0.0, (deck + 2 * r) / 2 - 0.05), vp.CHASSIS)
    )  # suspension sub-frame
    x_legs = x_box - _u(rng, 2.0, 2.6)
    for s in (1.0, -1.0):
        parts.append(box((0.12, 0.12, deck - 0.25), (x_legs, s * 0.75, (deck + 0.25) / 2), vp.TRIM))
        parts.append(box((0.25, 0.25, 0.04), (x_legs, s * 0.75, 0.25), vp.TRIM))
    if rng.uniform() < 0.5:  # aerodynamic side skirts
        for s in (1.0, -1.0):
            parts.append(
                box(
                    (x_legs - axles[1] - 1.2, 0.03, deck - 0.35),
                    ((x_legs + axles[1]) / 2 + 0.2, s * (bw - 0.05), (deck + 0.35) / 2),
                    (0.78, 0.78, 0.8),
                )
            )
    parts.append(
        vp.flat_panel_x(
            xr, -(bw - 0.08), -0.01, deck + 0.08, height - 0.1, vp.BACK, np.asarray(color) * 0.92
        )
    )  # two rear door leaves
    parts.append(
        vp.flat_panel_x(
            xr, 0.01, bw - 0.08, deck + 0.08, height - 0.1, vp.BACK, np.asarray(color) * 0.92
        )
    )
    parts += rear_end(xr, bw, deck - 0.3)
    parts += vp.lamp_pair(x_box, bw - 0.08, 0.08, height - 0.15, height - 0.05, vp.FRONT, vp.MARKER)
    for s in (1.0, -1.0):
        for x in np.linspace(xr + 0.5, x_box - 0.5, 4):
            parts.append(
                vp.flat_panel_y(s * bw, x - 0.05, x + 0.05, deck + 0.05, deck + 0.12, s, *vp.MARKER)
            )
    rim = vp.RIM_COLORS[rng.integers(4)]
    for x in axles:
        parts += vp.wheel_pair(x, r, 0.55, bw, rim)
    return parts


def build_garbage_truck(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Refuse truck: cab-over cab with amber beacons, tall container and a sloped rear hopper."""
    length, width, height = dims
    bw = width / 2 - _u(rng, 0.15, 0.22)
    r = _u(rng, 0.48, 0.52)
    xf, xr = length / 2 - 0.01, -length / 2 + 0.01
    x_fa = xf - _u(rng, 1.1, 1.4)
    cab_top = min(_u(rng, 2.6, 3.0), height - 0.35)
    cab_color = vp.WHITE if rng.uniform() < 0.5 else color
    cab_len = _u(rng, 1.9, 2.2)
    parts, back = front_cab(rng, xf, bw - 0.05, width / 2, cab_top, cab_color, (x_fa, r), cab_len)
    parts += [
        box((0.18, 0.18, 0.12), (back + 0.4, s * 0.6, cab_top + 0.06), *vp.MARKER)
        for s in (1.0, -1.0)
    ]
    z0 = 2 * r + _u(rng, 0.04, 0.12)  # container floor clears the rear wheels
    hop = _u(rng, 1.5, 1.9)
    profile = [
        (xr + 0.25, z0 - 0.15),
        (back - 0.1, z0),
        (back - 0.1, height),
        (xr + hop, height),
        (xr + 0.35, height - 0.45),
        (xr, 1.7),
    ]
    parts.append(extruded_profile(profile, 2 * bw, color, bevel=0.06))
    face = np.array(
        [
            (xr + 0.04, bw - 0.15, 1.72),
            (xr + 0.04, -(bw - 0.15), 1.72),
            (xr + 0.37, -(bw - 0.15), height - 0.5),
            (xr + 0.37, bw - 0.15, height - 0.5),
        ]
    )
    parts.append(
        vp.face_panel(face, 0.05, 0.95, 0.05, 0.7, (-1.0, 0.0, 0.3), vp.TRIM)
    )  # hopper mouth
    parts.append(chassis_frame(xr + 0.5, back + 0.5, z0))
    parts += rear_end(xr, bw, z0 - 0.15)
    rim = vp.RIM_COLORS[rng.integers(4)]
    x_ra = xr + hop + _u(rng, 0.7, 1.0)
    parts += vp.wheel_pair(x_fa, r, 0.3, bw - 0.05, rim) + vp.wheel_pair(x_ra, r, 0.55, bw, rim)
    if length > 9.0:
        parts += vp.wheel_pair(x_ra + 1.35, r, 0.55, bw, rim)
    return parts


def build_fire_truck(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Fire engine: crew cab with a light bar, equipment body with roll-up compartment doors,
    a white flank stripe and a ladder on top."""
    length, width, height = dims
    bw = width / 2 - _u(rng, 0.15, 0.22)
    r = _u(rng, 0.5, 0.54)
    xf, xr = length / 2 - 0.01, -length / 2 + 0.01
    x_fa = xf - _u(rng, 1.2, 1.5)
    bar_h = 0.12
    cab_top = height - _u(rng, 0.35, 0.5) - bar_h
    cab_len = _u(rng, 2.5, 2.9)
    parts, back = front_cab(rng, xf, bw - 0.03, width / 2, cab_top, color, (x_fa, r), cab_len)
    parts += vp.light_bar(back + 0.9, cab_top, 0.3, bw - 0.4, bar_h, vp.BEACON_RED, vp.BEACON_BLUE)
    z0, body_top = _u(rng, 0.55, 0.65), height - 0.3
    x_ra = xr + _u(rng, 1.8, 2.4)
    tandem = length > 10.5
    arches = vp.wheel_arch(x_ra, r, z0) + (vp.wheel_arch(x_ra + 1.35, r, z0) if tandem else [])
    body = [(xr, z0), *arches, (back - 0.1, z0), (back - 0.1, body_top), (xr, body_top)]
    parts.append(extruded_profile(body, 2 * bw, color, bevel=0.04))
    n_doors = max(2, round((back - xr - 0.6) / 1.3))
    doors = np.linspace(xr + 0.2, back - 0.3, n_doors + 1)
    for s in (1.0, -1.0):
        parts.append(vp.flat_panel_y(s * bw, xr + 0.05, back - 0.15, 1.3, 1.45, s, vp.WHITE))
        for a, b in itertools.pairwise(doors):
            if a < x_ra + r + (1.45 if tandem else 0.1) and b > x_ra - r - 0.1:
                continue  # no compartment over the rear wheels
            parts.append(
                vp.flat_panel_y(
                    s * bw, a + 0.05, b - 0.05, 1.55, body_top - 0.15, s, SILVER, offset=0.004
                )
            )
    for s in (1.0, -1.0):  # ladder: two rails and rungs resting above the cab
        parts.append(box((length - 0.6, 0.06, 0.12), (0.0, s * 0.42, height - 0.06), SILVER))
    for x in np.arange(-length / 2 + 0.5, length / 2 - 0.4, 0.6):
        parts.append(box((0.04, 0.84, 0.04), (x, 0.0, height - 0.06), SILVER))
    parts.append(
        box(
            (0.15, 0.8, height - 0.12 - body_top),
            (xr + 0.5, 0.0, (height - 0.12 + body_top) / 2),
            vp.CHASSIS,
        )
    )
    parts += rear_end(xr, bw, z0 + 0.1)
    parts += vp.lamp_pair(
        xr, bw - 0.15, 0.2, body_top - 0.3, body_top - 0.15, vp.BACK, vp.BEACON_RED
    )
    rim = vp.RIM_COLORS[0]
    parts += vp.wheel_pair(x_fa, r, 0.32, bw - 0.03, rim) + vp.wheel_pair(x_ra, r, 0.55, bw, rim)
    if tandem:
        parts += vp.wheel_pair(x_ra + 1.35, r, 0.55, bw, rim)
    parts.append(
        vp.flat_panel_x(xr, -(bw - 0.3), bw - 0.3, z0 + 0.4, body_top - 0.3, vp.BACK, SILVER)
    )
    return parts
