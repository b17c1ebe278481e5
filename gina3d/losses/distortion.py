"""Distortion loss (Barron et al., Mip-NeRF 360, CVPR 2022): each ray's weight in one place.

A ray's compositing weights ``w_i`` sit on intervals ``[s_i, s_{i+1}]`` along it (here in
box-normalised units, the box spanning 2 along every axis). The loss

    L = sum_i sum_j w_i w_j |m_i - m_j|  +  1/3 sum_i w_i^2 (s_{i+1} - s_i),

with ``m_i`` the interval midpoints, is the expected distance between two points drawn
from the ray's weight distribution (uniformly within intervals). It is small when the
weight is concentrated (a surface) and large when it is spread along the ray (a haze),
and it is 0 on an empty ray. A single view constrains only the total opacity along each
ray, so without it density may spread along the line of sight; with it, it is pushed
into the shortest stretch that renders the same.

The double sum is computed in O(S) with cumulative sums over the sorted midpoints:
``sum_{i,j} w_i w_j |m_i - m_j| = 2 sum_i w_i (m_i W_<i - (wm)_<i)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gina3d.losses.reconstruction import masked_mean


def ray_distortion(weights: Tensor, bounds: Tensor) -> Tensor:
    """Per-ray distortion [...] of weights [...,S] on sorted interval bounds [...,S+1]."""
    w = weights.float()
    b = bounds.float()
    mid = 0.5 * (b[..., 1:] + b[..., :-1])  # [...,S]
    width = b[..., 1:] - b[..., :-1]
    w_before = torch.cumsum(w, dim=-1) - w  # exclusive cumulative sums
    wm_before = torch.cumsum(w * mid, dim=-1) - w * mid
    inter = 2.0 * (w * (mid * w_before - wm_before)).sum(dim=-1)
    intra = (w.square() * width).sum(dim=-1) / 3.0
    return inter + intra


def distortion_loss(weights: Tensor, bounds: Tensor, ray_weights: Tensor) -> Tensor:
    """Mean distortion over rays, weighted by ``ray_weights`` [B,N] (0 drops a ray)."""
    return masked_mean(ray_distortion(weights, bounds), ray_weights)
