"""Where a density field's surface is: the iso-field and level handed to marching cubes.

Density sigma is per *normalised* unit (the box spans 2 units along every axis,
models/field.py), and the renderer's opacity over a path is ``1 - exp(-integral sigma)``.
Two rules turn a density grid into an iso-field and a level (a third, "sdf", below, takes
a signed-distance grid):

``"opacity"`` (the default): a grid node is inside when light reaching it from outside the
box has lost at least ``opacity`` (by default ``default_opacity(class)``, below) of its
intensity along *each* of the six axis directions (+-x, +-y, +-z). The iso-field is ``tau``
= the smallest of the six optical depths ``integral sigma ds`` from the box face to the
node, and the level is ``-ln(1 - opacity)``. So the surface is where a view along an axis
reaches that opacity, as the renders show it; it does not depend on the density's absolute
scale (a sharp dense shell and a softer interior that renders just as opaque give the same
mesh) and only through discretisation on the grid resolution. A haze that nowhere reaches
that opacity gives no surface. Concavities open to one of the axes are carved; cavities
hidden from all six axis directions stay filled.

Which opacity: a field trained on single views is soft (what a patch shows says little about
the object's depth along the line of sight, so density spreads along it), and a lower
opacity gives a larger, fuller mesh. ``benchmarks/mesh_calibration.py`` measures both sides
of the trade on reconstructions with ground-truth meshes: the Chamfer distance (best near
0.3 for both classes) and how far the mesh falls short of its box. Vehicles reach their box
at 0.3 (within 7 % on every axis); pedestrians, whose limbs are a faint haze, fall 15 %
short there, so their default is 0.1 (within 6 % on every axis, at a 57 % larger Chamfer
distance): an asset should fill the box it was asked for. ``OPACITY_BY_CLASS`` holds the
choice and ``default_opacity`` applies it; ``--mesh-opacity`` overrides it.

``"density"``: the iso-surface ``sigma = level``. ``density_level(opacity, step)`` gives the
density at which a slab ``step`` normalised units thick has that opacity,
``-ln(1 - opacity) / step``; e.g. 0.5 over one voxel of a 128 grid (step 2/128) is 44.4.
That level suits fields trained to sharp surfaces; a field whose object renders opaque
with sigma of a few units (what short CPU trainings give: an early ``cpu`` checkpoint peaks
near sigma 1.3) has no surface at it, which is why it is not the default.

``"sdf"``: fields that predict a signed distance (``model.field_type = "sdf"``,
models/sdf.py) have their surface at the distance's zero level, for every class: the
iso-field is ``-sdf`` (high inside) and the level 0. No opacity enters, so no per-class
table either. ``resolve_rule`` picks the rule for a field: "sdf" when it has a distance
and no opacity or level is asked for, else the opacity rule at the class default.
"""

from __future__ import annotations

import math

import numpy as np

from gina3d.errors import Gina3dError

RULES = ("opacity", "density", "sdf")
OPACITY = 0.3
"""Default opacity of the "opacity" rule when the class is unknown (``default_opacity``);
near the Chamfer optimum, calibrated on reconstructions: meshes of 40 vehicles and 40
pedestrians of the synthetic test split, reconstructed by the 30-minute ``cpu`` stage-1 run,
against their ground-truth meshes. Mean Chamfer distance (m^2) at opacity 0.1 / 0.2 / 0.3 /
0.4 / 0.5: vehicles 0.103 / 0.086 / 0.079 / 0.080 / 0.089, pedestrians 0.023 / 0.018 /
0.0149 / 0.0147 / 0.017 (docs/assets.md)."""


OPACITY_BY_CLASS = {"vehicle": 0.3, "pedestrian": 0.1, "cyclist": 0.1}
"""Default surface opacity per class: the largest opacity on the calibration grid (0.05,
0.1, 0.15, 0.2, 0.3, 0.4, 0.5) whose reconstructed meshes fall short of their box by at most
7 % on average on every axis (``benchmarks/mesh_calibration.py --max-extent-error 0.07``;
the 30-minute ``cpu`` run, 40 test objects per class): vehicle 0.3 (mean shortfall
1.3/6.7/3.1 % in length/width/height, Chamfer 0.079 m^2), pedestrian 0.1 (4.9/5.9/2.6 %,
Chamfer 0.023 m^2; at 0.3 it is 15.5/14.5/7.9 %). Cyclists take the pedestrian value by
analogy (thin parts); the synthetic world has none to calibrate on."""


