"""A coloured triangle mesh: the synthetic world is built of them, and evaluation reads
ground-truth meshes into them.

Meshes are triangle soups with per-vertex attributes, so that flat-shaded boxy parts keep
sharp normals: the renderer computes a face normal per triangle. Coordinates are metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Mesh:
    """Triangle mesh with per-vertex albedo and emission (and an optional texture).

    vertices: [V,3] float32 positions in metres.
    faces: [F,3] int32 vertex indices, counter-clockwise seen from outside.
    colors: [V,3] float32 albedo in [0,1] (sRGB-ish, used as-is by the shader).
    emissive: [V,3] float32 light emitted when the object's lights are on (head/tail lights,
        lit windows, beacons); zeros elsewhere.
    uvs: [V,2] float32 texture coordinates, or None.
    texture: [h,w,3] uint8 image sampled with ``uvs`` and multiplied with ``colors``, or None.
    """

    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray
    emissive: np.ndarray = field(default=None)  # type: ignore[assignment]
    uvs: np.ndarray | None = None
    texture: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, dtype=np.float32).reshape(-1, 3)
        self.faces = np.asarray(self.faces, dtype=np.int32).reshape(-1, 3)
        colors = np.asarray(self.colors, dtype=np.float32)
        if colors.ndim == 1:
            colors = np.broadcast_to(colors, self.vertices.shape)
        self.colors = np.ascontiguousarray(colors, dtype=np.float32)
        if self.emissive is None:
            self.emissive = np.zeros_like(self.vertices)
        else:
            emissive = np.asarray(self.emissive, dtype=np.float32)
            if emissive.ndim == 1:
                emissive = np.broadcast_to(emissive, self.vertices.shape)
            self.emissive = np.ascontiguousarray(emissive, dtype=np.float32)

    @property
    def bounds(self) -> np.ndarray:
        """[2,3] min and max corner."""
        return np.stack([self.vertices.min(0), self.vertices.max(0)])

    def transformed(self, dst_from_src: np.ndarray) -> Mesh:
        """A copy with vertices mapped by a 4x4 transform (rigid or scale)."""
        v = self.vertices.astype(np.float64) @ dst_from_src[:3, :3].T + dst_from_src[:3, 3]
        return Mesh(v, self.faces.copy(), self.colors, self.emissive, self.uvs, self.texture)

    @staticmethod
    def merge(meshes: list[Mesh]) -> Mesh:
        """Concatenate meshes into one (textures are dropped: merge untextured meshes only)."""
        if not meshes:
            return Mesh(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)))
        offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
        return Mesh(
            np.concatenate([m.vertices for m in meshes]),
            np.concatenate([m.faces + o for m, o in zip(meshes, offsets, strict=False)]),
            np.concatenate([m.colors for m in meshes]),
            np.concatenate([m.emissive for m in meshes]),
        )
