"""Geometry consistency: ~0 for analytic (consistent) renderers, worse with per-view noise."""

import numpy as np
import pytest
import torch

from gina3d.errors import Gina3dError
from gina3d.evaluation.geometry_consistency import (
    geometry_consistency,
    look_at_cameras,
    triplane_render_fn,
)
from gina3d.models.config import tiny_model_config
from gina3d.models.stage1 import Stage1Model

RES = 40


def test_look_at_cameras_follow_the_conventions():
    K, cam = look_at_cameras(5.0, [0, 90], 30.0, 50.0, 32, 48)
    assert K.shape == (2, 3, 3) and cam.shape == (2, 4, 4)
    for pose in cam:
        rot = pose[:3, :3]
        assert np.allclose(rot @ rot.T, np.eye(3)) and np.linalg.det(rot) == pytest.approx(1)
        assert np.allclose(pose[:3, 3], [0, 0, 5.0])  # object origin straight ahead, 5 m
        assert (rot @ [0, 0, 1.0])[1] < 0  # object up (z) is image up (-y)
    centre = -cam[:, :3, :3].transpose(0, 2, 1) @ cam[:, :3, 3:]  # camera centres [2,3,1]
    assert centre[0, 0, 0] > 0 and abs(centre[0, 1, 0]) < 1e-9  # azimuth 0: in front (+x)
    assert centre[1, 1, 0] > 0 and abs(centre[1, 0, 0]) < 1e-9  # azimuth 90: left (+y)
    assert np.allclose(K[:, 0, 2], 24) and np.allclose(K[:, 1, 2], 16)


@pytest.mark.parametrize("shape", ["sphere", "box"])
def test_analytic_renderers_are_consistent(analytic, shape):
    K, cam = look_at_cameras(4.0, range(0, 360, 60), 20.0, RES, RES, RES)
    fn = analytic.sphere(1.0) if shape == "sphere" else analytic.box([1.6, 1.0, 0.8])
    out = geometry_consistency(fn, K, cam, RES, RES)
    assert out["num_views"] == 6 and out["num_points"] > 500
    assert out["depth_abs_rel"] < 5e-3
    assert out["consistent_fraction"] > 0.95
    assert out["silhouette_agreement"] > 0.98
    assert 0 < out["occluded_fraction"] < 1  # the far sides are hidden, and skipped


def test_per_view_depth_noise_scores_worse(analytic):
    K, cam = look_at_cameras(4.0, range(0, 360, 60), 20.0, RES, RES, RES)
    clean = geometry_consistency(analytic.box([1.6, 1.0, 0.8]), K, cam, RES, RES)
    noisy = geometry_consistency(analytic.box([1.6, 1.0, 0.8], noise=0.03), K, cam, RES, RES)
    assert noisy["depth_abs_rel"] > 5 * clean["depth_abs_rel"]
    assert noisy["consistent_fraction"] < 0.6 * clean["consistent_fraction"]


def test_inputs_are_checked(analytic):
    K, cam = look_at_cameras(4.0, [0], 20.0, RES, RES, RES)
    with pytest.raises(Gina3dError, match=">= 2 views"):
        geometry_consistency(analytic.sphere(), K, cam, RES, RES)


def test_a_stage1_model_plugs_in():
    torch.manual_seed(0)
    cfg = tiny_model_config(16)
    model = Stage1Model(cfg).eval()
    r = cfg.plane_resolution
    triplane = torch.randn(1, 3, cfg.plane_features, r, r)  # [1,3,F,R,R] a random asset
    fn = triplane_render_fn(model, triplane, torch.tensor([[4.0, 2.0, 1.5]]))
    K, cam = look_at_cameras(9.0, [0, 90, 180], 15.0, 16.0, 12, 12)
    out = fn(torch.as_tensor(K).float(), torch.as_tensor(cam).float(), 12, 12)
    assert out["depth"].shape == (3, 12, 12) and out["opacity"].shape == (3, 12, 12)
    result = geometry_consistency(fn, K, cam, 12, 12, opacity_threshold=0.0)
    assert result["num_views"] == 3 and result["num_in_view"] >= 0
