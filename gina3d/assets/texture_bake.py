"""Bake an asset's colour into a texture over a UV-unwrapped mesh, and a textured GLB mesh.

``bake_texture(fn, uv_mesh, size)``: every texel whose centre lies inside a triangle in UV
space gets the field's colour at the triangle's 3D point with the same barycentric
coordinates (the density function ``fn`` maps object-frame points in metres to
``(sigma, rgb)``, ``mesh.as_density_fn``). Texels outside every chart are then filled
``DILATE`` texels deep from their covered neighbours (the mean of the covered ones among
the 8 around), ring after ring, so that bilinear lookups near a chart's border do not mix
in the background; what is still empty takes the mean colour of the covered texels (a
neutral value for mip levels).

Texture layout: a uint8 [H,W,3] image stored row 0 at the top, read with the UV convention
of ``uv_atlas`` (v up): texel (i, j) has its centre at ``u = (j + 0.5) / W``,
``v = 1 - (i + 0.5) / H``. ``sample_texture`` is the reference bilinear lookup with that
convention (clamped at the edges), as a renderer would read the texture. Colours are the
field's rgb as it is (display values, like the training images), hence sRGB in glTF and
USD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gina3d.assets.mesh import DensityFn, evaluate
from gina3d.assets.uv_atlas import UVMesh, check_texture_size

DILATE = 4  # texels filled past the chart gutters
REACH = 1.5  # texels: the gutter, texels near a face take its colour (> sqrt 2)
CANDIDATES = 1 << 21  # texel candidates tested per block of faces
EPS = 1e-7  # barycentric tolerance: a texel centre on an edge belongs to both triangles


@dataclass
class TexturedMesh:
    """A UV mesh and its baked colour texture."""

    mesh: UVMesh
    texture: np.ndarray  # [H,W,3] uint8, row 0 at the top

    def to_trimesh(self):
        """A trimesh.Trimesh with normals, UVs and a PBR material whose base colour is the
        texture (metallic 0, roughness 1): what ``mesh_export`` writes as a GLB."""
        import trimesh
        from PIL import Image

        material = trimesh.visual.material.PBRMaterial(
            name="asset",
            baseColorTexture=Image.fromarray(self.texture),
            metallicFactor=0.0,
            roughnessFactor=1.0,
        )
        visual = trimesh.visual.TextureVisuals(uv=self.mesh.uv, material=material)
        return trimesh.Trimesh(
            self.mesh.vertices,
            self.mesh.faces,
            vertex_normals=self.mesh.normals,
            visual=visual,
            process=False,
        )


def texel_coords(uv: np.ndarray, size: int) -> np.ndarray:
    """UVs [N,2] (v up) -> continuous texel coordinates [N,2] (column, row) in which texel
    (i, j)'s centre is (j, i)."""
    return np.stack([uv[:, 0] * size - 0.5, (1.0 - uv[:, 1]) * size - 0.5], axis=1)


def _face_blocks(x0: np.ndarray, y0: np.ndarray, nx: np.ndarray, ny: np.ndarray):
    """Per block of faces: (face ids [C], texel column [C], texel row [C]) for every texel
    centre inside each face's UV bounding box, about ``CANDIDATES`` at a time."""
    counts = nx * ny  # [F]
    ends = np.cumsum(counts)
    start = 0
    while start < len(counts):
        stop = int(np.searchsorted(ends, (ends[start - 1] if start else 0) + CANDIDATES))
        stop = min(max(stop, start + 1), len(counts))
        ids = np.arange(start, stop)
        c = counts[ids]
        face = np.repeat(ids, c)  # [C]
        local = np.arange(len(face)) - np.repeat(np.cumsum(c) - c, c)  # index inside bbox
        yield face, x0[face] + local % nx[face], y0[face] + local // nx[face]
        start = stop


def _closest_on_triangles(p, a, b, c, det) -> tuple[np.ndarray, np.ndarray]:
    """Distance [C] from points p [C,2] to triangles (a, b, c) [C,2] and the barycentric
    coordinates [C,3] of the closest point of each triangle (p itself when inside)."""
    e1, e2, d = b - a, c - a, p - a
    w1 = (d[:, 0] * e2[:, 1] - d[:, 1] * e2[:, 0]) / det
    w2 = (e1[:, 0] * d[:, 1] - e1[:, 1] * d[:, 0]) / det
    bary = np.stack([1.0 - w1 - w2, w1, w2], axis=1)  # [C,3]
    dist = np.zeros(len(p))
    outside = (bary < -EPS).any(axis=1)
    if outside.any():  # nearest point on the three edges
        best = np.full(int(outside.sum()), np.inf)
        near = np.zeros((len(best), 3))
        q = p[outside]
        corners = (a[outside], b[outside], c[outside])
        for i, j in ((0, 1), (1, 2), (2, 0)):
            u, v = corners[i], corners[j]
            t = np.einsum("nc,nc->n", q - u, v - u) / np.maximum(
                np.einsum("nc,nc->n", v - u, v - u), 1e-30
            )
            t = np.clip(t, 0.0, 1.0)
            gap = np.linalg.norm(u + t[:, None] * (v - u) - q, axis=1)
            better = gap < best
            best[better] = gap[better]
            w = np.zeros((len(t), 3))
            w[:, i], w[:, j] = 1.0 - t, t
            near[better] = w[better]
        dist[outside], bary[outside] = best, near
    return dist, bary


