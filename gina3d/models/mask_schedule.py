"""The MaskGIT schedule (Chang et al. 2022): training masks and iterative parallel decoding.

Separate from the network, like a diffusers scheduler: decoding only needs a callable
``logits_fn(tokens [B,T]) -> logits [B,T,K]`` (the model, or its classifier-free-guided
combination), so the same loop serves unconditional, conditional and guided sampling.

Schedule: ``gamma(r) = cos(pi/2 * r)``, the fraction of tokens still masked at progress
``r`` in [0, 1] (gamma(0) = 1: all masked; gamma(1) = 0: none).

Training: per grid draw ``r ~ U(0, 1)`` and mask ``ceil(gamma(r) * T)`` tokens (at least
one) at uniformly random positions; the loss is read on the masked positions only.

Decoding (``decode``): start from a grid whose masked positions hold ``mask_id``; with
``M`` tokens masked at the start, step ``t = 0 .. steps-1``:

1. predict logits for every position; draw a token for each masked position from
   ``softmax(logits / temperature)`` (optionally restricted to the ``top_k`` logits;
   temperature 0 = argmax);
2. its confidence is the log-probability of the drawn token plus Gumbel noise scaled by
   the choice temperature ``choice_temperature * (1 - (t+1)/steps)`` (linear annealing to
   0, as in MaskGIT's reference code; ``anneal=False`` keeps it constant);
3. keep ``floor(gamma((t+1)/steps) * M)`` of them masked - the least confident, and at
   least one fewer than before - and fix the others for good.

Unmasked positions are never changed and the last step fills every mask. Every random
draw comes from the ``torch.Generator`` passed in, so one seed gives one result.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def gamma(r: Tensor | float) -> Tensor:
    """Cosine schedule: the masked fraction at progress ``r`` in [0, 1]."""
    return torch.cos(math.pi / 2 * torch.as_tensor(r, dtype=torch.float64))


def mask_count(r: Tensor | float, num_tokens: int) -> Tensor:
    """Tokens to mask for training at ``r``: ``ceil(gamma(r) * T)`` clamped to [1, T] (long)."""
    n = torch.ceil(gamma(r) * num_tokens - 1e-9).long()
    return n.clamp(1, num_tokens)


def random_mask(batch: int, num_tokens: int, generator: torch.Generator, device=None) -> Tensor:
    """Training mask [B,T] bool: per row ``r ~ U(0,1)``, ``mask_count(r, T)`` random positions."""
    r = torch.rand(batch, generator=generator, dtype=torch.float64)  # [B]
    counts = mask_count(r, num_tokens)  # [B]
    scores = torch.rand(batch, num_tokens, generator=generator)  # [B,T]
    ranks = scores.argsort(dim=1).argsort(dim=1)  # [B,T] rank of each position
    return (ranks < counts[:, None]).to(device)  # [B,T]


def apply_mask(tokens: Tensor, mask: Tensor, mask_id: int) -> Tensor:
    """``tokens`` [B,T] with masked positions replaced by ``mask_id``."""
    return torch.where(mask, torch.full_like(tokens, mask_id), tokens)


def variation_mask(
    batch: int, num_tokens: int, strength: float, generator: torch.Generator, device=None
) -> Tensor:
    """[B,T] bool with ``round(strength * T)`` random positions per row (0: none, 1: all)."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    count = round(strength * num_tokens)
    scores = torch.rand(batch, num_tokens, generator=generator)  # [B,T]
    ranks = scores.argsort(dim=1).argsort(dim=1)  # [B,T]
    return (ranks < count).to(device)  # [B,T]


def _gumbel(shape: tuple[int, ...], generator: torch.Generator, device) -> Tensor:
    u = torch.rand(shape, generator=generator).clamp_(1e-20, 1.0 - 1e-7)
    return (-torch.log(-torch.log(u))).to(device)


def sample_logits(
    logits: Tensor, temperature: float, top_k: int | None, generator: torch.Generator
) -> Tensor:
    """Draw one token per position from logits [B,T,K] -> [B,T] (Gumbel-max)."""
    logits = logits.float()
    if top_k is not None and 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]  # [B,T,1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if temperature <= 0:
        return logits.argmax(dim=-1)
    noise = _gumbel(tuple(logits.shape), generator, logits.device)  # [B,T,K]
    return (logits / temperature + noise).argmax(dim=-1)  # [B,T]


@torch.no_grad()
def decode(
    logits_fn: Callable[[Tensor], Tensor],
    tokens: Tensor,
    mask_id: int,
    steps: int,
    generator: torch.Generator,
    temperature: float = 1.0,
    choice_temperature: float = 4.5,
    anneal: bool = True,
    top_k: int | None = None,
) -> Tensor:
    """Fill every ``mask_id`` position of ``tokens`` [B,T] (long); returns [B,T] (long).

    See the module docstring for the algorithm. ``steps`` >= 1.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    tokens = tokens.clone()
    masked = tokens == mask_id  # [B,T]
    initial = masked.sum(dim=1)  # [B] M per grid
    for t in range(steps):
        if not masked.any():
            break
        logits = logits_fn(tokens)  # [B,T,K]
        drawn = sample_logits(logits, temperature, top_k, generator)  # [B,T]
        logp = torch.log_softmax(logits.float(), dim=-1)  # [B,T,K]
        conf = logp.gather(-1, drawn[..., None])[..., 0]  # [B,T]
        ratio = (t + 1) / steps
        tau = choice_temperature * (1.0 - ratio if anneal else 1.0)
        if tau > 0:
            conf = conf + tau * _gumbel(tuple(conf.shape), generator, conf.device)
        conf = conf.masked_fill(~masked, float("inf"))  # fixed tokens are never re-masked
        remaining = masked.sum(dim=1)  # [B]
        keep_masked = torch.floor(gamma(ratio) * initial.double()).long()  # [B]
        keep_masked = torch.minimum(keep_masked, (remaining - 1).clamp_min(0))
        if t == steps - 1:
            keep_masked = torch.zeros_like(keep_masked)
        ranks = conf.argsort(dim=1).argsort(dim=1)  # [B,T] 0 = least confident
        still = masked & (ranks < keep_masked[:, None].to(ranks.device))  # [B,T]
        reveal = masked & ~still  # [B,T]
        tokens = torch.where(reveal, drawn, tokens)
        masked = still
    return tokens
