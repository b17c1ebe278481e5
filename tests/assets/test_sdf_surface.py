"""One surface for signed-distance fields: zero-level meshes, rule choice, asset.json,
and a stage-1 sdf model's tri-plane through the mesh path."""

import numpy as np
import pytest
import torch

from gina3d.assets.mesh import extract_mesh, field_density_fn, sdf_of
from gina3d.assets.surface import resolve_rule
from gina3d.errors import Gina3dError
from gina3d.models.config import tiny_model_config
from gina3d.models.sdf import laplace_density
from gina3d.models.stage1 import Stage1Model


def sphere_sdf_fn(radius: float, beta: float = 0.02, centre=(0.0, 0.0, 0.0)):
    """A sphere as a density function carrying its signed distance (metres = normalised
    units in a 2 m box)."""
    c = torch.tensor(centre)

    def sdf(points):
        return (points - c).norm(dim=-1) - radius

    def fn(points):
        d = sdf(points)
        return laplace_density(d, beta), torch.tensor([0.2, 0.6, 0.9]).expand(len(points), 3)

    fn.sdf = sdf
    return fn


@pytest.mark.parametrize("radius", [0.5, 0.8])
def test_zero_level_mesh_of_a_sphere_within_one_percent_of_its_radius(radius):
    mesh = extract_mesh(sphere_sdf_fn(radius), None, (2.0, 2.0, 2.0), 96)
    r = np.linalg.norm(mesh.vertices, axis=1)
    assert np.abs(r / radius - 1).max() < 0.01, (r.min(), r.max())
    assert mesh.is_watertight and mesh.volume > 0  # closed, outward normals
    # the same zero level for every class: no class default enters
    same = extract_mesh(sphere_sdf_fn(radius), None, (2, 2, 2), 96, class_name="pedestrian")
    assert np.allclose(same.vertices, mesh.vertices)
    # an explicit opacity cuts the same field's density instead (a larger surface)
    for kw in ({"opacity": 0.1}, {"rule": "opacity", "opacity": 0.1}):
        opaque = extract_mesh(sphere_sdf_fn(radius), None, (2, 2, 2), 96, **kw)
        assert np.linalg.norm(opaque.vertices, axis=1).mean() > radius


def test_a_surface_touching_the_box_closes_at_the_box():
    mesh = extract_mesh(sphere_sdf_fn(1.2), None, (2.0, 2.0, 2.0), 32)
    assert mesh.is_watertight
    assert np.allclose(mesh.bounds, [[-1, -1, -1], [1, 1, 1]], atol=1e-6)


def test_resolve_rule():
    assert resolve_rule(True, "pedestrian") == ("sdf", None)
    assert resolve_rule(False, "pedestrian") == ("opacity", 0.1)
    assert resolve_rule(False, "vehicle") == ("opacity", 0.3)
    assert resolve_rule(True, "vehicle", opacity=0.2) == ("opacity", 0.2)
    assert resolve_rule(True, "vehicle", level=5.0) == ("density", None)
    assert resolve_rule(True, None, rule="opacity") == ("opacity", 0.3)
    with pytest.raises(Gina3dError, match="signed distance"):
        resolve_rule(False, "vehicle", rule="sdf")
    with pytest.raises(Gina3dError, match="unknown mesh rule"):
        resolve_rule(True, "vehicle", rule="iso")
    with pytest.raises(Gina3dError, match="signed distance"):
        extract_mesh(lambda p: (p[:, 0], p), None, (2, 2, 2), 8, rule="sdf")


def _sdf_model():
    torch.manual_seed(0)
    cfg = tiny_model_config(16)
    cfg.field_type = "sdf"
    model = Stage1Model(cfg).eval()
    model.field.mlp[-1].weight.data.zero_()  # the prior sphere of radius 0.75
    return model


def test_an_sdf_model_meshes_at_its_zero_level_for_every_class():
    model = _sdf_model()
    tri = torch.randn(3, 8, 16, 16)
    size = (4.0, 2.0, 1.6)
    fn = field_density_fn(model, tri, size)
    assert sdf_of(fn) is not None
    assert sdf_of(field_density_fn(Stage1Model(tiny_model_config(16)), tri, size)) is None
    mesh = extract_mesh(model, tri, size, 64)
    half = np.asarray(size) / 2
    r = np.linalg.norm(mesh.vertices / half, axis=1)  # the sphere, in normalised units
    assert np.abs(r / 0.75 - 1).max() < 0.01
    extent = (mesh.bounds[1] - mesh.bounds[0]) / np.asarray(size)
    assert np.allclose(extent, 0.75, atol=0.01)