def default_opacity(class_name: str | None) -> float:
    """The "opacity" rule's default for an asset of ``class_name`` (``OPACITY`` for None)."""
    if class_name is None:
        return OPACITY
    if class_name not in OPACITY_BY_CLASS:
        known = ", ".join(OPACITY_BY_CLASS)
        raise Gina3dError(f"unknown class '{class_name}' for the mesh opacity (classes: {known})")
    return OPACITY_BY_CLASS[class_name]


def resolve_rule(
    has_sdf: bool,
    class_name: str | None = None,
    opacity: float | None = None,
    level: float | None = None,
    rule: str = "auto",
) -> tuple[str, float | None]:
    """(rule, opacity) of a field's surface: ``level`` -> "density"; an explicit ``rule``
    as given; "auto": "sdf" for a field with a signed distance unless an ``opacity`` is
    given, else "opacity" at ``opacity`` or the class default. The opacity is None
    unless the rule is "opacity"."""
    if level is not None:
        rule = "density"
    elif rule == "auto":
        rule = "sdf" if has_sdf and opacity is None else "opacity"
    if rule not in RULES:
        raise Gina3dError(f"unknown mesh rule '{rule}' (rules: {', '.join(RULES)})")
    if rule == "sdf" and not has_sdf:
        raise Gina3dError("mesh rule 'sdf' needs a field that predicts a signed distance")
    if rule != "opacity":
        return rule, None
    return rule, default_opacity(class_name) if opacity is None else float(opacity)


def density_level(opacity: float = OPACITY, step: float = 2.0 / 128) -> float:
    """Density (per normalised unit) at which a slab ``step`` thick has opacity ``opacity``."""
    if not 0.0 < opacity < 1.0 or step <= 0:
        raise Gina3dError(
            f"mesh level: opacity must be in (0, 1) and step > 0 (got {opacity}, {step})"
        )
    return -math.log(1.0 - opacity) / step


def optical_depth(sigma: np.ndarray) -> np.ndarray:
    """min over the six axis directions of the optical depth from the box face [Rx,Ry,Rz].

    ``sigma`` [Rx,Ry,Rz] on the node grid spanning the box (``Ri`` nodes over 2 normalised
    units, step ``2 / (Ri - 1)``, the first and last on the faces). Integrated with the
    trapezoid rule from the face node, like the renderer, which starts at the box.
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    tau = np.full(sigma.shape, np.inf)
    for axis in range(3):
        step = 2.0 / (sigma.shape[axis] - 1)
        s = np.moveaxis(sigma, axis, 0)
        forward = (np.cumsum(s, axis=0) - 0.5 * s - 0.5 * s[:1]) * step
        back = s[::-1]
        backward = (np.cumsum(back, axis=0) - 0.5 * back - 0.5 * back[:1])[::-1] * step
        tau = np.minimum(tau, np.moveaxis(np.minimum(forward, backward), 0, axis))
    return tau.astype(np.float32)


def surface_field(
    sigma: np.ndarray, rule: str = "opacity", opacity: float = OPACITY, level: float | None = None
) -> tuple[np.ndarray, float]:
    """(iso-field [Rx,Ry,Rz], level) for marching cubes; the field is high inside.

    ``sigma`` holds densities, or signed distances for the "sdf" rule."""
    if rule == "sdf":
        return -np.asarray(sigma, dtype=np.float32), 0.0
    if rule == "opacity":
        if not 0.0 < opacity < 1.0:
            raise Gina3dError(f"mesh opacity must be in (0, 1), got {opacity}")
        return optical_depth(sigma), -math.log(1.0 - opacity)
    if rule == "density":
        level = density_level(opacity) if level is None else float(level)
        if not level > 0:
            raise Gina3dError(f"mesh density level must be positive, got {level}")
        return np.asarray(sigma, dtype=np.float32), level
    raise Gina3dError(f"unknown mesh rule '{rule}' (rules: {', '.join(RULES)})")
