"""Procedural vehicles: body types, their sampling frequency, sizes and paint colours.

:func:`sample_vehicle` draws a body type from :data:`VEHICLE_TYPE_FREQUENCY` (a long-tailed
street mix: sedans and SUVs common, emergency, construction and trailers rare), a size from
:data:`VEHICLE_DIMENSIONS`, a colour from :func:`sample_vehicle_color`, and builds the mesh
with the type's builder. Sizes are the asset's AABB extents (length, width including mirrors,
height including light bars or roof rails), metres. All randomness comes from the generator
passed in: the same seed gives the same mesh.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gina3d.data.sources.synthetic.asset import Asset, centred
from gina3d.data.sources.synthetic.vehicle_cars import (
    build_hatchback,
    build_pickup,
    build_police,
    build_sedan,
    build_sports_car,
    build_suv,
)
from gina3d.data.sources.synthetic.vehicle_construction import build_construction
from gina3d.data.sources.synthetic.vehicle_heavy import (
    build_box_truck,
    build_fire_truck,
    build_garbage_truck,
    build_trailer,
)
from gina3d.data.sources.synthetic.vehicle_vans import build_ambulance, build_bus, build_van
from gina3d.geometry.mesh import Mesh

Builder = Callable[[np.random.Generator, np.ndarray, np.ndarray], list[Mesh]]

VEHICLE_TYPES: tuple[str, ...] = (
    "sedan",
    "hatchback",
    "suv",
    "pickup",
    "van",
    "sports_car",
    "bus",
    "box_truck",
    "trailer",
    "garbage_truck",
    "construction",
    "ambulance",
    "police",
    "fire_truck",
)

VEHICLE_TYPE_FREQUENCY: dict[str, float] = {
    "sedan": 0.28,
    "suv": 0.225,
    "hatchback": 0.10,
    "pickup": 0.09,
    "van": 0.07,
    "sports_car": 0.03,
    "box_truck": 0.04,
    "bus": 0.035,
    "trailer": 0.025,
    "garbage_truck": 0.02,
    "construction": 0.02,
    "ambulance": 0.02,
    "police": 0.025,
    "fire_truck": 0.02,
}

# (length, width, height) ranges in metres of the AABB: [3,2] per type.
VEHICLE_DIMENSIONS: dict[str, tuple[tuple[float, float], ...]] = {
    "sedan": ((4.3, 5.1), (1.9, 2.1), (1.38, 1.55)),
    "hatchback": ((3.6, 4.4), (1.8, 2.0), (1.42, 1.62)),
    "suv": ((4.3, 5.2), (1.95, 2.2), (1.62, 1.95)),
    "pickup": ((5.0, 6.1), (2.0, 2.25), (1.75, 2.0)),
    "van": ((4.8, 6.3), (2.05, 2.35), (1.9, 2.75)),
    "sports_car": ((4.2, 4.8), (1.95, 2.1), (1.12, 1.32)),
    "bus": ((10.5, 13.0), (2.45, 2.6), (2.9, 3.4)),
    "box_truck": ((6.5, 10.0), (2.5, 2.9), (3.0, 3.8)),
    "trailer": ((10.0, 16.2), (2.5, 2.6), (3.6, 4.1)),
    "garbage_truck": ((8.0, 10.5), (2.55, 2.9), (3.3, 3.9)),
    "construction": ((7.0, 10.0), (2.55, 2.9), (3.2, 3.9)),
    "ambulance": ((5.6, 7.2), (2.3, 2.7), (2.5, 3.0)),
    "police": ((4.7, 5.2), (1.95, 2.2), (1.5, 2.05)),
    "fire_truck": ((8.5, 11.5), (2.6, 2.9), (3.0, 3.6)),
}

_BUILDERS: dict[str, Builder] = {
    "sedan": build_sedan,
    "hatchback": build_hatchback,
    "suv": build_suv,
    "pickup": build_pickup,
    "van": build_van,
    "sports_car": build_sports_car,
    "bus": build_bus,
    "box_truck": build_box_truck,
    "trailer": build_trailer,
    "garbage_truck": build_garbage_truck,
    "construction": build_construction,
    "ambulance": build_ambulance,
    "police": build_police,
    "fire_truck": build_fire_truck,
}

# Paint colours: name -> (rgb variants [K,3]).
_PAINT: dict[str, tuple[tuple[float, float, float], ...]] = {
    "white": ((0.9, 0.9, 0.88), (0.93, 0.93, 0.93), (0.86, 0.87, 0.88)),
    "silver": ((0.68, 0.69, 0.71), (0.6, 0.61, 0.63)),
    "grey": ((0.4, 0.41, 0.43), (0.3, 0.31, 0.33)),
    "black": ((0.035, 0.035, 0.04), (0.06, 0.06, 0.065)),
    "blue": ((0.08, 0.18, 0.45), (0.05, 0.09, 0.25), (0.2, 0.35, 0.6)),
    "red": ((0.6, 0.05, 0.05), (0.4, 0.04, 0.06), (0.75, 0.1, 0.08)),
    "green": ((0.06, 0.22, 0.12), (0.15, 0.3, 0.2)),
    "beige": ((0.62, 0.53, 0.4), (0.32, 0.2, 0.12), (0.5, 0.38, 0.25)),
    "yellow": ((0.9, 0.75, 0.1),),
    "orange": ((0.9, 0.4, 0.06),),
    "school_yellow": ((0.96, 0.7, 0.05),),
    "safety_yellow": ((0.95, 0.75, 0.05),),
    "fire_red": ((0.75, 0.04, 0.03),),
    "lime": ((0.8, 0.88, 0.1),),
    "navy": ((0.05, 0.1, 0.3),),
}

# Colour name -> probability; "general" is the street-wide mix used by ordinary cars.
_GENERAL = {
    "white": 0.25,
    "silver": 0.1,
    "grey": 0.1,
    "black": 0.2,
    "blue": 0.1,
    "red": 0.1,
    "green": 0.04,
    "beige": 0.06,
    "yellow": 0.03,
    "orange": 0.02,
}
_TYPE_COLORS: dict[str, dict[str, float]] = {
    "bus": {
        "school_yellow": 0.3,
        "white": 0.3,
        "blue": 0.12,
        "red": 0.1,
        "green": 0.08,
        "orange": 0.05,
        "silver": 0.05,
    },
    "ambulance": {"white": 0.88, "lime": 0.12},
    "police": {"black": 0.35, "white": 0.4, "navy": 0.2, "silver": 0.05},
    "fire_truck": {"fire_red": 0.85, "lime": 0.08, "white": 0.07},
    "construction": {"safety_yellow": 0.55, "orange": 0.3, "white": 0.15},
    "garbage_truck": {"white": 0.35, "green": 0.3, "blue": 0.1, "orange": 0.15, "grey": 0.1},
    "trailer": {"white": 0.7, "silver": 0.2, "red": 0.05, "blue": 0.05},
    "box_truck": {"white": 0.8, "silver": 0.1, "yellow": 0.04, "red": 0.03, "blue": 0.03},
    "sports_car": {
        "red": 0.25,
        "yellow": 0.1,
        "orange": 0.07,
        "blue": 0.12,
        "black": 0.2,
        "white": 0.15,
        "silver": 0.11,
    },
}


def _check_type(body_type: str) -> None:
    if body_type not in _BUILDERS:
        raise ValueError(
            f"unknown vehicle body type {body_type!r}; valid: {', '.join(VEHICLE_TYPES)}"
        )


def typical_vehicle_length(body_type: str) -> float:
    """Middle of the body type's length range in metres (4.6 m for unknown types)."""
    if body_type not in VEHICLE_DIMENSIONS:
        return 4.6
    lo, hi = VEHICLE_DIMENSIONS[body_type][0]
    return (lo + hi) / 2