def rasterize_uv(uv_mesh: UVMesh, size: int, reach: float = REACH) -> tuple[np.ndarray, np.ndarray]:
    """Which face covers each texel centre, and where: face id [H,W] int64 (-1: none) and
    barycentric coordinates [H,W,3]. A texel whose centre is inside no face takes the
    nearest face within ``reach`` texels, at that face's closest point (the chart's gutter:
    every texel a bilinear lookup inside a face reads is then a colour of the surface).
    Faces with no area in UV space cover nothing."""
    size = check_texture_size(size)
    tex = texel_coords(uv_mesh.uv, size)[uv_mesh.faces]  # [F,3,2]
    lo, hi = tex.min(axis=1) - reach, tex.max(axis=1) + reach  # [F,2]
    first = np.clip(np.ceil(lo - EPS), 0, size).astype(np.int64)
    last = np.clip(np.floor(hi + EPS), -1, size - 1).astype(np.int64)
    n = np.maximum(last - first + 1, 0)  # [F,2] texel centres per axis
    a, b, c = tex[:, 0], tex[:, 1], tex[:, 2]  # [F,2]
    e1, e2 = b - a, c - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]  # [F] twice the signed UV area
    n[np.abs(det) < 1e-12] = 0
    face_id = np.full(size * size, -1, np.int64)
    best = np.full(size * size, np.inf)
    bary = np.zeros((size * size, 3), np.float32)
    for face, col, row in _face_blocks(first[:, 0], first[:, 1], n[:, 0], n[:, 1]):
        p = np.stack([col, row], axis=1).astype(np.float64)  # [C,2] texel centres
        dist, w = _closest_on_triangles(p, a[face], b[face], c[face], det[face])
        texel = row * size + col
        order = np.lexsort((dist, texel))  # per texel, the nearest face first
        first_of = np.ones(len(order), bool)
        first_of[1:] = texel[order][1:] != texel[order][:-1]
        k = order[first_of]
        k = k[(dist[k] <= reach + EPS) & (dist[k] < best[texel[k]])]
        face_id[texel[k]], best[texel[k]], bary[texel[k]] = face[k], dist[k], w[k]
    return face_id.reshape(size, size), bary.reshape(size, size, 3)


def dilate(image: np.ndarray, covered: np.ndarray, texels: int = DILATE) -> np.ndarray:
    """Fill ``texels`` rings of uncovered texels around the covered ones (mean of covered
    8-neighbours); the rest take the mean covered colour. image [H,W,C] float, covered
    [H,W] bool."""
    out = image.astype(np.float64).copy()
    filled = covered.copy()
    if not filled.any():
        return out
    for _ in range(texels):
        pad_v = np.pad(out * filled[..., None], ((1, 1), (1, 1), (0, 0)))
        pad_m = np.pad(filled.astype(np.float64), 1)
        h, w = filled.shape
        total = np.zeros_like(out)
        count = np.zeros(filled.shape)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dy or dx:
                    total += pad_v[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
                    count += pad_m[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        grow = ~filled & (count > 0)
        if not grow.any():
            break
        out[grow] = total[grow] / count[grow][:, None]
        filled = filled | grow
    out[~filled] = image[covered].mean(axis=0)
    return out


def bake_texture(
    fn: DensityFn, uv_mesh: UVMesh, size: int, dilate_texels: int = DILATE
) -> np.ndarray:
    """The field's colour on the mesh surface as a uint8 texture [size,size,3] (see the
    module docstring)."""
    face_id, bary = rasterize_uv(uv_mesh, size)
    covered = face_id >= 0  # [H,W]
    tri = uv_mesh.vertices[uv_mesh.faces[face_id[covered]]]  # [N,3,3]
    points = np.einsum("nk,nkc->nc", bary[covered], tri)  # [N,3] metres
    _, rgb = evaluate(fn, points)  # [N,3] in [0,1]
    image = np.zeros((size, size, 3), np.float64)
    image[covered] = np.clip(rgb, 0.0, 1.0)
    image = dilate(image, covered, dilate_texels)
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def sample_texture(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup of a uint8 texture [H,W,C] at UVs [N,2] (v up; clamped at the edges)
    -> float [N,C] in [0,1]: the reference reading of a baked texture."""
    h, w = texture.shape[:2]
    uv = np.asarray(uv, np.float64)
    x = np.clip(uv[:, 0] * w - 0.5, 0.0, w - 1.0)
    y = np.clip((1.0 - uv[:, 1]) * h - 0.5, 0.0, h - 1.0)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    t = texture.astype(np.float64) / 255.0
    top = t[y0, x0] * (1 - fx) + t[y0, x1] * fx
    bottom = t[y1, x0] * (1 - fx) + t[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def textured_mesh(fn: DensityFn, mesh, texture_size: int, max_faces: int) -> TexturedMesh:
    """A mesh (trimesh, object frame) decimated to ``max_faces``, unwrapped and textured
    with the colour of ``fn`` at ``texture_size`` texels. Gina3dError without faces."""
    from gina3d.assets.uv_atlas import uv_mesh

    unwrapped = uv_mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces), texture_size, max_faces)
    return TexturedMesh(unwrapped, bake_texture(fn, unwrapped, texture_size))
