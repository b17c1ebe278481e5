"""Where to sample along rays: box intersection, stratified and importance samples.

All functions take rays already normalised by the box (``o' = o / half``, ``d' = d / half``
with ``d`` a unit vector), so that ``p' = o' + t d'`` with ``t`` still the metric distance
along the ray. Every random draw takes the caller's ``torch.Generator``.
"""

from __future__ import annotations

import torch
from torch import Tensor


def intersect_unit_box(origins: Tensor, directions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Slab test of rays [...,3] against [-1,1]^3.

    Returns near, far [...] (metric t, near clamped at 0 for origins inside the box) and
    hit [...] bool. Rays that miss get near = far = 0.
    """
    tiny = 1e-9
    safe = torch.where(directions.abs() < tiny, torch.full_like(directions, tiny), directions)
    inv = 1.0 / safe  # [...,3]
    t1 = (-1.0 - origins) * inv
    t2 = (1.0 - origins) * inv
    near = torch.minimum(t1, t2).amax(dim=-1).clamp_min(0.0)  # [...]
    far = torch.maximum(t1, t2).amin(dim=-1)  # [...]
    hit = far > near
    zero = torch.zeros_like(near)
    return torch.where(hit, near, zero), torch.where(hit, far, zero), hit


def stratified_samples(
    near: Tensor,
    far: Tensor,
    count: int,
    generator: torch.Generator | None = None,
    perturb: bool = True,
) -> Tensor:
    """t [...,S]: one sample in each of S equal bins of [near, far], random when perturbed.

    Without ``perturb`` (or without a generator) samples sit at the bin centres.
    """
    u = torch.linspace(0.0, 1.0, count + 1, device=near.device)  # [S+1]
    lo = u[:-1]  # [S]
    width = 1.0 / count
    if perturb and generator is not None:
        shape = (*near.shape, count)
        jitter = torch.rand(shape, generator=generator, device=generator.device)  # [...,S]
        jitter = jitter.to(near.device)
    else:
        jitter = torch.full((*near.shape, count), 0.5, device=near.device)
    frac = lo + width * jitter  # [...,S]
    return near[..., None] + (far - near)[..., None] * frac


def interval_bounds(t: Tensor, near: Tensor, far: Tensor) -> Tensor:
    """Bounds [...,S+1] of the intervals that sorted samples t [...,S] stand for.

    Sample i covers [b_i, b_{i+1}] with b_0 = near, b_S = far and inner bounds at midpoints
    between neighbouring samples, so the intervals tile [near, far] exactly.
    """
    mids = 0.5 * (t[..., 1:] + t[..., :-1])  # [...,S-1]
    return torch.cat([near[..., None], mids, far[..., None]], dim=-1)


def importance_quantiles(
    shape: tuple[int, ...],
    count: int,
    generator: torch.Generator | None = None,
    perturb: bool = True,
    device: torch.device | None = None,
) -> Tensor:
    """Quantiles u [*shape,count] in [0,1) for ``importance_samples``: uniform draws from
    ``generator`` when perturbed, else evenly spaced."""
    if perturb and generator is not None:
        return torch.rand((*shape, count), generator=generator, device=generator.device).to(device)
    u = torch.linspace(0.5 / count, 1.0 - 0.5 / count, count, device=device)
    return u.expand(*shape, count).contiguous()


def importance_samples(
    bounds: Tensor,
    weights: Tensor,
    count: int,
    generator: torch.Generator | None = None,
    perturb: bool = True,
    u: Tensor | None = None,
) -> Tensor:
    """t [...,count] drawn by inverse CDF from the piecewise-constant pdf ~ weights.

    bounds [...,S+1], weights [...,S] (detached; a small floor keeps all intervals
    reachable). Without ``perturb`` the quantiles are evenly spaced. ``u`` [...,count]:
    quantiles drawn beforehand (``importance_quantiles``) instead of from ``generator``.
    """
    w = weights.detach() + 1e-5  # [...,S]
    pdf = w / w.sum(dim=-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[..., :1]), torch.cumsum(pdf, dim=-1)], dim=-1)
    if u is None:
        u = importance_quantiles(weights.shape[:-1], count, generator, perturb, w.device)
    idx = torch.searchsorted(cdf.contiguous(), u, right=True).clamp(1, w.shape[-1])  # [...,count]
    cdf_lo = cdf.gather(-1, idx - 1)
    cdf_hi = cdf.gather(-1, idx)
    b_lo = bounds.gather(-1, idx - 1)
    b_hi = bounds.gather(-1, idx)
    span = cdf_hi - cdf_lo
    frac = ((u - cdf_lo) / torch.where(span < 1e-12, torch.ones_like(span), span)).clamp(0, 1)
    return (b_lo + frac * (b_hi - b_lo)).detach()
