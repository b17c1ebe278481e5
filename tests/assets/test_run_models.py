"""Run handling for the asset commands: kinds, training sizes, size plans, token stats."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gina3d.assets import run_models
from gina3d.assets.token_stats import curve_point, hamming, is_monotone, pairwise_hamming
from gina3d.cli.sample import asset_seed, plan_sizes
from gina3d.errors import Gina3dError


def test_run_kinds(stage1_run, stage2_run, tmp_path):
    assert run_models.run_kind(stage1_run) == "stage1"
    assert run_models.run_kind(stage2_run) == "stage2"
    models = run_models.load_models(stage2_run)
    assert models.stage1_source == stage2_run / "stage1" and models.stage1_run == stage1_run
    assert run_models.stage2_conditions(models) == {"class_name", "size", "time", "image"}
    (tmp_path / "empty").mkdir()
    with pytest.raises(Gina3dError, match="no checkpoint yet"):
        run_models.run_kind(tmp_path / "empty")
    with pytest.raises(Gina3dError, match="no such run"):
        run_models.load_models(tmp_path / "none")


def test_training_sizes_from_the_token_cache(monkeypatch, stage1_run):
    cache = SimpleNamespace(
        size=torch.tensor([[4.0, 2.0, 1.5], [0.6, 0.6, 1.8], [5.0, 2.0, 1.6]]),
        class_idx=torch.tensor([0, 1, 0]),
    )
    import gina3d.generation.token_cache as tc

    monkeypatch.setattr(tc, "load_token_cache", lambda run, split: cache)
    models = run_models.Models(Path("r"), "stage1", None, Path("r"), stage1_run)
    np.testing.assert_allclose(run_models.training_sizes(models, "vehicle"), cache.size[[0, 2]])
    assert len(run_models.training_sizes(models, None)) == 3
    with pytest.raises(Gina3dError, match="no training patch of class 'cyclist'"):
        run_models.training_sizes(models, "cyclist")


def test_training_sizes_fall_back_to_the_dataset(stage1_run):
    models = run_models.load_models(stage1_run)
    sizes = run_models.training_sizes(models, "vehicle")
    assert sizes.shape[1] == 3 and len(sizes) >= 1
    orphan = run_models.Models(Path("r"), "stage1", None, Path("r"), None)
    with pytest.raises(Gina3dError, match="pass --size"):
        run_models.training_sizes(orphan, None)


def test_size_plans_are_seeded(stage2_run, monkeypatch):
    models = run_models.load_models(stage2_run)
    a, conditioned = plan_sizes(models, "vehicle", None, 4, seed=1)
    b, _ = plan_sizes(models, "vehicle", None, 4, seed=1)
    assert conditioned and a == b and len(a) == 4
    given, _ = plan_sizes(models, None, [1.0, 2.0, 3.0], 2, seed=0)
    assert given == [[1.0, 2.0, 3.0]] * 2
    monkeypatch.setattr(run_models, "stage2_conditions", lambda m: {"class_name"})
    mean, conditioned = plan_sizes(models, "vehicle", None, 2, seed=0)
    expect = run_models.training_sizes(models, "vehicle").mean(axis=0)
    assert not conditioned and np.allclose(mean[0], expect, atol=1e-4)
    assert asset_seed(0, 1) == asset_seed(0, 1) != asset_seed(1, 0)


def test_token_stats():
    ref = torch.tensor([0, 1, 2, 3])
    assert hamming(torch.tensor([[0, 1, 2, 3], [0, 0, 0, 0]]), ref).tolist() == [0.0, 0.75]
    stats = pairwise_hamming(torch.tensor([[0, 1], [0, 1], [1, 1]]))
    assert stats == {"pairs": 3, "mean": 0.33333, "min": 0.0, "identical_pairs": 1}
    strip = np.zeros((2, 4, 3))
    point = curve_point(0.5, ref, strip, [(torch.tensor([0, 1, 0, 0]), strip + 0.5)])
    assert point["mean_token_hamming"] == 0.5 and point["mean_image_l1"] == 0.5
    curve = [{"strength": 1.0, "x": 2}, {"strength": 0.0, "x": 0}, {"strength": 0.5, "x": 1}]
    assert is_monotone(curve, "x") and not is_monotone([*curve, {"strength": 2, "x": 0}], "x")
