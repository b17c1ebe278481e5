"""Novel-view cameras around an object and their ground-truth silhouettes.

Novel views orbit the patch camera about the object's vertical axis: the object-frame z
axis through the box centre (the object frame's origin). For an azimuth offset ``a`` the
camera's pose in the object frame is rotated by ``rot_z(a)`` (counter-clockwise seen from
above, so +90 degrees moves a camera in front of the object, on its +x side, to its left,
+y side):

    obj_from_cam' = Rz(a) @ obj_from_cam,    cam'_from_obj = cam_from_obj @ Rz(-a)

This keeps the camera's distance to the box centre, its height above the box centre
(elevation) and its orientation relative to the line of sight; the box centre therefore
has the same camera-frame coordinates ``c = cam_from_obj[:3, 3]`` in every novel view.

Intrinsics: the focal lengths stay those of the patch camera (same scale: a metre at the
same distance covers as many pixels as in the input patch); only the principal point
moves, to ``cx' = W/2 - fx c_x / c_z`` and ``cy' = H/2 - fy c_y / c_z``, which puts the
projection of the box centre exactly on the patch centre ``(W/2, H/2)``. (A patch's crop is
centred on the bounding rectangle of the projected box corners, so in the input view the box
centre is near, not exactly at, the patch centre.) Because the object's extent across the
line of sight changes with azimuth (a car seen from the front, then from the side), a novel
view may cut off part of a long object; the silhouette ground truth is rendered with the
same camera, so metrics compare like with like.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gina3d.errors import Gina3dError
from gina3d.geometry.cameras import (
    DEFAULT_AZIMUTHS_DEG,
    intrinsics_K,
    orbit_cameras,
    recentred_intrinsics,
)
from gina3d.geometry.mesh import Mesh

__all__ = [
    "DEFAULT_AZIMUTHS_DEG",
    "gt_silhouette",
    "intrinsics_K",
    "load_mesh",
    "mesh_path",
    "orbit_cameras",
    "recentred_intrinsics",
]

SUPERSAMPLE = 4


def gt_silhouette(
    mesh: Mesh,
    K: np.ndarray,
    cam_from_obj: np.ndarray,
    height: int,
    width: int,
    supersample: int = SUPERSAMPLE,
    renderer=None,
) -> np.ndarray:
    """bool [H,W]: pixels at least half covered by the object-frame ``mesh``.

    Rendered with the synthetic rasteriser's ``render_mask`` (no occluders) at
    ``supersample`` times the resolution along each axis (K scaled accordingly, so the same
    image plane is sampled on a finer grid), then averaged over each pixel's block and
    thresholded at 0.5. Needs a headless OpenGL (EGL) context.
    """
    from gina3d.data.render.raster import Draw, default_renderer

    renderer = renderer or default_renderer()
    s = int(supersample)
    K_hi = np.diag([float(s), float(s), 1.0]) @ intrinsics_K(K)
    draw = Draw(mesh=mesh, world_from_mesh=np.eye(4))
    hi = renderer.render_mask([draw], K_hi, np.asarray(cam_from_obj, float), width * s, height * s)
    return hi.reshape(height, s, width, s).mean(axis=(1, 3)) >= 0.5


def mesh_path(dataset_root: str | os.PathLike, object_id: str) -> Path:
    """Where a synthetic dataset keeps an object's ground-truth mesh."""
    return Path(dataset_root) / "meshes" / f"{object_id}.ply"


def load_mesh(path: str | os.PathLike) -> Mesh:
    """A ``Mesh`` from a mesh file (PLY as written by the synthetic source; read with
    trimesh, vertices and faces kept as stored). Vertex colours are kept when present."""
    import trimesh

    path = Path(path)
    if not path.exists():
        raise Gina3dError(f"{path}: no such mesh file")
    try:
        tm = trimesh.load(path, force="mesh", process=False)
    except Exception as e:  # any parse failure is a corrupt file for the user
        raise Gina3dError(f"{path}: cannot read mesh ({str(e).splitlines()[0]})") from None
    if len(tm.faces) == 0:
        raise Gina3dError(f"{path}: mesh has no faces")
    colors = np.full((len(tm.vertices), 3), 0.5, dtype=np.float32)
    if getattr(tm.visual, "kind", None) == "vertex":
        colors = np.asarray(tm.visual.vertex_colors, dtype=np.float32)[:, :3] / 255.0
    return Mesh(np.asarray(tm.vertices), np.asarray(tm.faces), colors)
