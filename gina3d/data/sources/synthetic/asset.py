"""An object asset of the synthetic world: a mesh in its object frame plus its class labels.

Object frame: the centre of the mesh's axis-aligned bounding box (AABB) at the origin, x
forward, y left, z up, metres. The object's box size is the AABB extents, so the bottom of
the wheels or feet lies at z = -size[2] / 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gina3d.geometry.mesh import Mesh

ASSET_CLASSES = ("vehicle", "pedestrian")


@dataclass
class Asset:
    """A mesh placed in its object frame, with labels.

    mesh: the geometry, AABB centred at the origin (see :func:`centred`).
    cls: "vehicle" or "pedestrian".
    subtype: the vehicle body type ("sedan", "bus", ...), the pedestrian kind ("adult",
        "child"), or for user assets the name of the folder the file came from.
    source: "procedural", or the path of the user's mesh file.
    """

    mesh: Mesh
    cls: str
    subtype: str
    source: str = "procedural"

    def __post_init__(self) -> None:
        if self.cls not in ASSET_CLASSES:
            raise ValueError(f"asset class must be one of {ASSET_CLASSES}, got {self.cls!r}")

    @property
    def size(self) -> np.ndarray:
        """[3] float64 AABB extents: length (x), width (y), height (z) in metres."""
        lo, hi = self.mesh.bounds.astype(np.float64)
        return hi - lo


def centred(mesh: Mesh) -> Mesh:
    """A copy of ``mesh`` translated so that its AABB centre is at the origin.

    Colours, emission, uvs and texture are kept.
    """
    if len(mesh.vertices) == 0:
        return mesh
    lo, hi = mesh.bounds.astype(np.float64)
    v = mesh.vertices.astype(np.float64) - (lo + hi) / 2  # [V,3]
    return Mesh(v, mesh.faces.copy(), mesh.colors, mesh.emissive, mesh.uvs, mesh.texture)
