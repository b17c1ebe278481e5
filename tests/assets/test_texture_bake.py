"""Textured meshes: decimation, UV unwrapping, baking the field's colour, the textured GLB."""

import json
import struct

import numpy as np
import pytest
import torch

from gina3d.assets.mesh import extract_mesh
from gina3d.assets.mesh_export import export_mesh, load_mesh, vertex_colours
from gina3d.assets.texture_bake import dilate, rasterize_uv, sample_texture, textured_mesh
from gina3d.assets.uv_atlas import UVMesh, decimate, uv_mesh
from gina3d.errors import Gina3dError

SIZE = (2.4, 1.2, 1.0)


def colour_of(points: torch.Tensor) -> torch.Tensor:
    """A known colour per object-frame point: smooth, different along every axis."""
    x, y, z = points.unbind(-1)
    return torch.stack([0.5 + 0.4 * x / 1.2, 0.5 + 0.4 * torch.sin(3.0 * y), 0.2 + 0.6 * z**2], -1)


def box_fn(points: torch.Tensor):
    """A solid box (0.9 of the asset's box on every axis), coloured by ``colour_of``."""
    half = torch.tensor(SIZE) * 0.45
    inside = (points.abs() < half).all(dim=-1)
    return torch.where(inside, 1000.0, 0.0), colour_of(points)


@pytest.fixture(scope="module")
def box_mesh():
    return extract_mesh(box_fn, None, SIZE, 24)


def surface_samples(m: UVMesh, n: int, seed: int = 0):
    """n points on the mesh (area-weighted) -> points [n,3] and their UVs [n,2]."""
    rng = np.random.default_rng(seed)
    tri = m.vertices[m.faces]
    area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    face = rng.choice(len(m.faces), n, p=area / area.sum())
    w = rng.dirichlet([1.0, 1.0, 1.0], n)
    points = np.einsum("nk,nkc->nc", w, tri[face])
    uv = np.einsum("nk,nkc->nc", w, m.uv[m.faces[face]])
    return points, uv


def test_uvs_in_the_unit_square_and_geometry_kept(box_mesh):
    m = uv_mesh(box_mesh.vertices, box_mesh.faces, texture_size=128)
    assert m.uv.shape == (len(m.vertices), 2) and len(m.faces) == len(box_mesh.faces)
    assert m.uv.min() >= 0.0 and m.uv.max() <= 1.0
    assert m.faces.min() >= 0 and m.faces.max() < len(m.vertices)
    np.testing.assert_allclose(m.vertices.min(0), box_mesh.bounds[0], atol=1e-9)
    np.testing.assert_allclose(m.vertices.max(0), box_mesh.bounds[1], atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(m.normals, axis=1), 1.0, atol=1e-6)
    top = m.vertices[:, 2] > box_mesh.bounds[1, 2] - 1e-6
    assert (m.normals[top, 2] > 0.5).all()  # outward
    tri = m.uv[m.faces]
    d1, d2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    uv_area = np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])
    assert (uv_area > 0).all()  # every face has texels to read


def test_texture_lookups_reproduce_the_field_colour(box_mesh):
    tex = textured_mesh(box_fn, box_mesh, texture_size=256, max_faces=20_000)
    assert tex.texture.shape == (256, 256, 3) and tex.texture.dtype == np.uint8
    points, uv = surface_samples(tex.mesh, 4000)
    got = sample_texture(tex.texture, uv)  # as a renderer reads it (bilinear)
    want = colour_of(torch.as_tensor(points, dtype=torch.float32)).numpy()
    err = np.abs(got - want)
    assert err.mean() < 0.004 and err.max() < 0.03, (err.mean(), err.max())


