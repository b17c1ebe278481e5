"""Where a density field's surface is: the iso-field and level handed to marching cubes.

Density sigma is per *normalised* unit (the box spans 2 units along every axis,
models/field.py), and the renderer's opacity over a path is ``1 - exp(-integral sigma)``.
Two rules turn a density grid into an iso-field and a level:

``"opacity"`` (the default): a grid node is inside when light reaching it from outside the
box has lost at least ``opacity`` (``OPACITY`` = 0.3 by default) of its intensity along
*each* of the six axis directions (+-x, +-y, +-z). The iso-field is ``tau`` = the smallest
of the six optical depths ``integral sigma ds`` from the box face to the node, and the level
is ``-ln(1 - opacity)``. So the surface is where a view along an axis reaches that opacity,
as the renders show it; it does not depend on the density's absolute scale (a sharp
dense shell and a softer interior that renders just as opaque give the same mesh) and only
through discretisation on the grid resolution. A haze that nowhere reaches that opacity gives
no surface. Concavities open to one of the axes are carved; cavities hidden from all six
axis directions stay filled.

``"density"``: the iso-surface ``sigma = level``. ``density_level(opacity, step)`` gives the
density at which a slab ``step`` normalised units thick has that opacity,
``-ln(1 - opacity) / step``; e.g. 0.5 over one voxel of a 128 grid (step 2/128) is 44.4.
That level suits fields trained to sharp surfaces; a field whose object renders opaque
with sigma of a few units (what short CPU trainings give: an early ``cpu`` checkpoint peaks
near sigma 1.3) has no surface at it, which is why it is not the default.
"""

from __future__ import annotations

import math

import numpy as np

from gina3d.errors import Gina3dError

RULES = ("opacity", "density")
OPACITY = 0.3
"""Default opacity of the "opacity" rule, calibrated on reconstructions: meshes of 40
vehicles and 40 pedestrians of the synthetic test split, reconstructed by the 30-minute
``cpu`` stage-1 run, against their ground-truth meshes. Mean Chamfer distance (m^2) at
opacity 0.1 / 0.2 / 0.3 / 0.4 / 0.5: vehicles 0.107 / 0.096 / 0.094 / 0.098 / 0.108,
pedestrians 0.024 / 0.018 / 0.0154 / 0.0153 / 0.019 (docs/assets.md)."""


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
    """(iso-field [Rx,Ry,Rz], level) for marching cubes; the field is high inside."""
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