def sample_vehicle_color(rng: np.random.Generator, body_type: str) -> np.ndarray:
    """Paint colour [3] in [0,1] for a body type, with a small random jitter.

    Ordinary cars follow the street mix (about 25% white, 20% grey/silver, 20% black, then
    blue, red, beige/brown, dark green, yellow, orange); buses are school-bus yellow or city
    colours, ambulances white (some lime), fire engines red, construction trucks safety yellow
    or orange, vans are white half of the time.
    """
    _check_type(body_type)
    table = _TYPE_COLORS.get(body_type, _GENERAL)
    if body_type == "van" and rng.uniform() < 0.5:
        table = {"white": 1.0}
    names = list(table)
    p = np.array([table[n] for n in names])
    name = names[rng.choice(len(names), p=p / p.sum())]
    variants = _PAINT[name]
    rgb = np.asarray(variants[rng.integers(len(variants))], dtype=np.float64)
    rgb = rgb * (1.0 + rng.uniform(-0.04, 0.04, 3)) + rng.uniform(-0.01, 0.01, 3)
    return np.clip(rgb, 0.0, 1.0)


def sample_vehicle_type(rng: np.random.Generator) -> str:
    """A body type drawn from :data:`VEHICLE_TYPE_FREQUENCY`."""
    p = np.array([VEHICLE_TYPE_FREQUENCY[t] for t in VEHICLE_TYPES])
    return VEHICLE_TYPES[rng.choice(len(VEHICLE_TYPES), p=p / p.sum())]


def sample_vehicle_dims(rng: np.random.Generator, body_type: str) -> np.ndarray:
    """(length, width, height) [3] in the type's ranges; length and width are correlated."""
    _check_type(body_type)
    ranges = np.asarray(VEHICLE_DIMENSIONS[body_type], dtype=np.float64)  # [3,2]
    size = rng.uniform()
    t = np.clip(0.6 * size + 0.4 * rng.uniform(size=3), 0.0, 1.0)
    t[2] = rng.uniform()
    return ranges[:, 0] + t * (ranges[:, 1] - ranges[:, 0])


def sample_vehicle(rng: np.random.Generator, body_type: str | None = None) -> Asset:
    """A procedural vehicle of ``body_type`` (drawn from the frequency table when None).

    Raises ValueError for an unknown body type, listing the valid ones.
    """
    if body_type is None:
        body_type = sample_vehicle_type(rng)
    _check_type(body_type)
    dims = sample_vehicle_dims(rng, body_type)
    color = sample_vehicle_color(rng, body_type)
    mesh = Mesh.merge(_BUILDERS[body_type](rng, dims, color))
    return Asset(centred(mesh), "vehicle", body_type)
