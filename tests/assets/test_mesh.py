"""Mesh extraction on analytic fields and a model, and the GLB/PLY/OBJ round trip."""

import math

import numpy as np
import pytest
import torch
import trimesh

from gina3d.assets.mesh import density_grid, extract_mesh, field_density_fn
from gina3d.assets.mesh_export import export_mesh, load_mesh, vertex_colours
from gina3d.assets.surface import (
    OPACITY,
    OPACITY_BY_CLASS,
    default_opacity,
    density_level,
    optical_depth,
    surface_field,
)
from gina3d.errors import Gina3dError


def test_levels_and_optical_depth():
    assert density_level(0.5) == pytest.approx(64 * math.log(2))
    assert density_level() == pytest.approx(-64 * math.log(1 - OPACITY))
    sigma = density_level(0.5, 0.1)
    assert 1 - math.exp(-sigma * 0.1) == pytest.approx(0.5)
    fog = np.full((11, 21, 5), 2.0)
    tau = optical_depth(fog)  # steps 0.2, 0.1, 0.5 normalised units
    assert tau[0, 10, 2] == 0 and tau[:, :, 0].max() == 0
    assert tau[5, 10, 2] == pytest.approx(2.0 * 1.0)  # 1 unit from every face
    assert tau[1, 10, 2] == pytest.approx(2.0 * 0.2)  # nearest face along x
    assert surface_field(fog, opacity=0.5)[1] == pytest.approx(math.log(2))
    assert surface_field(fog)[1] == pytest.approx(-math.log(1 - OPACITY))
    with pytest.raises(Gina3dError):
        density_level(1.0)
    with pytest.raises(Gina3dError, match="unknown mesh rule"):
        surface_field(fog, "iso")


def test_default_opacity_per_class():
    from gina3d.data.dataset import CLASSES

    assert set(OPACITY_BY_CLASS) == set(CLASSES)
    assert all(0.0 < o < 1.0 for o in OPACITY_BY_CLASS.values())
    assert default_opacity(None) == OPACITY
    assert default_opacity("vehicle") == 0.3 and default_opacity("pedestrian") == 0.1
    assert default_opacity("cyclist") == default_opacity("pedestrian")
    with pytest.raises(Gina3dError, match="unknown class 'tram'"):
        default_opacity("tram")


def test_sphere_bounds_volume_and_outward_normals(fields):
    res, r = 48, 0.8
    mesh = extract_mesh(fields.sphere(r), None, (2.0, 2.0, 2.0), res)
    voxel = 2.0 / (res - 1)
    assert np.allclose(mesh.bounds, [[-r] * 3, [r] * 3], atol=voxel)
    assert mesh.is_watertight
    assert mesh.volume > 0  # faces wound counter-clockwise seen from outside
    assert mesh.volume == pytest.approx(4 / 3 * math.pi * r**3, rel=0.1)
    outward = np.einsum("ij,ij->i", mesh.vertex_normals, mesh.vertices)
    assert (outward > 0).mean() > 0.99
    face_out = np.einsum("ij,ij->i", mesh.face_normals, mesh.triangles_center)
    assert (face_out > 0).mean() > 0.99


def test_density_rule_puts_the_surface_at_the_level(fields):
    res, r = 48, 0.8
    mesh = extract_mesh(fields.sphere(r, linear=True), None, (2, 2, 2), res, level=density_level())
    assert mesh.volume == pytest.approx(4 / 3 * math.pi * r**3, rel=0.03)
    assert np.allclose(mesh.bounds, [[-r] * 3, [r] * 3], atol=0.5 * 2 / (res - 1))


def test_opacity_rule_on_fog_is_where_views_reach_half_opacity():
    """Uniform fog sigma over the box: from each face, opacity 0.5 is reached at depth
    ln 2 / sigma normalised units, so the mesh is the box shrunk by that on every side."""
    size, res = np.array([4.0, 2.0, 1.0]), 33
    for sigma in (1.0, 3.0):
        for opacity in (0.5, OPACITY):
            fog = extract_mesh(
                lambda p, s=sigma: (torch.full((len(p),), s), torch.ones(len(p), 3)),
                None,
                size,
                res,
                opacity=opacity,
            )
            expect = size * (1 + math.log(1 - opacity) / sigma)
            np.testing.assert_allclose(fog.extents, expect, atol=1e-4)
    thin = extract_mesh(
        lambda p: (torch.full((len(p),), 0.3), torch.ones(len(p), 3)), None, size, res, opacity=0.5
    )
    assert len(thin.faces) == 0  # at most 30 % opaque anywhere: no surface


def test_metres_and_axes_in_an_anisotropic_box():
    """A sub-box at known object-frame coordinates comes out where it is, in metres."""
    size = (4.6, 1.9, 1.6)
    lo, hi = torch.tensor([0.5, -0.6, -0.7]), torch.tensor([2.0, 0.3, 0.5])

    def block(points):
        inside = ((points > lo) & (points < hi)).all(dim=-1)
        rgb = torch.stack([inside.float(), torch.zeros(len(points)), torch.zeros(len(points))], -1)
        return torch.where(inside, 500.0, 0.0), rgb

    res = 40
    mesh = extract_mesh(block, None, size, res)
    voxel = np.asarray(size) / (res - 1)
    assert np.all(np.abs(mesh.bounds[0] - lo.numpy()) <= voxel)
    assert np.all(np.abs(mesh.bounds[1] - hi.numpy()) <= voxel)
    assert mesh.volume > 0


