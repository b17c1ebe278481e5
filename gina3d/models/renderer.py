"""Volume rendering of a tri-plane field inside the object's box (fp32 throughout).

Rays are normalised by the box (``o' = o / half``, ``d' = d / half``); samples live only
between the box entry and exit, so a ray that misses the box has opacity exactly 0 and
nothing is composited behind the box (the caller adds any background). Sample i stands for
the interval [b_i, b_{i+1}] of ``interval_bounds``; its length is measured in the
normalised frame (``delta = (b_{i+1} - b_i) * |d'|``) because densities are per normalised
unit. ``alpha = 1 - exp(-sigma * delta)``, transmittance is the exclusive cumulative
product of (1 - alpha), weights ``w = T * alpha``; colour = sum w c, opacity = sum w,
depth = sum w t / opacity (the expected metric distance where the ray stops; 0 when the
opacity is 0).

``composite`` is the vectorised path; ``render_reference`` is the same arithmetic as a
plain loop over rays and samples, kept as the readable definition and for the tests.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gina3d.models.field import TriplaneField
from gina3d.models.ray_sampling import (
    importance_quantiles,
    importance_samples,
    intersect_unit_box,
    interval_bounds,
    stratified_samples,
)

DEPTH_EPS = 1e-4  # opacities below this shrink the expected depth towards 0


def composite(
    sigma: Tensor, colour: Tensor, t: Tensor, near: Tensor, far: Tensor, scale: Tensor
) -> dict[str, Tensor]:
    """Alpha-composite sorted samples.

    sigma [...,S]; colour [...,S,C]; t [...,S] sorted; near, far, scale [...] (scale =
    normalised length per metre along the ray). Returns rgb (the colour channels) [...,C],
    opacity [...], depth [...] and weights [...,S].
    """
    bounds = interval_bounds(t, near, far)  # [...,S+1]
    delta = (bounds[..., 1:] - bounds[..., :-1]) * scale[..., None]  # [...,S]
    alpha = 1.0 - torch.exp(-sigma.float() * delta)  # [...,S]
    trans = torch.cumprod(1.0 - alpha, dim=-1)  # [...,S] inclusive
    trans = torch.cat([torch.ones_like(trans[..., :1]), trans[..., :-1]], dim=-1)  # exclusive
    weights = trans * alpha  # [...,S]
    opacity = weights.sum(dim=-1)  # [...]
    depth = (weights * t).sum(dim=-1) / opacity.clamp_min(DEPTH_EPS)  # [...]
    rgb = (weights[..., None] * colour.float()).sum(dim=-2)  # [...,C]
    return {"rgb": rgb, "opacity": opacity, "depth": depth, "weights": weights}


def render_reference(
    sigma: Tensor, colour: Tensor, t: Tensor, near: Tensor, far: Tensor, scale: Tensor
) -> dict[str, Tensor]:
    """``composite`` written as loops (flattened rays [N,...] only; slow, for tests)."""
    n, s = sigma.shape
    rgb = torch.zeros(n, colour.shape[-1], dtype=torch.float64)
    opacity = torch.zeros(n, dtype=torch.float64)
    depth = torch.zeros(n, dtype=torch.float64)
    for r in range(n):
        transmittance = 1.0
        weighted_t = 0.0
        for i in range(s):
            lo = float(near[r]) if i == 0 else 0.5 * float(t[r, i - 1] + t[r, i])
            hi = float(far[r]) if i == s - 1 else 0.5 * float(t[r, i] + t[r, i + 1])
            delta = (hi - lo) * float(scale[r])
            alpha = 1.0 - math.exp(-float(sigma[r, i]) * delta)
            w = transmittance * alpha
            rgb[r] += w * colour[r, i].double()
            opacity[r] += w
            weighted_t += w * float(t[r, i])
            transmittance *= 1.0 - alpha
        depth[r] = weighted_t / max(float(opacity[r]), DEPTH_EPS)
    return {"rgb": rgb.float(), "opacity": opacity.float(), "depth": depth.float()}


def _evaluate(field: TriplaneField, triplane: Tensor, o: Tensor, d: Tensor, t: Tensor):
    """Field at p' = o' + t d' for o', d' [B,N,3], t [B,N,S] -> dict of [B,N,S(,C)]."""
    b, n, s = t.shape
    points = o[:, :, None] + t[..., None] * d[:, :, None]  # [B,N,S,3]
    out = field(triplane, points.reshape(b, n * s, 3))
    return {k: v.reshape(b, n, s, *v.shape[2:]) for k, v in out.items()}


