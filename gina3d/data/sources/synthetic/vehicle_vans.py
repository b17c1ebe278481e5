"""One-box bodies: delivery van, bus (city or school) and ambulance (cab plus box module).

Each builder takes the target AABB ``dims`` = (length, width, height) [3] and a body colour and
returns parts in the ground frame (ground at z = 0, x in [-L/2, L/2], y in [-W/2, W/2]).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gina3d.data.sources.synthetic import vehicle_parts as vp
from gina3d.data.sources.synthetic.primitives import box, extruded_profile, panel
from gina3d.data.sources.synthetic.vehicle_truck_parts import truck_cab
from gina3d.geometry.mesh import Mesh

BEVEL = 0.06
STRIPE_RED = (0.78, 0.05, 0.05)
STRIPE_GREEN = (0.1, 0.5, 0.22)
BUS_ACCENTS = (
    (0.1, 0.3, 0.65),
    (0.75, 0.1, 0.08),
    (0.1, 0.45, 0.25),
    (0.9, 0.75, 0.1),
    (0.35, 0.35, 0.38),
)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _raked_window(
    x_base: float,
    z_base: float,
    run: float,
    z_top: float,
    z0: float,
    z1: float,
    x_back: float,
    y: float,
    sign: float,
) -> Mesh:
    """Side window on the flank plane at ``y`` whose front edge follows a windscreen rising
    from (x_base, z_base) to (x_base - run, z_top), spanning z in [z0, z1] back to ``x_back``."""

    def edge(z: float) -> float:
        return x_base - run * (z - z_base) / (z_top - z_base) - 0.14

    corners = [(x_back, y, z0), (edge(z0), y, z0), (edge(z1), y, z1), (x_back, y, z1)]
    return panel(corners, vp.side(sign), vp.GLASS)


def _windscreen(a: tuple[float, float], b: tuple[float, float], half: float) -> Mesh:
    """Glass on the profile face from a = (x, z) up to b = (x, z), |y| <= ``half``."""
    pa, pb = np.array([a[0], 0.0, a[1]]), np.array([b[0], 0.0, b[1]])
    lo, hi = pa + 0.06 * (pb - pa), pa + 0.92 * (pb - pa)
    normal = (b[1] - a[1], 0.0, a[0] - b[0])  # [3] outward: forward and up
    dy = np.array([0.0, half, 0.0])
    return panel([lo - dy, lo + dy, hi + dy, hi - dy], normal, vp.GLASS)


def build_van(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Delivery or passenger van: short hood, raked windscreen, tall flat-roofed box."""
    length, width, height = dims
    bw = width / 2 - _u(rng, 0.12, 0.16)
    c, r = _u(rng, 0.15, 0.2), _u(rng, 0.33, 0.38)
    xf, xr = length / 2 - 0.01, -length / 2 + 0.01
    x_fa = xf - _u(rng, 0.85, 1.0)
    x_ra = x_fa - length * _u(rng, 0.55, 0.6)
    nose, belt, hood = _u(rng, 0.85, 1.0), _u(rng, 1.05, 1.2), _u(rng, 0.7, 1.0)
    run = _u(rng, 0.55, 0.8)
    x_ws, roof = xf - hood, height
    profile = [
        (xf, c + 0.14),
        (xf, nose),
        (xf - 0.12, nose + 0.05),
        (x_ws, belt),
        (x_ws - run, roof - 0.06),
        (x_ws - run - 0.18, roof),
        (xr + 0.05, roof),
        (xr, roof - 0.06),
        (xr, c + 0.15),
        (xr + 0.15, c),
        *vp.wheel_arch(x_ra, r, c),
        *vp.wheel_arch(x_fa, r, c),
        (xf - 0.15, c),
    ]
    parts = [extruded_profile(profile, 2 * bw, color, bevel=BEVEL)]
    parts.append(_windscreen((x_ws, belt), (x_ws - run, roof - 0.06), bw - BEVEL - 0.05))
    z0, z1 = belt + 0.05, roof - 0.22
    door_back = x_ws - run - 0.75
    passenger = rng.uniform() < 0.45
    for s in (1.0, -1.0):
        y = s * bw
        parts.append(_raked_window(x_ws, belt, run, roof - 0.06, z0, z1, door_back, y, s))
        if passenger:
            flank = np.array(
                [
                    (xr + 0.3, y, z0),
                    (door_back - 0.12, y, z0),
                    (door_back - 0.12, y, z1),
                    (xr + 0.3, y, z1),
                ]
            )
            n = max(1, round((door_back - xr - 0.4) / 1.1))
            parts += vp.window_row(flank, vp.side(s), n, h0=0.0, h1=1.0, margin=0.0, pillar=0.06)
    if not passenger:  # sliding-door seam on the right flank
        parts.append(
            vp.flat_panel_y(-bw, door_back - 0.1, door_back - 0.08, c + 0.2, z1, -1, vp.TRIM)
        )
    if passenger or rng.uniform() < 0.5:
        for s in (1.0, -1.0):
            parts.append(
                vp.flat_panel_x(xr, s * 0.05, s * (bw - 0.18), z0, z1 - 0.05, vp.BACK, vp.GLASS)
            )
    parts += vp.lamp_pair(xf, bw - 0.22, 0.3, nose - 0.18, nose - 0.05, vp.FRONT, vp.HEADLIGHT)
    parts.append(
        vp.flat_panel_x(xf, -(bw - 0.42), bw - 0.42, nose - 0.25, nose - 0.06, vp.FRONT, vp.TRIM)
    )
    parts.append(vp.flat_panel_x(xf, -0.26, 0.26, c + 0.3, c + 0.41, vp.FRONT, vp.PLATE))
    parts += vp.lamp_pair(xr, bw - 0.12, 0.14, c + 0.5, belt + 0.1, vp.BACK, vp.TAILLIGHT)
    parts.append(vp.flat_panel_x(xr, -0.26, 0.26, c + 0.3, c + 0.41, vp.BACK, vp.PLATE))
    parts += vp.mirrors(x_ws - 0.2, bw, width / 2, belt + 0.15, vp.TRIM, height=0.2)
    rim = vp.RIM_COLORS[rng.integers(4)]
    for x in (x_fa, x_ra):
        parts += vp.wheel_pair(x, r, _u(rng, 0.22, 0.26) if x == x_fa else 0.26, bw, rim)
    return parts


