"""evaluate_generated: every metric and protocol field; identical data scores perfectly."""

import numpy as np
import pytest
import torch
import trimesh

from gina3d.evaluation.features import RANDOM_NAME, random_feature_network
from gina3d.evaluation.gen_config import GenEvalConfig
from gina3d.evaluation.generation import evaluate_generated

CFG = GenEvalConfig(seed=3, points_per_shape=128, kid_subsets=10, resolution=24)


def _images(n: int, seed: int, brightness: float = 0.0):
    gen = torch.Generator().manual_seed(seed)
    rgb = (torch.rand(n, 3, 16, 16, generator=gen) * 0.6 + brightness).clamp(0, 1)
    masks = torch.zeros(n, 16, 16)
    masks[:, 3:13, 2:14] = 1
    return rgb, masks


def _sizes(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform([3.5, 1.6, 1.3], [5.0, 2.0, 1.8], size=(n, 3))


def _evaluate(gen_images, real_images, gen_sizes, ref_sizes, analytic, consistency=True):
    boxes = [trimesh.creation.box(extents=s) for s in gen_sizes]
    refs = [trimesh.creation.box(extents=s) for s in ref_sizes]
    return evaluate_generated(
        *gen_images,
        *real_images,
        boxes,
        refs,
        random_feature_network(seed=0, dim=16),
        render_fns=[analytic.box(s) for s in gen_sizes] if consistency else None,
        generated_box_sizes=list(gen_sizes),
        reference_box_sizes=list(ref_sizes),
        camera_distribution="test cameras",
        config=CFG,
    )


def test_identical_data_and_protocol(analytic):
    images, sizes = _images(8, 0), _sizes(8, 0)
    out = _evaluate(images, images, sizes, sizes, analytic)
    assert out["fid"] == pytest.approx(0, abs=1e-6)
    assert out["cov"] == 1.0 and out["mmd"] == pytest.approx(0, abs=1e-6)
    gc = out["geometry_consistency"]
    assert gc["num_assets"] == 8 and gc["depth_abs_rel"] < 0.01 and gc["consistent_fraction"] > 0.8
    for block in (out["real_vs_real"], out["matched"]):
        assert {"fid", "kid", "kid_std", "cov", "mmd", "one_nna"} <= set(block)
    p = out["protocol"]
    assert p["seed"] == 3 and p["images"]["num_generated"] == 8 and p["images"]["num_real"] == 8
    assert p["images"]["resolution"] == [16, 16]
    assert p["images"]["camera_distribution"] == "test cameras"
    net = p["images"]["feature_network"]
    assert net["name"] == RANDOM_NAME and len(net["sha256"]) == 64
    assert p["shapes"]["points_per_shape"] == 128 and p["shapes"]["normalisation"] == "unit_box"
    assert "azimuths" in p["geometry_consistency"]["cameras"] and p["skipped"] == {}


def test_shifted_generated_set_scores_worse(analytic):
    real, sizes = _images(12, 0), _sizes(12, 0)
    same = _evaluate(_images(12, 1), real, _sizes(12, 1), sizes, analytic, consistency=False)
    worse_sizes = _sizes(12, 1) * np.array([1.0, 1.0, 2.5])  # tall boxes
    worse = _evaluate(_images(12, 1, 0.35), real, worse_sizes, sizes, analytic, consistency=False)
    assert worse["fid"] > same["fid"] and worse["kid"] > same["kid"]
    assert worse["mmd"] > same["mmd"] and worse["one_nna"] >= same["one_nna"]
    assert worse["one_nna"] == 1.0
    assert same["geometry_consistency"] is None
    assert "geometry_consistency" in same["protocol"]["skipped"]