def test_rasterized_texels_lie_on_their_faces():
    m = UVMesh(
        vertices=np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]),
        faces=np.array([[0, 1, 2]]),
        normals=np.tile([0.0, 0, 1], (3, 1)),
        uv=np.array([[0.1, 0.1], [0.9, 0.1], [0.1, 0.9]]),
    )
    face, bary = rasterize_uv(m, 16)
    rows, cols = np.nonzero(face == 0)
    u, v = (cols + 0.5) / 16, 1.0 - (rows + 0.5) / 16  # texel centres, v up
    uv = bary[rows, cols].astype(np.float64) @ m.uv
    inside = (u >= 0.1 - 1e-6) & (v >= 0.1 - 1e-6) & (u + v <= 1.0 + 1e-6)
    np.testing.assert_allclose(uv[inside], np.stack([u, v], 1)[inside], atol=1e-5)
    # the gutter: texels just outside take the nearest point of the face, within 1.5 texels
    gap = np.linalg.norm((uv - np.stack([u, v], 1)) * 16, axis=1)
    assert (~inside).any() and gap.max() <= 1.5 + 1e-6
    assert (face == -1).sum() > 0  # the far corner stays empty


def test_dilation_fills_rings_then_the_mean():
    image = np.zeros((9, 9, 3))
    covered = np.zeros((9, 9), bool)
    image[4, 4], covered[4, 4] = (1.0, 0.5, 0.25), True
    image[4, 5], covered[4, 5] = (0.0, 0.5, 0.75), True
    out = dilate(image, covered, texels=2)
    np.testing.assert_allclose(out[4, 3], image[4, 4])  # ring 1: its one covered neighbour
    np.testing.assert_allclose(out[3, 4], (image[4, 4] + image[4, 5]) / 2)
    np.testing.assert_allclose(out[0, 0], (image[4, 4] + image[4, 5]) / 2)  # beyond: mean
    assert np.allclose(out[covered], image[covered])


def test_decimation_respects_the_face_cap(fields):
    sphere = extract_mesh(fields.sphere(0.8), None, (2, 2, 2), 40)
    assert len(sphere.faces) > 5000
    v, f = decimate(sphere.vertices, sphere.faces, 800)
    assert 400 < len(f) <= 800 and f.max() < len(v)
    v2, f2 = decimate(sphere.vertices, sphere.faces, 10**6)  # under the cap: unchanged
    assert len(f2) == len(sphere.faces) and np.allclose(v2, sphere.vertices)
    m = uv_mesh(sphere.vertices, sphere.faces, texture_size=64, max_faces=300)
    assert len(m.faces) <= 300
    with pytest.raises(Gina3dError, match="face cap"):
        decimate(sphere.vertices, sphere.faces, 0)
    with pytest.raises(Gina3dError, match="texture size"):
        uv_mesh(sphere.vertices, sphere.faces, texture_size=5)
    with pytest.raises(Gina3dError, match="no faces"):
        uv_mesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64))


def glb_texcoords(data: bytes) -> np.ndarray:
    """TEXCOORD_0 [V,2] as stored in a GLB (glTF convention: origin top-left)."""
    length = struct.unpack_from("<I", data, 12)[0]
    gltf = json.loads(data[20 : 20 + length])
    binary = data[20 + length + 8 :]
    acc = gltf["accessors"][gltf["meshes"][0]["primitives"][0]["attributes"]["TEXCOORD_0"]]
    view = gltf["bufferViews"][acc["bufferView"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    return np.frombuffer(binary, np.float32, acc["count"] * 2, start).reshape(-1, 2)


def test_textured_glb_round_trip(tmp_path, box_mesh):
    tex = textured_mesh(box_fn, box_mesh, texture_size=64, max_faces=500)
    path = export_mesh(tex.to_trimesh(), tmp_path / "t.glb")
    np.testing.assert_allclose(glb_texcoords(path.read_bytes()), tex.mesh.uv * [1, -1] + [0, 1])
    back = load_mesh(path)  # object frame, as the GLB node stores it
    np.testing.assert_allclose(back.vertices, tex.mesh.vertices, atol=1e-6)
    np.testing.assert_allclose(back.visual.uv, tex.mesh.uv, atol=1e-6)
    image = np.asarray(back.visual.material.baseColorTexture.convert("RGB"))
    assert np.array_equal(image, tex.texture)
    assert back.visual.material.metallicFactor == 0.0
    np.testing.assert_allclose(back.vertex_normals, tex.mesh.normals, atol=1e-5)
    assert vertex_colours(back).shape == (len(back.vertices), 4)  # still readable as colours
