"""Running gear of trucks: the cab (cab-over or bonneted) with its glass and front lamps, the
chassis frame, and the rear end (under-run bar, tail lamps, plate). Ground frame as in
:mod:`vehicle_parts`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gina3d.data.sources.synthetic import vehicle_parts as vp
from gina3d.data.sources.synthetic.primitives import box, extruded_profile, panel
from gina3d.geometry.mesh import Mesh


def truck_cab(
    x_back: float,
    x_front: float,
    half_width: float,
    z0: float,
    z1: float,
    color: ArrayLike,
    outer_half: float,
    hood: float = 0.0,
    rake: float = 0.25,
    mirror: bool = True,
    wheel: tuple[float, float] | None = None,
) -> list[Mesh]:
    """Cab of a truck or bus-like vehicle spanning x in [x_back, x_front], z in [z0, z1].

    ``hood`` > 0 gives a conventional (bonneted) cab with an engine hood that long in front
    of the windscreen; 0 gives a flat-fronted cab-over. ``rake`` is the horizontal run of the
    windscreen. Includes glass, head lamps, grille, bumper and (optionally) vp.mirrors reaching
    to ``outer_half``. ``wheel`` = (x, radius) of the front wheel cuts an arch for it.
    """
    height = z1 - z0
    x_ws = x_front - hood  # windscreen base line
    z_hood = z0 + (0.42 if hood > 0 else 0.4) * height
    z_ws0 = z_hood + (0.04 if hood > 0 else 0.02) * height
    arch = vp.wheel_arch(wheel[0], wheel[1], z0) if wheel is not None else []
    if arch and not (x_back + 0.05 < arch[0][0] and arch[-1][0] < x_front - 0.05):
        arch = []  # the wheel is not under the cab: no arch
    profile = [(x_back, z0), *arch, (x_front, z0), (x_front, z_hood)]
    if hood > 0:
        profile += [(x_ws, z_hood + 0.06), (x_ws, z_ws0)]
    profile += [(x_ws - rake, z1 - 0.06), (x_ws - rake - 0.08, z1), (x_back, z1)]
    bevel = 0.06
    parts = [extruded_profile(profile, 2 * half_width, color, bevel=bevel)]
    # Windscreen on the raked face (the full profile spans |y| <= half_width - bevel).
    hw = half_width - bevel - 0.04
    a = np.array([x_ws, 0.0, z_ws0])
    b = np.array([x_ws - rake, 0.0, z1 - 0.06])
    normal = np.array([b[2] - a[2], 0.0, rake])  # [3] outward normal of the raked face
    lo, hi = a + 0.07 * (b - a), a + 0.9 * (b - a)
    dy = np.array([0.0, hw, 0.0])
    ws = [lo - dy, lo + dy, hi + dy, hi - dy]
    parts.append(panel(ws, normal, vp.GLASS))
    # Door windows on both flanks (the flank cap is the profile inset by the bevel).
    zb, zt = z_ws0 + 0.05, z1 - 0.15

    def x_front_edge(z: float) -> float:  # follows the windscreen rake, clear of the bevel
        return x_ws - rake * (z - z_ws0) / (z1 - 0.06 - z_ws0) - 0.14

    xw0 = max(x_back + 0.2, x_front_edge(zt) - 1.0)
    for s in (1.0, -1.0):
        y = s * half_width
        door = [(xw0, y, zb), (x_front_edge(zb), y, zb), (x_front_edge(zt), y, zt), (xw0, y, zt)]
        parts.append(panel(door, vp.side(s), vp.GLASS))
    # Head lamps, grille, bumper and number plate on the front face.
    zl = z0 + 0.12 * height
    parts += vp.lamp_pair(x_front, half_width - 0.3, 0.3, zl, zl + 0.14, vp.FRONT, vp.HEADLIGHT)
    g = min(0.6, half_width - 0.5)
    parts.append(vp.flat_panel_x(x_front, -g, g, zl - 0.02, z_hood - 0.08, vp.FRONT, vp.TRIM))
    parts.append(
        box((0.12, 2 * half_width - 0.04, 0.22), (x_front - 0.06, 0.0, z0 + 0.02), vp.TRIM)
    )
    parts.append(vp.flat_panel_x(x_front, -0.26, 0.26, z0 - 0.05, z0 + 0.06, vp.FRONT, vp.PLATE))
    if mirror:
        parts += vp.mirrors(
            x_ws - rake - 0.15, half_width, outer_half, z1 - 0.45, vp.TRIM, height=0.35
        )
    return parts


def chassis_frame(x0: float, x1: float, z_top: float) -> Mesh:
    """Dark ladder frame between x0 and x1 whose top is at ``z_top``."""
    return box((x1 - x0, 0.95, 0.3), ((x0 + x1) / 2, 0.0, z_top - 0.15), vp.CHASSIS)


def rear_end(xr: float, half: float, z_lamp: float) -> list[Mesh]:
    """Under-run bar, tail lamps (bottom at ``z_lamp``) and plate at the back (x = ``xr``)."""
    return [
        box((0.12, 2 * half - 0.2, 0.14), (xr + 0.06, 0.0, 0.5), vp.TRIM),
        *vp.lamp_pair(xr, half - 0.2, 0.22, z_lamp, z_lamp + 0.12, vp.BACK, vp.TAILLIGHT),
        vp.flat_panel_x(xr, -0.26, 0.26, 0.6, 0.71, vp.BACK, vp.PLATE),
    ]


def front_cab(
    rng: np.random.Generator,
    xf: float,
    half: float,
    outer: float,
    top: float,
    color: ArrayLike,
    wheel: tuple[float, float],
    length: float = 2.0,
    hood: float = 0.0,
) -> tuple[list[Mesh], float]:
    """A truck cab ``length`` long (plus ``hood``) at the front x = ``xf``, floor 0.55-0.65 m,
    roof at ``top``, arch over the front ``wheel`` = (x, radius). Returns the parts and the x
    of the cab's back wall."""
    back = xf - hood - length
    z0, rake = float(rng.uniform(0.55, 0.65)), float(rng.uniform(0.15, 0.3))
    parts = truck_cab(back, xf, half, z0, top, color, outer, hood=hood, rake=rake, wheel=wheel)
    return parts, back
