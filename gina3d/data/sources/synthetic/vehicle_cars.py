"""Passenger-car bodies: sedan, hatchback, SUV, sports car, police car and pickup.

A car is an extruded side profile (nose, crowned hood, sill line, trunk or hatch, and wheel
arches cut into the bottom edge) topped by a tapered glasshouse (a frustum, narrower at the roof
by the tumblehome) carrying the windscreen, side and rear windows. Proportions are drawn from
the per-type ranges in :data:`CAR_PROPORTIONS`. Each builder takes the target AABB ``dims`` =
(length, width, height) [3] and returns parts in the ground frame (ground at z = 0, x in
[-L/2, L/2], y in [-W/2, W/2], z in [0, H]; the width includes the mirrors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from gina3d.data.sources.synthetic import vehicle_parts as vp
from gina3d.data.sources.synthetic.primitives import box, extruded_profile, frustum
from gina3d.geometry.mesh import Mesh

BEVEL = 0.06

# Ranges (lo, hi) in metres; *_frac are fractions of the length. belt: window-sill height,
# capped at roof - glass_min; nose_drop: top of the front face below the sill; tail_rise: top
# of the rear face above the sill; deck_frac: trunk (below ~0.035 a hatch); bed_frac: pickup bed.
# fmt: off
_COMMON = {"tyre_width": (0.21, 0.25), "front_overhang": (0.85, 1.0), "mirror": (0.08, 0.11)}
CAR_PROPORTIONS: dict[str, dict] = {
    "sedan": {**_COMMON, "clearance": (0.13, 0.17), "wheel_radius": (0.31, 0.35),
              "wheelbase_frac": (0.57, 0.61), "belt": (0.92, 1.0), "glass_min": 0.38,
              "nose_drop": (0.24, 0.32), "tail_rise": (0.0, 0.05), "hood_frac": (0.23, 0.27),
              "deck_frac": (0.12, 0.16), "windshield_run": (0.7, 0.9), "rear_run": (0.55, 0.8),
              "tumblehome": (0.08, 0.13), "side_windows": 2},
    "hatchback": {**_COMMON, "clearance": (0.13, 0.16), "wheel_radius": (0.29, 0.33),
                  "tyre_width": (0.19, 0.23), "front_overhang": (0.75, 0.9),
                  "wheelbase_frac": (0.6, 0.64), "belt": (0.92, 1.0), "glass_min": 0.4,
                  "nose_drop": (0.24, 0.32), "tail_rise": (-0.05, -0.05),
                  "hood_frac": (0.2, 0.24), "deck_frac": (0.01, 0.01),
                  "windshield_run": (0.65, 0.85), "rear_run": (0.35, 0.6),
                  "tumblehome": (0.07, 0.12), "mirror": (0.07, 0.1), "side_windows": 2},
    "suv": {**_COMMON, "clearance": (0.18, 0.24), "wheel_radius": (0.36, 0.41),
            "tyre_width": (0.24, 0.28), "wheelbase_frac": (0.56, 0.6), "belt": (1.05, 1.2),
            "glass_min": 0.5, "nose_drop": (0.15, 0.25), "tail_rise": (-0.04, -0.04),
            "hood_frac": (0.19, 0.23), "deck_frac": (0.01, 0.01), "windshield_run": (0.55, 0.75),
            "rear_run": (0.1, 0.25), "tumblehome": (0.06, 0.1), "mirror": (0.09, 0.12),
            "side_windows": 3},
    "sports_car": {**_COMMON, "clearance": (0.1, 0.13), "wheel_radius": (0.32, 0.35),
                   "tyre_width": (0.25, 0.29), "front_overhang": (0.9, 1.05),
                   "wheelbase_frac": (0.57, 0.6), "belt": (0.78, 0.86), "glass_min": 0.32,
                   "nose_drop": (0.2, 0.26), "tail_rise": (0.02, 0.02), "hood_frac": (0.3, 0.34),
                   "deck_frac": (0.06, 0.1), "windshield_run": (0.8, 1.0),
                   "rear_run": (0.9, 1.2), "tumblehome": (0.1, 0.14), "side_windows": 1},
    "pickup": {**_COMMON, "clearance": (0.2, 0.26), "wheel_radius": (0.38, 0.42),
               "tyre_width": (0.25, 0.29), "front_overhang": (0.9, 1.05),
               "wheelbase_frac": (0.6, 0.64), "belt": (1.22, 1.35), "glass_min": 0.55,
               "nose_drop": (0.15, 0.25), "tail_rise": (0.0, 0.0), "hood_frac": (0.2, 0.23),
               "deck_frac": (0.0, 0.0), "windshield_run": (0.55, 0.7), "rear_run": (0.06, 0.1),
               "tumblehome": (0.05, 0.08), "mirror": (0.1, 0.13), "side_windows": 2,
               "bed_frac": (0.3, 0.36)},
}
# fmt: on


@dataclass
class CarShape:
    """Proportions of a passenger car (metres, ground frame)."""

    length: float
    width: float  # including the mirrors
    roof_z: float  # top of the roof (below any light bar or roof rails)
    clearance: float
    wheel_radius: float
    tyre_width: float
    front_overhang: float  # nose to front axle
    wheelbase: float
    nose_z: float  # top of the vertical front face
    belt_z: float  # window sill; the hood meets the windscreen here
    tail_z: float  # top of the rear face
    hood: float  # nose to windscreen base
    deck: float  # tail to the rear-glass base (trunk); < 0.15 means a hatch
    windshield_run: float
    rear_run: float
    tumblehome: float  # per side, roof narrower than the sill
    mirror: float  # mirror reach beyond the body flank
    side_windows: int
    bed: float = 0.0  # pickup bed length behind the cab; 0 for none


def draw_shape(rng: np.random.Generator, kind: str, dims: np.ndarray, roof_z: float) -> CarShape:
    """A :class:`CarShape` of ``kind`` with every range of :data:`CAR_PROPORTIONS` drawn."""
    p = {
        k: float(rng.uniform(*v)) if isinstance(v, tuple) else v
        for k, v in CAR_PROPORTIONS[kind].items()
    }
    length, width = float(dims[0]), float(dims[1])
    belt = min(p["belt"], roof_z - p["glass_min"])
    hood, deck = p["hood_frac"] * length, p["deck_frac"] * length
    bed = p.get("bed_frac", 0.0) * length
    return CarShape(
        length=length,
        width=width,
        roof_z=roof_z,
        clearance=p["clearance"],
        wheel_radius=p["wheel_radius"],
        tyre_width=p["tyre_width"],
        front_overhang=p["front_overhang"],
        wheelbase=p["wheelbase_frac"] * length,
        nose_z=belt - p["nose_drop"],
        belt_z=belt,
        tail_z=belt + p["tail_rise"],
        hood=hood,
        deck=deck,
        windshield_run=p["windshield_run"],
        rear_run=min(p["rear_run"], length - hood - max(deck, bed) - p["windshield_run"] - 0.5),
        tumblehome=p["tumblehome"],
        mirror=p["mirror"],
        side_windows=1 if bed > 0.34 * length else int(p["side_windows"]),
        bed=bed,
    )


def car_parts(s: CarShape, color: ArrayLike, rim: ArrayLike) -> tuple[list[Mesh], dict]:
    """Body, glasshouse, glass, lamps, plates, mirrors and wheels of a car.

    Returns the parts and a dict of landmarks (roof extents, flank y, ...) for type extras.
    """
    xf, xr = s.length / 2 - 0.01, -s.length / 2 + 0.01
    bw, c = s.width / 2 - s.mirror, s.clearance
    x_fa = xf - s.front_overhang
    x_ra = x_fa - s.wheelbase
    x_ws = xf - s.hood
    x_rw = xr + (s.bed if s.bed > 0 else s.deck)
    floor_z = s.belt_z - 0.5
    hood_mid = (xf - 0.45 * s.hood, s.nose_z + 0.7 * (s.belt_z - s.nose_z))  # crowned hood
    profile = [
        (xf, c + 0.14),
        (xf, s.nose_z),
        (xf - 0.08, s.nose_z + 0.03),
        hood_mid,
        (x_ws, s.belt_z),
        (x_rw, s.belt_z),
    ]
    if s.bed > 0:
        profile += [(x_rw, floor_z), (xr, floor_z)]
        rear_top = floor_z
    elif s.deck >= 0.15:
        profile += [(xr + 0.1, s.tail_z), (xr, s.tail_z - 0.06)]
        rear_top = s.tail_z - 0.06
    else:
        profile += [(xr, s.tail_z)]
        rear_top = s.tail_z
    profile += [(xr, c + 0.15), (xr + 0.15, c)]
    profile += vp.wheel_arch(x_ra, s.wheel_radius, c) + vp.wheel_arch(x_fa, s.wheel_radius, c)
    profile += [(xf - 0.15, c)]
    parts = [extruded_profile(profile, 2 * bw, color, bevel=BEVEL)]

    # Glasshouse: a frustum on the sill, narrower and shorter at the roof, glazed all round.
    gb = bw - BEVEL - 0.02
    gt = gb - s.tumblehome
    xt0, xt1 = x_rw + s.rear_run, x_ws - s.windshield_run
    zb, zt = s.belt_z, s.roof_z
    parts.append(frustum((x_rw, x_ws, -gb, gb), (xt0, xt1, -gt, gt), zb, zt, color))
    front = np.array([(x_ws, -gb, zb), (x_ws, gb, zb), (xt1, gt, zt), (xt1, -gt, zt)])
    rear = np.array([(x_rw, gb, zb), (x_rw, -gb, zb), (xt0, -gt, zt), (xt0, gt, zt)])
    up = zt - zb
    parts.append(vp.face_panel(front, 0.04, 0.96, 0.05, 0.93, (up, 0, s.windshield_run), vp.GLASS))
    parts.append(vp.face_panel(rear, 0.07, 0.93, 0.1, 0.88, (-up, 0, s.rear_run), vp.GLASS))
    for k in (1.0, -1.0):
        flank = np.array(
            [(x_rw, k * gb, zb), (x_ws, k * gb, zb), (xt1, k * gt, zt), (xt0, k * gt, zt)]
        )
        normal = (0, k * up, s.tumblehome)
        parts += vp.window_row(flank, normal, s.side_windows, 0.1, 0.86, 0.06, 0.07)

    # Lamps, grille, plates, mirrors, wheels.
    z_lamp = s.nose_z - 0.15
    parts += vp.lamp_pair(xf, bw - 0.22, 0.3, z_lamp, z_lamp + 0.11, vp.FRONT, vp.HEADLIGHT)
    g = max(bw - 0.42, 0.2)
    parts.append(vp.flat_panel_x(xf, -g, g, s.nose_z - 0.2, s.nose_z - 0.05, vp.FRONT, vp.TRIM))
    parts.append(vp.flat_panel_x(xf, -0.5, 0.5, c + 0.17, c + 0.27, vp.FRONT, vp.TRIM))
    parts.append(vp.flat_panel_x(xf, -0.26, 0.26, c + 0.3, c + 0.41, vp.FRONT, vp.PLATE))
    if s.bed <= 0:
        z_tail = rear_top - 0.2
        parts += vp.lamp_pair(xr, bw - 0.19, 0.3, z_tail, z_tail + 0.14, vp.BACK, vp.TAILLIGHT)
        parts.append(vp.flat_panel_x(xr, -0.26, 0.26, c + 0.32, c + 0.43, vp.BACK, vp.PLATE))
    parts += vp.mirrors(x_ws - 0.22, bw, s.width / 2, s.belt_z + 0.1, color)
    for x in (x_fa, x_ra):
        parts += vp.wheel_pair(x, s.wheel_radius, s.tyre_width, bw, rim)
    marks = {
        "roof_x": (xt0, xt1),
        "roof_half": gt,
        "flank": bw,
        "axles": (x_ra, x_fa),
        "xr": xr,
        "floor_z": floor_z,
        "cab_back": x_rw,
    }
    return parts, marks


def _rim(rng: np.random.Generator) -> tuple[float, float, float]:
    return vp.RIM_COLORS[rng.integers(len(vp.RIM_COLORS))]


def build_sedan(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Three-box saloon with a separate trunk."""
    return car_parts(draw_shape(rng, "sedan", dims, dims[2]), color, _rim(rng))[0]


