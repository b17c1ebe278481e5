"""A mesh ready for a texture: decimated to a face cap, then UV-unwrapped into one atlas.

``uv_mesh(vertices, faces, texture_size, max_faces)`` returns a ``UVMesh``: object-frame
vertices (metres: box centre, x forward, y left, z up), triangles, per-vertex normals and
per-vertex texture coordinates in [0, 1].

* **Decimation** runs only when the mesh has more faces than ``max_faces``: edges much
  shorter than the median (marching-cubes slivers) are welded first, then quadric edge
  collapses (``fast-simplification``) bring it to the cap, repeated while they make
  progress; a mesh that cannot get under the cap is a Gina3dError.
* **Unwrapping** (``xatlas``) cuts the surface into charts and packs them into one square
  atlas of about ``texture_size`` texels, ``PADDING`` texels apart. Vertices on a seam are
  duplicated (one per chart), so the UV mesh has more vertices than its source and is no
  longer watertight; positions and normals of the copies are identical. Slivers of no
  area that xatlas leaves outside every chart (all three UVs equal) are dropped.
* **UV convention**: (u, v) with v up, origin at the bottom-left of the image, as in
  OpenGL, trimesh and USD's ``UsdUVTexture``: texel (row i, column j) of an image stored
  row 0 at the top has its centre at ``u = (j + 0.5) / W, v = 1 - (i + 0.5) / H``. glTF
  puts the origin at the top-left; trimesh flips v when it writes a GLB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gina3d.errors import Gina3dError

MAX_FACES = 20_000
TEXTURE_SIZE = 512
PADDING = 4  # texels between charts: room for the dilation and bilinear lookups
MIN_TEXTURE, MAX_TEXTURE = 16, 4096
MIN_FACES = 4
WELD = 0.2  # edges shorter than this fraction of the median edge are welded before decimating
UV_AREA_EPS = 1e-15  # twice a face's UV area below which it gets no texels


@dataclass
class UVMesh:
    """A triangle mesh with one texture coordinate per vertex."""

    vertices: np.ndarray  # [V,3] float64 object-frame metres
    faces: np.ndarray  # [F,3] int64, counter-clockwise seen from outside
    normals: np.ndarray  # [V,3] float64 unit outward normals
    uv: np.ndarray  # [V,2] float64 in [0,1], v up


def check_texture_size(size: int) -> int:
    """A texture side in texels, ``MIN_TEXTURE``..``MAX_TEXTURE``; Gina3dError otherwise."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise Gina3dError(f"texture size must be an integer, got {size!r}")
    if not MIN_TEXTURE <= size <= MAX_TEXTURE:
        raise Gina3dError(f"texture size must be {MIN_TEXTURE}..{MAX_TEXTURE} texels, got {size}")
    return int(size)


def check_max_faces(max_faces: int) -> int:
    """A face cap, at least ``MIN_FACES``; Gina3dError otherwise."""
    if isinstance(max_faces, bool) or not isinstance(max_faces, (int, np.integer)):
        raise Gina3dError(f"face cap must be an integer, got {max_faces!r}")
    if max_faces < MIN_FACES:
        raise Gina3dError(f"face cap must be at least {MIN_FACES}, got {max_faces}")
    return int(max_faces)


def _clean(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop degenerate faces and unreferenced vertices."""
    import trimesh

    mesh = trimesh.Trimesh(vertices, faces, process=False)
    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.remove_unreferenced_vertices()
    return np.asarray(mesh.vertices, np.float64), np.asarray(mesh.faces, np.int64)


def weld_short_edges(
    vertices: np.ndarray, faces: np.ndarray, fraction: float = WELD
) -> tuple[np.ndarray, np.ndarray]:
    """Merge the vertices joined by edges shorter than ``fraction`` x the median edge (each
    group to its mean) and drop the faces that collapse. Marching cubes leaves slivers
    where the surface passes close to grid nodes; they block quadric decimation (a
    collapse next to a sliver looks like a flip), so they go first."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)  # [3F,2]
    length = np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1)
    short = edges[length < fraction * np.median(length)]
    n = len(vertices)
    graph = coo_matrix((np.ones(len(short)), (short[:, 0], short[:, 1])), shape=(n, n))
    groups, label = connected_components(graph, directed=False)  # label [V]
    merged = np.zeros((groups, 3))
    np.add.at(merged, label, vertices)
    merged /= np.bincount(label, minlength=groups)[:, None]
    f = label[faces]
    keep = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 2] != f[:, 0])
    return _clean(merged, f[keep])


