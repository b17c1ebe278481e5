"""Chamfer distance against brute force; surface sampling; shape normalisation."""

import numpy as np
import pytest
import torch
import trimesh

from gina3d.errors import Gina3dError
from gina3d.evaluation import chamfer
from gina3d.evaluation.chamfer import (
    chamfer_distance,
    normalise,
    pairwise_chamfer,
    point_set,
    sample_surface,
)
from gina3d.geometry.mesh import Mesh


def _brute_force(a: np.ndarray, b: np.ndarray) -> float:
    """Reference: explicit loops over points, float64."""
    ab = np.mean([min(((p - q) ** 2).sum() for q in b) for p in a])
    ba = np.mean([min(((p - q) ** 2).sum() for q in a) for p in b])
    return float(ab + ba)


def test_chamfer_matches_brute_force(monkeypatch):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 40, 3))
    b = rng.normal(size=(3, 55, 3)) * 0.8 + 0.3
    monkeypatch.setattr(chamfer, "MAX_ELEMENTS", 500)  # force several chunks
    got = chamfer_distance(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    want = [_brute_force(a[i], b[i]) for i in range(3)]
    assert np.allclose(got, want, rtol=1e-10)
    pair = pairwise_chamfer(a, b)  # float32
    assert pair.shape == (3, 3)
    assert np.allclose(np.diag(pair), want, rtol=1e-4)
    assert pair[0, 1] == pytest.approx(_brute_force(a[0], b[1]), rel=1e-4)
    assert chamfer_distance(torch.from_numpy(a), torch.from_numpy(a)).abs().max() < 1e-12
    within = pairwise_chamfer(a)  # symmetric shortcut: each pair once, zero diagonal
    assert np.allclose(within, pairwise_chamfer(a, a), atol=1e-5) and (np.diag(within) == 0).all()
    with pytest.raises(Gina3dError, match="point sets"):
        chamfer_distance(torch.zeros(2, 5, 3), torch.zeros(3, 5, 3))


def test_sample_surface_of_meshes_seeded(tmp_path):
    box = trimesh.creation.box(extents=(2.0, 1.0, 0.5))
    p = sample_surface(box, 500, seed=1)
    assert p.shape == (500, 3)
    on_face = np.isclose(np.abs(p) / np.array([1.0, 0.5, 0.25]), 1.0, atol=1e-6).any(axis=1)
    assert on_face.all()  # every sample lies on a face of the box
    assert np.array_equal(p, sample_surface(box, 500, seed=1))
    assert not np.array_equal(p, sample_surface(box, 500, seed=2))
    path = tmp_path / "box.glb"
    path.write_bytes(box.export(file_type="glb"))
    assert sample_surface(path, 10, seed=0).shape == (10, 3)
    ours = Mesh(box.vertices, box.faces, np.full(3, 0.5))
    assert np.allclose(sample_surface(ours, 50, 3), sample_surface(box, 50, 3))
    pts = point_set(p, 20, seed=0)  # points are subsampled, not meshed
    assert pts.shape == (20, 3) and np.isin(pts, p).all()
    with pytest.raises(Gina3dError, match="cannot read mesh"):
        bad = tmp_path / "bad.glb"
        bad.write_bytes(b"nope")
        sample_surface(bad, 10, 0)


def test_normalisation_modes():
    p = np.array([[1.0, 2.0, 3.0], [5.0, 3.0, 3.5]])  # bounding box 4 x 1 x 0.5
    unit = normalise(p, "unit_box")
    assert np.allclose(unit.max(0) - unit.min(0), [1.0, 0.25, 0.125])
    assert np.allclose((unit.max(0) + unit.min(0)) / 2, 0)
    assert np.allclose(normalise(p, "unit_box", box_size=[8, 1, 1]), p / 8)
    assert normalise(p, "metres") is not None and np.array_equal(normalise(p, "metres"), p)
    with pytest.raises(Gina3dError, match="unknown normalisation"):
        normalise(p, "sphere")