def build_hatchback(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Compact two-box car with a steep hatch."""
    return car_parts(draw_shape(rng, "hatchback", dims, dims[2]), color, _rim(rng))[0]


def build_suv(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Sport utility vehicle, optionally with roof rails."""
    rails = rng.uniform() < 0.5
    shape = draw_shape(rng, "suv", dims, dims[2] - (0.05 if rails else 0.0))
    parts, m = car_parts(shape, color, _rim(rng))
    if rails:
        (x0, x1), y = m["roof_x"], m["roof_half"] - 0.08
        size = (x1 - x0 - 0.1, 0.05, 0.05)
        parts += [box(size, ((x0 + x1) / 2, k * y, dims[2] - 0.025), vp.TRIM) for k in (1, -1)]
    return parts


def build_sports_car(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Low, wide coupe with a long hood, a fastback and sometimes a rear wing."""
    shape = draw_shape(rng, "sports_car", dims, dims[2])
    parts, m = car_parts(shape, color, _rim(rng))
    if rng.uniform() < 0.4:
        xr, z = m["xr"], shape.belt_z + 0.12
        parts.append(box((0.22, 2 * m["flank"] - 0.2, 0.03), (xr + 0.14, 0.0, z), vp.TRIM))
        parts += [box((0.05, 0.04, 0.1), (xr + 0.16, k * 0.45, z - 0.06), vp.TRIM) for k in (1, -1)]
    return parts


def build_police(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Police sedan (or SUV when tall) in a livery matching its colour, with a roof light bar:
    black with white doors, white with a blue band, or blue with a white band."""
    bar_h = float(rng.uniform(0.1, 0.14))
    roof_z = dims[2] - bar_h
    shape = draw_shape(rng, "sedan" if dims[2] < 1.66 else "suv", dims, roof_z)
    parts, m = car_parts(shape, color, vp.RIM_COLORS[1])
    (x_ra, x_fa), bw, r = m["axles"], m["flank"], shape.wheel_radius
    rgb, belt = np.asarray(color), shape.belt_z
    if rgb.mean() < 0.2:  # black and white: white doors
        band, z0, z1 = vp.WHITE, shape.clearance + 0.15, belt - 0.04
    elif rgb.min() > 0.75:  # white: blue band
        band, z0, z1 = (0.05, 0.15, 0.55), belt - 0.35, belt - 0.15
    else:  # blue or other: white band
        band, z0, z1 = vp.WHITE, belt - 0.33, belt - 0.17
    parts += vp.flank_band(bw, x_ra + r + 0.15, x_fa - r - 0.15, z0, z1, band)
    (xt0, xt1), half = m["roof_x"], min(m["roof_half"] - 0.05, 0.62)
    xc = xt0 + 0.6 * (xt1 - xt0)
    parts += vp.light_bar(xc, roof_z, 0.26, half, bar_h, vp.BEACON_RED, vp.BEACON_BLUE)
    return parts


def build_pickup(rng: np.random.Generator, dims: np.ndarray, color: ArrayLike) -> list[Mesh]:
    """Pickup truck: bonneted cab and an open cargo bed with side walls and a tailgate."""
    shape = draw_shape(rng, "pickup", dims, dims[2])
    parts, m = car_parts(shape, color, _rim(rng))
    xr, x_cab, bw, floor_z = m["xr"], m["cab_back"], m["flank"], m["floor_z"]
    top, t = shape.belt_z, 0.06  # bed rails at the sill height; wall thickness
    wall_h, z_mid = top - floor_z, (top + floor_z) / 2
    for k in (1.0, -1.0):
        parts.append(
            box((x_cab - xr, t, wall_h), ((xr + x_cab) / 2, k * (bw - t / 2), z_mid), color)
        )
        # tall tail lamps on the back of the bed walls
        lamp = vp.flat_panel_x(
            xr, k * (bw - t), k * bw, floor_z + 0.05, top - 0.05, vp.BACK, *vp.TAILLIGHT
        )
        parts.append(lamp)
    parts.append(box((t, 2 * (bw - t), wall_h - 0.03), (xr + t / 2, 0.0, z_mid), color))
    parts.append(
        vp.flat_panel_x(x_cab, -bw + t, bw - t, floor_z + 0.02, top - 0.05, vp.BACK, vp.TRIM)
    )
    parts.append(
        vp.flat_panel_x(xr, -0.26, 0.26, floor_z - 0.25, floor_z - 0.14, vp.BACK, vp.PLATE)
    )
    return parts