def decimate(
    vertices: np.ndarray, faces: np.ndarray, max_faces: int = MAX_FACES
) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices [V,3], faces [F,3])`` with at most ``max_faces`` faces (unchanged if the
    mesh already has no more): short edges welded, then quadric edge collapses, repeated
    while they make progress."""
    max_faces = check_max_faces(max_faces)
    vertices, faces = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    if len(faces) <= max_faces:
        return vertices, faces
    try:
        import fast_simplification
    except ImportError:
        raise Gina3dError(
            "decimation needs fast-simplification: pip install 'gina3d[export]'"
        ) from None
    v, f = weld_short_edges(vertices, faces)
    for _ in range(8):
        if len(f) <= max_faces:
            return v, f
        before = len(f)
        v, f = _clean(*fast_simplification.simplify(v, f, target_count=max_faces))
        if len(f) >= before:
            break
    if len(f) <= max_faces:
        return v, f
    raise Gina3dError(f"decimation stopped at {len(f)} faces, above the cap of {max_faces}")


def _atlas(vertices: np.ndarray, faces: np.ndarray, texture_size: int):
    """An xatlas.Atlas holding all charts in a single atlas near ``texture_size`` texels."""
    try:
        import xatlas
    except ImportError:
        raise Gina3dError("UV unwrapping needs xatlas: pip install 'gina3d[export]'") from None
    pack = xatlas.PackOptions()
    pack.padding = PADDING
    pack.bilinear = True
    pack.resolution = texture_size
    texels_per_unit = 0.0  # xatlas estimates it from the resolution
    for _ in range(12):
        pack.texels_per_unit = texels_per_unit
        atlas = xatlas.Atlas()
        atlas.add_mesh(vertices.astype(np.float32), faces.astype(np.uint32))
        atlas.generate(xatlas.ChartOptions(), pack)
        if atlas.atlas_count == 1:
            return atlas
        texels_per_unit = 0.85 * atlas.texels_per_unit  # spilled into a second atlas
    raise Gina3dError(f"UV unwrapping could not fit the charts into one {texture_size} atlas")


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals [V,3] of a counter-clockwise mesh."""
    tri = vertices[faces]  # [F,3,3]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # [F,3], |n| = 2 area
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_n)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.where(length > 0, length, 1.0)


def uv_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    texture_size: int = TEXTURE_SIZE,
    max_faces: int = MAX_FACES,
) -> UVMesh:
    """Decimate ``(vertices [V,3], faces [F,3])`` to ``max_faces`` and unwrap it for a
    ``texture_size`` texture (see the module docstring). Gina3dError for a mesh without
    faces."""
    texture_size = check_texture_size(texture_size)
    vertices, faces = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    if faces.ndim != 2 or faces.shape[1:] != (3,) or len(faces) == 0:
        raise Gina3dError("the mesh has no faces: nothing to unwrap")
    vertices, faces = _clean(*decimate(vertices, faces, max_faces))
    if len(faces) == 0:
        raise Gina3dError("the mesh has no faces: nothing to unwrap")
    normals = vertex_normals(vertices, faces)  # before the seams split vertices
    atlas = _atlas(vertices, faces, texture_size)
    vmapping, indices, uvs = atlas[0]  # [V'], [F,3], [V',2] (uvs normalised to [0,1])
    vmapping = np.asarray(vmapping, np.int64)
    uv = np.clip(np.asarray(uvs, np.float64), 0.0, 1.0)
    faces = np.asarray(indices, np.int64)
    tri = uv[faces]  # [F,3,2]
    d1, d2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]  # [F] twice the signed UV area
    faces = faces[np.abs(cross) > UV_AREA_EPS]  # slivers xatlas left without a chart
    if len(faces) == 0:
        raise Gina3dError("UV unwrapping left no faces (a degenerate mesh)")
    used = np.unique(faces)
    remap = np.full(len(uv), -1, np.int64)
    remap[used] = np.arange(len(used))
    return UVMesh(
        vertices=vertices[vmapping[used]],
        faces=remap[faces],
        normals=normals[vmapping[used]],
        uv=uv[used],
    )
