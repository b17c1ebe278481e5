"""The cosine schedule, training masks and MaskGIT's iterative decoding."""

import math

import pytest
import torch

from gina3d.models.mask_schedule import (
    apply_mask,
    decode,
    gamma,
    mask_count,
    random_mask,
    sample_logits,
    variation_mask,
)


def test_gamma_endpoints_and_monotone():
    assert float(gamma(0.0)) == 1.0
    assert abs(float(gamma(1.0))) < 1e-12
    assert float(gamma(0.5)) == pytest.approx(math.cos(math.pi / 4))
    r = torch.linspace(0, 1, 101)
    assert (gamma(r).diff() <= 0).all()


def test_mask_counts():
    T = 192
    assert int(mask_count(0.0, T)) == T  # everything masked at r = 0
    assert int(mask_count(1.0, T)) == 1  # at least one masked token to learn from
    assert int(mask_count(0.5, T)) == math.ceil(math.cos(math.pi / 4) * T)
    r = torch.rand(1000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    n = mask_count(r, T)
    assert n.min() >= 1 and n.max() <= T
    assert torch.equal(n, torch.ceil(torch.cos(math.pi / 2 * r) * T - 1e-9).long().clamp(1, T))


def test_random_mask_rows_follow_the_schedule_and_the_seed():
    g = torch.Generator().manual_seed(5)
    mask = random_mask(64, 48, g)
    assert mask.shape == (64, 48) and mask.dtype == torch.bool
    g = torch.Generator().manual_seed(5)
    r = torch.rand(64, generator=g, dtype=torch.float64)
    assert torch.equal(mask.sum(1), mask_count(r, 48))
    assert torch.equal(mask, random_mask(64, 48, torch.Generator().manual_seed(5)))
    assert not torch.equal(mask, random_mask(64, 48, torch.Generator().manual_seed(6)))
    # positions are spread: every position is masked in some row
    assert mask.any(0).all()
    tokens = torch.arange(48).repeat(64, 1)
    masked = apply_mask(tokens, mask, 99)
    assert torch.equal(masked == 99, mask) and torch.equal(masked[~mask], tokens[~mask])


def test_variation_mask_counts():
    g = torch.Generator().manual_seed(0)
    assert not variation_mask(3, 48, 0.0, g).any()
    assert variation_mask(3, 48, 1.0, g).all()
    assert (variation_mask(3, 48, 0.25, g).sum(1) == 12).all()
    with pytest.raises(ValueError):
        variation_mask(1, 48, 1.5, g)


def test_sampling_top_k_and_greedy():
    logits = torch.tensor([[[0.0, 5.0, 4.9, -1.0]]]).expand(1, 200, 4)
    g = torch.Generator().manual_seed(0)
    assert (sample_logits(logits, 0.0, None, g) == 1).all()
    drawn = sample_logits(logits, 1.0, 2, g)
    assert set(drawn.unique().tolist()) == {1, 2}  # only the top 2 codes


def _fn(K: int, seed: int = 0):
    w = torch.randn(K, K, generator=torch.Generator().manual_seed(seed))

    def logits_fn(tokens):  # depends on the tokens, like a model
        onehot = torch.nn.functional.one_hot(tokens.clamp_max(K - 1), K).float()  # [B,T,K]
        return onehot @ w + onehot.mean(1, keepdim=True) @ w

    return logits_fn


@pytest.mark.parametrize("steps", [1, 4, 12, 100])
def test_decode_fills_every_mask_and_keeps_the_rest(steps):
    K, T, mask_id = 8, 48, 8
    g = torch.Generator().manual_seed(1)
    source = torch.randint(0, K, (5, T), generator=g)
    mask = random_mask(5, T, g)
    start = apply_mask(source, mask, mask_id)
    out = decode(_fn(K), start, mask_id, steps, torch.Generator().manual_seed(2))
    assert (out != mask_id).all() and out.max() < K
    assert torch.equal(out[~mask], source[~mask])


def test_decode_seeds_and_schedule():
    K, T = 8, 48
    start = torch.full((4, T), K)
    a = decode(_fn(K), start, K, 6, torch.Generator().manual_seed(0))
    b = decode(_fn(K), start, K, 6, torch.Generator().manual_seed(0))
    c = decode(_fn(K), start, K, 6, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    # the number of still-masked tokens after each step follows floor(gamma * T)
    seen = []

    def counting(tokens):
        seen.append(int((tokens == K).sum(1)[0]))
        return _fn(K)(tokens)

    decode(counting, start, K, 6, torch.Generator().manual_seed(0))
    expect = [T] + [math.floor(math.cos(math.pi / 2 * (t + 1) / 6) * T) for t in range(5)]
    assert seen == expect
    with pytest.raises(ValueError):
        decode(_fn(K), start, K, 0, torch.Generator())
