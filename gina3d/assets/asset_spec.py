"""What ``asset_io.save_asset`` writes: an asset's contents and the options of its files.

``AssetContents`` is the asset itself (token grid, box, class, seed, conditions,
provenance); ``AssetOptions`` says how its folder is written (mesh format, resolution,
surface and texture, textured exports, turntable views and size). The commands build the
options from their shared flags (``options.asset_options``); docs/assets.md describes the
folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class AssetContents:
    """An asset to save: a stage-1 token grid and what it stands for."""

    tokens: Any
    """[T] integer token grid of the stage-1 model that decodes it (tensor, array or list)."""
    size_m: Any
    """(3,) box length (x), width (y), height (z) in metres: the box the normalised
    tri-plane is scaled to."""
    class_name: str | None = None
    """vehicle, pedestrian, cyclist, or None (not given)."""
    seed: int | None = None
    """The seed that reproduces the token grid, or None (e.g. a reconstruction)."""
    conditions: dict | None = None
    """What the sample was conditioned on (plain JSON values)."""
    extra: dict | None = None
    """Further provenance (plain JSON values), e.g. the stage-2 run or an edit's sources."""


@dataclass
class AssetOptions:
    """How an asset folder is written: its mesh and its turntable."""

    mesh_format: str = "glb"
    """Mesh file format: glb, ply or obj."""
    mesh_resolution: int = 128
    """Marching-cubes grid nodes per box axis."""
    mesh_opacity: float | None = None
    """Mesh surface where light from outside the box has reached this opacity; None: the
    class default (``surface.default_opacity``)."""
    mesh_level: float | None = None
    """Mesh surface at this density instead (rule ``density``); None: the opacity rule."""
    mesh_texture: str = "vertex"
    """Colour of ``mesh.<fmt>``: ``vertex`` (vertex colours, the mesh as extracted) or
    ``uv`` (GLB only: decimated to ``max_faces``, UV-unwrapped, with a baked texture)."""
    texture_size: int = 512
    """Side in texels of baked textures (``mesh_texture="uv"`` and the exports)."""
    max_faces: int = 20_000
    """Face cap of textured meshes (``mesh_texture="uv"`` and the exports): larger meshes
    are decimated first."""
    exports: tuple[str, ...] = ()
    """Textured files written beside the mesh: ``glb`` (asset.glb), ``usd`` (asset.usda
    and asset_texture.png, or asset.usdz with ``usdz``), ``splat`` (splats.ply)."""
    usdz: bool = False
    """Write the USD export as one asset.usdz package (texture inside)."""
    splats: int = 1024
    """Gaussians of the ``splat`` export (splats.ply)."""
    splat_steps: int = 100
    """Adam steps fitting the ``splat`` export to the field's renders."""
    views: int = 8
    """Turntable views."""
    image_size: int = 128
    """Turntable view side in pixels."""
