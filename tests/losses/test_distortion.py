"""Distortion loss: the O(S) form equals the double sum; surfaces beat hazes."""

import pytest
import torch

from gina3d.losses.distortion import distortion_loss, ray_distortion


def brute_force(w, b):
    """The definition, as loops over sample pairs (one ray)."""
    mid = 0.5 * (b[1:] + b[:-1])
    total = 0.0
    for i in range(len(w)):
        for j in range(len(w)):
            total += float(w[i] * w[j] * (mid[i] - mid[j]).abs())
        total += float(w[i] ** 2 * (b[i + 1] - b[i])) / 3.0
    return total


def test_matches_the_double_sum_on_random_rays():
    g = torch.Generator().manual_seed(0)
    w = torch.rand(4, 3, 17, generator=g) / 17  # [B,N,S]
    b = torch.sort(torch.rand(4, 3, 18, generator=g) * 2, dim=-1).values
    got = ray_distortion(w, b)  # [B,N]
    assert got.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            assert float(got[i, j]) == pytest.approx(brute_force(w[i, j], b[i, j]), rel=1e-5)


def test_known_values_and_ordering():
    b = torch.linspace(0, 2, 21)  # 20 intervals of 0.1
    empty = torch.zeros(20)
    surface = torch.zeros(20)
    surface[7] = 0.9  # all weight in one interval: only the within-interval term
    haze = torch.full((20,), 0.9 / 20)  # the same opacity spread over the ray
    assert float(ray_distortion(empty, b)) == 0.0
    assert float(ray_distortion(surface, b)) == pytest.approx(0.81 * 0.1 / 3)
    # uniform weight over length 2: E|x - y| for x, y ~ U(0, 2) is 2/3, times 0.9^2
    assert float(ray_distortion(haze, b)) == pytest.approx(0.81 * 2 / 3, rel=1e-4)
    two_walls = torch.zeros(20)
    two_walls[2], two_walls[17] = 0.45, 0.45
    assert ray_distortion(surface, b) < ray_distortion(two_walls, b)


def test_masked_mean_and_gradient_pulls_weight_together():
    b = torch.linspace(0, 2, 11).expand(2, 1, 11)
    w = torch.full((2, 1, 10), 0.05, requires_grad=True)
    loss = distortion_loss(w, b, torch.tensor([[1.0], [0.0]]))
    expect = float(ray_distortion(w[0, 0].detach(), b[0, 0]))
    assert float(loss.detach()) == pytest.approx(expect)
    loss.backward()
    assert torch.all(w.grad[1] == 0)  # a dropped ray gets no gradient
    g = w.grad[0, 0]
    assert g[0] > g[5] and g[-1] > g[4]  # the ends of the haze cost most
