"""Parts shared by the procedural vehicle bodies: wheels and wheel arches, glass, lamps, plates,
livery bands, mirrors and light bars.

All parts are built in a vehicle's ground frame: x forward, y left, z up, the ground at
z = 0 and the vehicle's length centred on x = 0. Lamps and glass are single-sided panels laid
a few millimetres proud of the surface they sit on.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gina3d.data.sources.synthetic.primitives import box, cylinder, panel
from gina3d.geometry.mesh import Mesh

GLASS = (0.07, 0.10, 0.14)  # dark bluish tinted glass
TYRE = (0.035, 0.035, 0.04)
TRIM = (0.06, 0.06, 0.065)  # black plastic: grilles, bumpers, seals
CHASSIS = (0.12, 0.12, 0.13)
PLATE = (0.88, 0.88, 0.85)
RIM_COLORS = ((0.62, 0.63, 0.65), (0.45, 0.46, 0.48), (0.25, 0.25, 0.27), (0.75, 0.76, 0.78))
HEADLIGHT = ((0.85, 0.86, 0.85), (1.0, 0.92, 0.75))  # (albedo, emission): warm white
TAILLIGHT = ((0.55, 0.04, 0.04), (1.0, 0.08, 0.05))  # red
MARKER = ((0.85, 0.45, 0.05), (1.0, 0.55, 0.05))  # amber side/front markers and beacons
BEACON_RED = ((0.7, 0.05, 0.05), (1.0, 0.05, 0.05))
BEACON_BLUE = ((0.05, 0.1, 0.7), (0.1, 0.25, 1.0))
WHITE = (0.92, 0.92, 0.9)

FRONT = np.array([1.0, 0.0, 0.0])
BACK = np.array([-1.0, 0.0, 0.0])


def side(sign: float) -> np.ndarray:
    """Outward normal [3] of the left (+1) or right (-1) flank."""
    return np.array([0.0, float(sign), 0.0])


def wheel_pair(
    x: float, radius: float, tyre_width: float, outer_y: float, rim_color: ArrayLike
) -> list[Mesh]:
    """Left and right wheels of one axle at ``x``: a dark tyre whose outer face is at
    |y| = ``outer_y`` and a grey rim disc standing 1 cm proud of it (never past ``outer_y``)."""
    parts = []
    for s in (1.0, -1.0):
        y_out, y_in = s * (outer_y - 0.01), s * (outer_y - 0.01 - tyre_width)
        # 16 segments put a tyre vertex exactly at the contact point z = 0.
        parts.append(cylinder((x, y_in, radius), (x, y_out, radius), radius, TYRE, segments=16))
        y_rim0, y_rim1 = s * (outer_y - 0.03), s * outer_y
        parts.append(
            cylinder(
                (x, y_rim0, radius), (x, y_rim1, radius), 0.62 * radius, rim_color, segments=10
            )
        )
    return parts


def wheel_arch(xw: float, radius: float, floor_z: float) -> list[tuple[float, float]]:
    """Points [7] (x, z) of a wheel arch cut into a body's bottom edge at z = ``floor_z`` over a
    wheel centred at (``xw``, ``radius``), from its rear foot over the top to its front foot.
    Empty when the wheel does not reach the body."""
    ra = radius + 0.045
    if floor_z >= radius + ra:
        return []
    alpha = np.arcsin(np.clip((radius - floor_z) / ra, -1.0, 1.0))
    angles = np.linspace(np.pi + alpha, -alpha, 7)
    return [(xw + ra * np.cos(a), radius + ra * np.sin(a)) for a in angles]


def face_point(face: np.ndarray, s: float, h: float) -> np.ndarray:
    """Bilinear point [3] of a planar quad [4,3] ordered (s,h) = (0,0), (1,0), (1,1), (0,1)."""
    return (
        ((1 - s) * (1 - h)) * face[0]
        + (s * (1 - h)) * face[1]
        + (s * h) * face[2]
        + ((1 - s) * h) * face[3]
    )


def face_panel(
    face: ArrayLike,
    s0: float,
    s1: float,
    h0: float,
    h1: float,
    outward: ArrayLike,
    color: ArrayLike,
    emissive: ArrayLike | None = None,
    offset: float = 0.006,
) -> Mesh:
    """Panel covering the (s, h) sub-rectangle [s0,s1] x [h0,h1] of a planar quad face."""
    f = np.asarray(face, dtype=np.float64)
    corners = [face_point(f, s, h) for s, h in ((s0, h0), (s1, h0), (s1, h1), (s0, h1))]
    return panel(corners, outward, color, emissive, offset=offset)


def window_row(
    face: ArrayLike,
    outward: ArrayLike,
    count: int,
    h0: float = 0.08,
    h1: float = 0.9,
    margin: float = 0.05,
    pillar: float = 0.05,
) -> list[Mesh]:
    """``count`` glass panes side by side along the s axis of a face, separated by pillars."""
    span = (1 - 2 * margin - (count - 1) * pillar) / count
    return [
        face_panel(
            face,
            margin + k * (span + pillar),
            margin + k * (span + pillar) + span,
            h0,
            h1,
            outward,
            GLASS,
        )
        for k in range(count)
    ]


def lamp_pair(
    x: float,
    y_center: float,
    width: float,
    z0: float,
    z1: float,
    facing: np.ndarray,
    lamp: tuple[ArrayLike, ArrayLike],
) -> list[Mesh]:
    """Two lamps on the plane at ``x`` facing ``facing`` (FRONT or BACK), centred at
    y = +-``y_center``; ``lamp`` = (albedo, emission)."""
    parts = []
    for s in (1.0, -1.0):
        y0, y1 = s * y_center - width / 2, s * y_center + width / 2
        corners = [(x, y0, z0), (x, y1, z0), (x, y1, z1), (x, y0, z1)]
        parts.append(panel(corners, facing, lamp[0], lamp[1]))
    return parts


def flat_panel_x(
    x: float,
    y0: float,
    y1: float,
    z0: float,
    z1: float,
    facing: np.ndarray,
    color: ArrayLike,
    emissive: ArrayLike | None = None,
    offset: float = 0.006,
) -> Mesh:
    """A rectangle on the plane at ``x`` facing FRONT or BACK (plates, grilles, doors)."""
    corners = [(x, y0, z0), (x, y1, z0), (x, y1, z1), (x, y0, z1)]
    return panel(corners, facing, color, emissive, offset=offset)


def flat_panel_y(
    y: float,
    x0: float,
    x1: float,
    z0: float,
    z1: float,
    sign: float,
    color: ArrayLike,
    emissive: ArrayLike | None = None,
    offset: float = 0.006,
) -> Mesh:
    """A rectangle on the flank plane at ``y`` facing left (+1) or right (-1)."""
    corners = [(x0, y, z0), (x1, y, z0), (x1, y, z1), (x0, y, z1)]
    return panel(corners, side(sign), color, emissive, offset=offset)


def flank_band(
    half: float,
    x0: float,
    x1: float,
    z0: float,
    z1: float,
    color: ArrayLike,
    wheels: tuple[tuple[float, float], ...] = (),
) -> list[Mesh]:
    """Horizontal band (livery stripe, rub rail) on both flanks at |y| = ``half`` from x0 to x1,
    interrupted where it would cross a wheel arch; ``wheels`` = ((x, radius), ...)."""
    pieces = [(x0, x1)]
    for xw, r in wheels:
        if z0 > 2 * r + 0.1:
            continue
        g0, g1 = xw - r - 0.1, xw + r + 0.1
        pieces = [seg for a, b in pieces for seg in ((a, min(b, g0)), (max(a, g1), b))]
    return [
        flat_panel_y(s * half, a, b, z0, z1, s, color)
        for s in (1.0, -1.0)
        for a, b in pieces
        if b - a > 0.05
    ]


def mirrors(
    x: float, body_half: float, outer_half: float, z: float, color: ArrayLike, height: float = 0.12
) -> list[Mesh]:
    """Door mirrors reaching from the body flank (|y| = ``body_half``) to ``outer_half``."""
    reach = outer_half - body_half + 0.03
    return [
        box((0.09, reach, height), (x, s * (outer_half - reach / 2), z), color) for s in (1.0, -1.0)
    ]


def light_bar(
    x: float,
    z_base: float,
    length: float,
    half_width: float,
    height: float,
    left: tuple[ArrayLike, ArrayLike],
    right: tuple[ArrayLike, ArrayLike],
) -> list[Mesh]:
    """Roof light bar: a dark base with glowing beacon halves (``left`` on +y, ``right`` on -y),
    occupying z in [z_base, z_base + height]."""
    base_h = 0.3 * height
    parts = [box((length, 2 * half_width, base_h), (x, 0.0, z_base + base_h / 2), TRIM)]
    cap_h = height - base_h
    for s, lamp in ((1.0, left), (-1.0, right)):
        centre = (x, s * half_width / 2, z_base + base_h + cap_h / 2)
        parts.append(box((0.9 * length, 0.95 * half_width, cap_h), centre, lamp[0], lamp[1]))
    return parts