def render_rays(
    field: TriplaneField,
    triplane: Tensor,
    origins: Tensor,
    directions: Tensor,
    box_size: Tensor,
    samples_stratified: int,
    samples_importance: int,
    generator: torch.Generator | None = None,
    perturb: bool = True,
    compact: bool = True,
) -> dict[str, Tensor]:
    """Render rays [B,N,3] (object frame, unit directions) of boxes [B,3] through ``field``.

    Stratified samples are evaluated first; their (detached) weights place
    ``samples_importance`` more samples, evaluated with the same field; all are merged,
    sorted and composited. Returns rgb [B,N,3], opacity [B,N], depth [B,N].

    ``compact`` (the fast path): rays that miss the box are empty whatever the field says,
    so only the rays that hit it are evaluated (per image, the hits first, as many as the
    image with the most hits) and the results are scattered back, with zeros for the rest.
    Random draws are made for all rays as without it, so both paths give the same result
    (``compact=False`` is the plain reference the tests compare against).
    """
    half = box_size.float()[:, None, :] / 2.0  # [B,1,3]
    o = origins.float() / half  # [B,N,3]
    d = directions.float() / half  # [B,N,3]
    b, n = o.shape[:2]
    scale = d.norm(dim=-1)  # [B,N] normalised units per metre
    near, far, hit = intersect_unit_box(o, d)  # [B,N]
    t = stratified_samples(near, far, samples_stratified, generator, perturb)  # [B,N,S]
    u = None
    if samples_importance > 0:  # drawn for every ray, in the same order as ever
        u = importance_quantiles((b, n), samples_importance, generator, perturb, o.device)
    keep = None
    if compact and n > 1:
        k = int(hit.sum(dim=1).max())
        if k < n:
            # per image the rays that hit first (stable: in their order), K = the most hits
            keep = torch.argsort((~hit).to(torch.uint8), dim=1, stable=True)[:, : max(k, 1)]
            o, d, scale, near, far, hit, t = (
                _take(x, keep) for x in (o, d, scale, near, far, hit, t)
            )
            u = None if u is None else _take(u, keep)
    result = _render(field, triplane, o, d, scale, near, far, hit, t, u)
    if keep is None:
        return result
    return {key: _put(value, keep, n) for key, value in result.items()}


def _ray_index(keep: Tensor, x: Tensor) -> Tensor:
    """``keep`` [B,K] broadcast over the trailing dimensions of x [B,*,...]."""
    return keep.view(*keep.shape, *([1] * (x.dim() - 2))).expand(-1, -1, *x.shape[2:])


def _take(x: Tensor, keep: Tensor) -> Tensor:
    """Rays ``keep`` [B,K] of x [B,N,...] -> [B,K,...]."""
    return x.gather(1, _ray_index(keep, x))


def _put(x: Tensor, keep: Tensor, n: int) -> Tensor:
    """x [B,K,...] of rays ``keep`` [B,K] -> [B,N,...] with zeros for the other rays."""
    full = torch.zeros(x.shape[0], n, *x.shape[2:], dtype=x.dtype, device=x.device)
    return full.scatter(1, _ray_index(keep, x), x)


def _render(
    field: TriplaneField,
    triplane: Tensor,
    o: Tensor,
    d: Tensor,
    scale: Tensor,
    near: Tensor,
    far: Tensor,
    hit: Tensor,
    t: Tensor,
    u: Tensor | None,
) -> dict[str, Tensor]:
    """``render_rays`` on normalised rays o, d [B,N,3] with their box intervals [B,N],
    stratified samples t [B,N,S] and importance quantiles u [B,N,S_i] (None: none)."""
    out = _evaluate(field, triplane, o, d, t)
    sigma, colour = out["sigma"], out["rgb"]  # [B,N,S], [B,N,S,3]
    if u is not None:
        with torch.no_grad():
            coarse = composite(sigma, colour[..., :1], t, near, far, scale)["weights"]
        t_imp = importance_samples(
            interval_bounds(t, near, far), coarse, u.shape[-1], u=u
        )  # [B,N,S_i]
        fine = _evaluate(field, triplane, o, d, t_imp)
        t, order = torch.sort(torch.cat([t, t_imp], dim=-1), dim=-1)  # [B,N,S+S_i]
        sigma = torch.cat([sigma, fine["sigma"]], dim=-1).gather(-1, order)
        colour = torch.cat([colour, fine["rgb"]], dim=-2)
        colour = colour.gather(-2, order[..., None].expand(-1, -1, -1, colour.shape[-1]))
    sigma = sigma * hit[..., None]  # rays that miss the box stay empty
    res = composite(sigma, colour, t, near, far, scale)
    return {"rgb": res["rgb"], "opacity": res["opacity"], "depth": res["depth"]}