def is_school_yellow(color: ArrayLike) -> bool:
    """Whether a bus colour is the school-bus yellow (which selects the bonneted school bus)."""
    r, g, b = np.asarray(color, dtype=np.float64)
    return r > 0.8 and 0.5 < g < 0.85 and b < 0.25


def build_bus(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """City bus (flat front, two doors, window band, optional roof AC unit and livery band) or,
    in school-bus yellow, a bonneted school bus with black rub rails."""
    length, width, height = dims
    school = is_school_yellow(color)
    bw = width / 2 - 0.005
    c, r = _u(rng, 0.25, 0.32), _u(rng, 0.48, 0.52)
    xf, xr = length / 2 - 0.01, -length / 2 + 0.01
    x_fa = xf - (_u(rng, 0.85, 1.0) if school else _u(rng, 2.4, 2.8))
    x_ra = xr + _u(rng, 2.8, 3.4)
    ac = (not school) and rng.uniform() < 0.6
    roof = height - (0.25 if ac else 0.0)
    hood = _u(rng, 1.1, 1.4) if school else 0.0
    x_face = xf - hood  # plane of the windscreen
    if school:
        front = [(xf, c + 0.1), (xf, 1.2), (xf - 0.15, 1.3), (x_face, 1.42), (x_face, 1.5)]
        front += [(x_face - 0.08, roof - 0.3), (x_face - 0.25, roof)]  # windscreen, roof
        ws_a, ws_b = (x_face, 1.5), (x_face - 0.08, roof - 0.3)
    else:
        front = [(xf, c + 0.1), (xf, roof - 0.35), (xf - 0.12, roof - 0.08), (xf - 0.35, roof)]
        ws_a, ws_b = (xf, 0.9), (xf, roof - 0.5)
    profile = [
        *front,
        (xr + 0.25, roof),
        (xr, roof - 0.2),
        (xr, c + 0.1),
        (xr + 0.1, c),
        *vp.wheel_arch(x_ra, r, c),
        *vp.wheel_arch(x_fa, r, c),
        (xf - 0.1, c),
    ]
    parts = [extruded_profile(profile, 2 * bw, color, bevel=0.08)]
    parts.append(_windscreen(ws_a, ws_b, bw - 0.15))
    if not school:
        parts.append(
            vp.flat_panel_x(
                xf, -(bw - 0.35), bw - 0.35, roof - 0.47, roof - 0.36, vp.FRONT, *vp.MARKER
            )
        )  # destination sign
    # Doors on the right (kerb) flank, glazed; the window band skips them there.
    if school:
        doors = [(x_fa - r - 0.95, x_fa - r - 0.15)]  # just behind the front wheel
    else:
        doors = [(xf - 1.45, xf - 0.35)]
        if length > 11.0:
            mid = 0.5 * (x_fa + x_ra) + 0.5
            doors.append((mid - 0.6, mid + 0.6))
    z_w0, z_w1 = (1.35 if school else 1.2), roof - 0.35
    x_w0, x_w1 = xr + 0.5, (x_face - 0.35 if school else xf - 0.4)
    n = max(2, round((x_w1 - x_w0) / 1.4))
    pitch = (x_w1 - x_w0) / n
    for s in (1.0, -1.0):
        for k in range(n):
            a, b = x_w0 + k * pitch, x_w0 + (k + 1) * pitch - 0.1
            if s < 0 and any(a < d1 + 0.1 and b > d0 - 0.1 for d0, d1 in doors):
                continue
            parts.append(vp.flat_panel_y(s * bw, a, b, z_w0, z_w1, s, vp.GLASS))
    for d0, d1 in doors:
        parts.append(vp.flat_panel_y(-bw, d0, d1, c + 0.25, roof - 0.45, -1, vp.GLASS))
        xm = (d0 + d1) / 2  # seam between the two leaves, a little prouder than the glass
        z0, z1 = c + 0.25, roof - 0.45
        parts.append(vp.flat_panel_y(-bw, xm - 0.015, xm + 0.015, z0, z1, -1, vp.TRIM, None, 0.009))
    wheels = ((x_fa, r), (x_ra, r))
    if school:
        for z in (0.8, 1.1):
            parts += vp.flank_band(bw, xr + 0.2, x_face - 0.1, z, z + 0.05, vp.TRIM, wheels)
    elif rng.uniform() < 0.6:
        accent = BUS_ACCENTS[rng.integers(len(BUS_ACCENTS))]
        parts += vp.flank_band(bw, xr + 0.3, xf - 0.3, c + 0.25, 0.95, accent, wheels)
    if ac:
        parts.append(box((2.2, 1.6, 0.25), (x_fa - 1.5, 0.0, height - 0.125), (0.8, 0.8, 0.8)))
    zl = 0.85 if school else 0.5
    parts += vp.lamp_pair(xf, bw - 0.25, 0.3, zl, zl + 0.15, vp.FRONT, vp.HEADLIGHT)
    parts += vp.lamp_pair(xr, bw - 0.15, 0.16, 0.6, 1.05, vp.BACK, vp.TAILLIGHT)
    parts.append(
        vp.flat_panel_x(xr, -(bw - 0.4), bw - 0.4, roof - 1.2, roof - 0.5, vp.BACK, vp.GLASS)
    )
    parts.append(vp.flat_panel_x(xr, -0.26, 0.26, 0.45, 0.56, vp.BACK, vp.PLATE))
    rim = vp.RIM_COLORS[rng.integers(4)]
    parts += vp.wheel_pair(x_fa, r, 0.3, bw - 0.02, rim)
    parts += vp.wheel_pair(x_ra, r, 0.55, bw - 0.02, rim)  # twin rear tyres
    return parts


def build_ambulance(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Type-III ambulance: bonneted van cab with a light bar, a taller box module with a red
    (or, on a yellow body, green) stripe and red corner beacons."""
    length, width, height = dims
    bw = width / 2 - _u(rng, 0.15, 0.2)  # module half width; the cab is a bit narrower
    c, r = 0.2, _u(rng, 0.37, 0.42)
    xf, xr = length / 2 - 0.01, -length / 2 + 0.01
    x_fa, x_ra = xf - _u(rng, 0.75, 0.9), xr + _u(rng, 1.3, 1.6)
    cab_back = xf - _u(rng, 2.3, 2.6)
    cab_top = min(_u(rng, 2.2, 2.45), height - 0.3)
    hood = _u(rng, 0.9, 1.1)
    parts = truck_cab(
        cab_back - 0.1,
        xf,
        bw - 0.12,
        c + 0.1,
        cab_top,
        color,
        width / 2,
        hood=hood,
        rake=_u(rng, 0.5, 0.7),
        wheel=(x_fa, r),
    )
    m0 = 2 * r + 0.08  # module floor, above the rear wheels
    module = [(xr, m0), (cab_back, m0), (cab_back, height), (xr, height)]
    parts.append(extruded_profile(module, 2 * bw, color, bevel=0.05))
    parts.append(
        box(
            (cab_back - x_ra + 0.6, 1.0, m0 - 0.45),
            ((cab_back + x_ra - 0.6) / 2, 0.0, (m0 + 0.45) / 2),
            vp.CHASSIS,
        )
    )
    stripe = STRIPE_GREEN if np.asarray(color)[2] < 0.4 else STRIPE_RED
    zs = m0 + 0.25
    for s in (1.0, -1.0):
        parts.append(vp.flat_panel_y(s * bw, xr + 0.05, cab_back - 0.05, zs, zs + 0.2, s, stripe))
        parts.append(
            vp.flat_panel_y(s * (bw - 0.12), cab_back, xf - hood - 0.2, zs, zs + 0.2, s, stripe)
        )
        parts.append(
            vp.flat_panel_y(
                s * bw, xr + 0.1, xr + 0.35, height - 0.25, height - 0.08, s, *vp.BEACON_RED
            )
        )
        parts.append(
            vp.flat_panel_y(
                s * bw,
                cab_back - 0.35,
                cab_back - 0.1,
                height - 0.25,
                height - 0.08,
                s,
                *vp.BEACON_RED,
            )
        )
    parts += vp.lamp_pair(
        cab_back, bw - 0.2, 0.25, height - 0.22, height - 0.08, vp.FRONT, vp.BEACON_RED
    )
    parts += vp.lamp_pair(xr, bw - 0.2, 0.25, height - 0.22, height - 0.08, vp.BACK, vp.BEACON_RED)
    parts.append(
        vp.flat_panel_y(-bw, cab_back - 1.1, cab_back - 0.3, m0 + 0.75, height - 0.35, -1, vp.GLASS)
    )  # side door window
    for s in (1.0, -1.0):
        parts.append(
            vp.flat_panel_x(xr, s * 0.05, s * 0.6, m0 + 0.7, height - 0.45, vp.BACK, vp.GLASS)
        )
    parts += vp.lamp_pair(xr, bw - 0.1, 0.12, m0 + 0.05, m0 + 0.55, vp.BACK, vp.TAILLIGHT)
    parts.append(box((0.25, 2 * bw - 0.3, 0.15), (xr + 0.125, 0.0, m0 - 0.2), vp.TRIM))
    parts += vp.light_bar(
        cab_back + 0.55, cab_top, 0.28, bw - 0.35, 0.1, vp.BEACON_RED, vp.BEACON_BLUE
    )
    rim = vp.RIM_COLORS[rng.integers(4)]
    parts += vp.wheel_pair(x_fa, r, 0.24, bw - 0.12, rim) + vp.wheel_pair(
        x_ra, r, 0.45, bw - 0.02, rim
    )
    return parts