def test_a_full_box_fills_the_box():
    size, res = np.array([4.6, 1.9, 1.6]), 16
    fn = lambda p: (torch.full((len(p),), 100.0), torch.ones(len(p), 3))  # noqa: E731
    for kwargs in ({}, {"level": 44.0}):
        mesh = extract_mesh(fn, None, size, res, **kwargs)
        np.testing.assert_allclose(mesh.bounds, [-size / 2, size / 2], atol=0.1 * size.max() / res)
        assert mesh.volume == pytest.approx(float(np.prod(size)), rel=0.05)  # chamfered edges


def test_floaters_are_removed(fields):
    big, small = fields.sphere(0.6, (-0.2, 0, 0)), fields.sphere(0.12, (0.8, 0.7, 0.7))
    fn = fields.union(big, small)
    kept = extract_mesh(fn, None, (2, 2, 2), 48)
    both = extract_mesh(fn, None, (2, 2, 2), 48, min_component=0)
    assert len(both.split(only_watertight=False)) == 2
    assert len(kept.split(only_watertight=False)) == 1
    assert kept.bounds[1][0] < 0.5  # the small sphere at x = 0.8 is gone


def test_empty_and_below_level_fields_give_empty_meshes(fields):
    empty = extract_mesh(
        lambda p: (torch.zeros(len(p)), torch.zeros(len(p), 3)), None, (1, 1, 1), 8
    )
    assert len(empty.faces) == 0
    faint = fields.sphere(0.5, sigma=0.9 * density_level())
    assert len(extract_mesh(faint, None, (2, 2, 2), 16, level=density_level()).faces) == 0
    assert len(extract_mesh(fields.sphere(0.5, sigma=0.6), None, (2, 2, 2), 16).faces) == 0


def test_vertex_colours_come_from_the_field(fields):
    mesh = extract_mesh(fields.sphere(0.8), None, (2, 2, 2), 32)
    rgba = np.asarray(mesh.visual.vertex_colors)
    front = mesh.vertices[:, 0] > 0.05
    back = mesh.vertices[:, 0] < -0.05
    assert np.all(rgba[front, 0] == 255) and np.all(rgba[back, 2] == 255)
    assert np.all(rgba[:, 1] == 64) and np.all(rgba[:, 3] == 255)


def test_model_and_callable_share_the_path_and_chunks_do_not_matter(model, tokens):
    size = (4.0, 2.0, 1.5)
    with torch.no_grad():
        triplane = model.decode_indices(tokens[0][None])[0]  # [3,F,R,R]
    a = density_grid(model, triplane, size, 12)
    b = density_grid(field_density_fn(model, triplane, size), None, size, 12, chunk=100)
    assert a.shape == (12, 12, 12)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # grid index [i,j,k] is the point (x_i, y_j, z_k)
    x = torch.tensor([[-2.0, 1.0, 0.75 * (2 * 5 / 11 - 1)]])
    x[0, 1] = -1.0 + 2.0 * 7 / 11
    with torch.no_grad():
        sigma, _ = field_density_fn(model, triplane, size)(x)
    assert float(sigma[0]) == pytest.approx(float(a[0, 7, 5]), rel=1e-5)
    mesh = extract_mesh(model, triplane, size, 24)
    assert len(mesh.faces) > 0
    assert np.all(mesh.bounds[0] >= -np.array(size) / 2 - 1e-6)
    assert np.all(mesh.bounds[1] <= np.array(size) / 2 + 1e-6)
    with pytest.raises(Gina3dError):
        density_grid(model, None, size, 8)
    with pytest.raises(Gina3dError):
        density_grid(model, triplane, (1.0, -1.0, 1.0), 8)


@pytest.mark.parametrize("fmt", ["glb", "ply", "obj"])
def test_export_round_trip(tmp_path, fmt, fields):
    mesh = extract_mesh(fields.sphere(0.5, (0.3, -0.2, 0.1)), None, (2.0, 1.5, 1.2), 32)
    path = export_mesh(mesh, tmp_path / f"mesh.{fmt}")
    back = load_mesh(path)
    np.testing.assert_allclose(back.bounds, mesh.bounds, atol=1e-5)
    assert len(back.faces) == len(mesh.faces)
    np.testing.assert_array_equal(
        np.sort(vertex_colours(back), axis=0), np.sort(vertex_colours(mesh), axis=0)
    )
    assert back.volume == pytest.approx(mesh.volume, rel=1e-4)


def test_glb_is_y_up_for_viewers_with_object_frame_vertices(tmp_path):
    mesh = trimesh.creation.box(extents=(4.0, 2.0, 1.0))
    path = export_mesh(mesh, tmp_path / "box.glb")
    viewer = trimesh.load(path, force="mesh")  # node matrix applied: glTF axes
    np.testing.assert_allclose(viewer.extents, [2.0, 1.0, 4.0], atol=1e-6)  # left, up, front
    np.testing.assert_allclose(load_mesh(path).extents, [4.0, 2.0, 1.0], atol=1e-6)


def test_export_rejects_unknown_formats(tmp_path):
    mesh = trimesh.creation.box()
    with pytest.raises(Gina3dError, match="unknown mesh format"):
        export_mesh(mesh, tmp_path / "mesh.stl")
    with pytest.raises(Gina3dError, match="no such mesh"):
        load_mesh(tmp_path / "missing.glb")
