"""Colour reconstruction on object pixels: L1, L2 and PSNR (perceptual: ``perceptual.py``).

Per-ray losses take a weight per ray (1 on object rays, 0 elsewhere): occluder and
background pixels never carry colour supervision, since the rendered colour has no
background (it is premultiplied by opacity) and occluders are not the object.
"""

from __future__ import annotations

import math

from torch import Tensor


def masked_mean(values: Tensor, weights: Tensor) -> Tensor:
    """Weighted mean of values [...] with weights [...]; 0 (with a graph) when all weights are 0."""
    return (values * weights).sum() / weights.sum().clamp_min(1.0)


def rgb_l1(pred: Tensor, target: Tensor, weights: Tensor) -> Tensor:
    """Mean absolute colour error: pred, target [...,3], weights [...]."""
    return masked_mean((pred.float() - target.float()).abs().mean(dim=-1), weights)


def rgb_l2(pred: Tensor, target: Tensor, weights: Tensor) -> Tensor:
    """Mean squared colour error: pred, target [...,3], weights [...]."""
    return masked_mean((pred.float() - target.float()).pow(2).mean(dim=-1), weights)


def psnr(pred: Tensor, target: Tensor, weights: Tensor) -> float:
    """PSNR in dB (peak 1) over the weighted rays (nan when there are none)."""
    if float(weights.sum()) <= 0:
        return float("nan")
    mse = float(rgb_l2(pred.detach().clamp(0, 1), target, weights))
    return -10.0 * math.log10(max(mse, 1e-10))
