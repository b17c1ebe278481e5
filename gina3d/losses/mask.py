"""Silhouette losses on rendered opacity.

``mask_bce``: binary cross-entropy between opacity and the object mask on the rays that
observe the object's presence (object and background pixels; also occluder pixels in the
naive ablation, where they count as background). ``background_opacity``: the mean opacity
on background rays (pushing it to 0). Occluder pixels get weight 0 in occlusion-aware mode:
they are not observations of the object, which may well continue behind the occluder.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gina3d.losses.reconstruction import masked_mean

OPACITY_EPS = 1e-4


def mask_bce(opacity: Tensor, target: Tensor, weights: Tensor) -> Tensor:
    """BCE of opacity [...] in [0,1] towards target [...] in {0,1}, weighted by weights [...]."""
    p = opacity.float().clamp(OPACITY_EPS, 1.0 - OPACITY_EPS)
    t = target.float()
    bce = -(t * torch.log(p) + (1.0 - t) * torch.log1p(-p))
    return masked_mean(bce, weights)


def background_opacity(opacity: Tensor, weights: Tensor) -> Tensor:
    """Mean opacity [...] over the weighted (background) rays."""
    return masked_mean(opacity.float(), weights)
