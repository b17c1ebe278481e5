"""Mesh files: GLB (default), PLY and OBJ through trimesh, written atomically.

Vertex data is always in the object frame (x forward, y left, z up, metres) with vertex
colours (RGBA uint8). PLY and OBJ hold exactly that. glTF (GLB) is y-up by specification
(+Y up, +Z the asset's front, +X its left), so the GLB puts the object-frame mesh under one
node named ``asset`` whose matrix is ``GLTF_FROM_OBJ`` (glTF (X, Y, Z) = object (y, z, x)):
Blender, three.js and other glTF viewers show the asset upright and facing +Z, while the
stored vertex positions stay in the object frame.

Reading back: ``load_mesh`` returns the object-frame mesh for every format (for GLB, the
node's geometry without the node matrix). Note that ``trimesh.load(glb, force="mesh")``
applies the node matrix, giving glTF axes: extents (width, height, length).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gina3d.atomic import atomic_write_bytes
from gina3d.errors import Gina3dError

MESH_FORMATS = ("glb", "ply", "obj")
GLTF_NODE = "asset"
GLTF_FROM_OBJ = np.array(
    [
        [0.0, 1.0, 0.0, 0.0],  # glTF X (left) = object y
        [0.0, 0.0, 1.0, 0.0],  # glTF Y (up) = object z
        [1.0, 0.0, 0.0, 0.0],  # glTF Z (front) = object x
        [0.0, 0.0, 0.0, 1.0],
    ]
)


def mesh_format(path: str | os.PathLike, file_type: str | None = None) -> str:
    """The format to write: ``file_type`` if given, else the path's suffix (glb, ply, obj)."""
    fmt = (file_type or Path(path).suffix.lstrip(".")).lower()
    if fmt not in MESH_FORMATS:
        raise Gina3dError(
            f"{path}: unknown mesh format '{fmt}' (formats: {', '.join(MESH_FORMATS)})"
        )
    return fmt


def check_format(fmt: str) -> str:
    """A mesh format name (glb, ply, obj; any case) or Gina3dError."""
    return mesh_format(f"mesh.{fmt}")


def mesh_bytes(mesh, fmt: str) -> bytes:
    """Encoded mesh file contents (see the module docstring for the GLB axes)."""
    import trimesh

    fmt = check_format(fmt)
    if fmt == "glb":
        scene = trimesh.Scene()
        scene.add_geometry(mesh, node_name=GLTF_NODE, geom_name=GLTF_NODE, transform=GLTF_FROM_OBJ)
        data = scene.export(file_type="glb")
    elif fmt == "ply":
        data = mesh.export(file_type="ply", encoding="binary")
    else:
        data = mesh.export(file_type="obj", include_color=True, include_normals=False)
    return data.encode() if isinstance(data, str) else bytes(data)


def export_mesh(mesh, path: str | os.PathLike, file_type: str | None = None) -> Path:
    """Write ``mesh`` (object frame, metres) to ``path`` atomically; format by suffix."""
    path = Path(path)
    atomic_write_bytes(path, mesh_bytes(mesh, mesh_format(path, file_type)))
    return path


def load_mesh(path: str | os.PathLike):
    """A mesh file written by ``export_mesh`` as a trimesh.Trimesh in the object frame."""
    import trimesh

    path = Path(path)
    if not path.exists():
        raise Gina3dError(f"{path}: no such mesh file")
    fmt = mesh_format(path)
    try:
        loaded = trimesh.load(path, file_type=fmt, process=False)
    except Exception as e:  # any parse failure is a corrupt file for the user
        raise Gina3dError(f"{path}: cannot read mesh ({str(e).splitlines()[0]})") from None
    if isinstance(loaded, trimesh.Scene):
        if not loaded.geometry:
            return trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
        if GLTF_NODE in loaded.geometry:
            return loaded.geometry[GLTF_NODE]
        loaded = loaded.to_mesh()
    if not isinstance(loaded, trimesh.Trimesh):  # an empty OBJ reads as a point cloud
        return trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
    return loaded


def vertex_colours(mesh) -> np.ndarray:
    """RGBA uint8 [V,4] vertex colours of a loaded mesh (converted from a texture if needed)."""
    visual = mesh.visual
    if getattr(visual, "kind", None) != "vertex" and hasattr(visual, "to_color"):
        visual = visual.to_color()
    return np.asarray(visual.vertex_colors, dtype=np.uint8)
