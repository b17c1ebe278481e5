"""COV, MMD and 1-NNA: hand-computed matrices, identical sets, shifted and separated sets."""

import numpy as np
import pytest
import trimesh

from gina3d.errors import Gina3dError
from gina3d.evaluation.shape_metrics import cov, mmd, one_nna, shape_metrics, shape_point_sets


def test_metrics_on_a_hand_computed_matrix():
    d_gr = np.array([[0.1, 0.5, 0.9], [0.2, 0.4, 0.8]])  # 2 samples, 3 references
    assert cov(d_gr) == pytest.approx(1 / 3)  # both samples' nearest is reference 0
    assert mmd(d_gr) == pytest.approx((0.1 + 0.4 + 0.8) / 3)
    d_gg = np.array([[0.0, 0.05], [0.05, 0.0]])
    d_rr = np.array([[0.0, 0.3, 0.6], [0.3, 0.0, 0.35], [0.6, 0.35, 0.0]])
    # sample 0: nearest sample 0.05 < 0.1 (right); sample 1: 0.05 < 0.2 (right)
    # ref 0: nearest ref 0.3 vs sample 0.1 (wrong); ref 1: 0.3 vs 0.4 (right);
    # ref 2: 0.35 vs 0.8 (right)
    assert one_nna(d_gr, d_gg, d_rr) == pytest.approx(4 / 5)
    with pytest.raises(Gina3dError, match="disagree"):
        one_nna(d_gr, d_rr, d_gg)


def _boxes(sizes, n=128, seed=0):
    meshes = [trimesh.creation.box(extents=s) for s in sizes]
    return shape_point_sets(meshes, n, seed, mode="metres")


def test_identical_shifted_and_separated_sets():
    rng = np.random.default_rng(0)
    sizes = rng.uniform(0.5, 2.0, size=(12, 3))
    ref = _boxes(sizes)
    same = shape_metrics(ref, ref)
    assert same["cov"] == 1.0 and same["mmd"] == pytest.approx(0, abs=1e-6)  # float32
    assert same["one_nna"] == 0.0  # every shape's nearest is its copy in the other set

    shifted = shape_metrics(ref + np.array([0.4, 0.0, 0.0]), ref)
    assert shifted["mmd"] > 0.1 and shifted["one_nna"] > 0.5

    collapsed = shape_metrics(np.repeat(ref[:1], 12, axis=0), ref)  # one shape, 12 times
    assert collapsed["cov"] == pytest.approx(1 / 12)

    big = _boxes(rng.uniform(3.0, 4.0, size=(12, 3)), seed=1)
    assert shape_metrics(big, ref)["one_nna"] == 1.0  # well separated: always told apart


def test_one_nna_near_half_for_the_same_distribution():
    rng = np.random.default_rng(1)
    a = _boxes(rng.uniform(0.5, 2.0, size=(20, 3)), n=96, seed=0)
    b = _boxes(rng.uniform(0.5, 2.0, size=(20, 3)), n=96, seed=100)
    out = shape_metrics(a, b)
    assert 0.25 <= out["one_nna"] <= 0.75
    assert out["cov"] > 0.4


def test_unit_box_normalisation_ignores_scale():
    small = trimesh.creation.box(extents=(1.0, 0.5, 0.5))
    large = trimesh.creation.box(extents=(4.0, 2.0, 2.0))
    pts = shape_point_sets([small, large], 256, seed=0, mode="unit_box")
    assert np.allclose(np.abs(pts).max(axis=1), [0.5, 0.25, 0.25], atol=1e-6)
    in_metres = shape_point_sets([small, large], 256, seed=0, mode="metres")
    assert np.abs(in_metres[1]).max() == pytest.approx(2.0)
