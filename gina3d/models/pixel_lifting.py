"""Pixel-aligned features for every tri-plane token (``ModelConfig.pixel_lifting``).

The encoder's cross-attention learns where each token should look; this module tells it
exactly, at the token grid's own resolution. A token (plane p, row i, column j) stands for a
column of the box (``geometric_attention.py``); the pixels whose camera rays pass through
that column are the ones that saw it. Each token gathers a small convolutional feature map
of the patch with Gaussian weights ``exp(-d^2 / (2 sigma^2))`` on the plane distance ``d``
between its column axis and each pixel's ray (normalised over the pixels), ``sigma`` = one
token cell's half-width. A last channel, the largest weight before normalisation, says how
squarely any pixel ray hit the column (near 0: the column was not seen from this camera).

Pixels are taken on a grid of at most 32 x 32 (the feature map is average-pooled to it).
The weights depend only on the geometry and carry no gradient; the feature map learns.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gina3d.models.config import ModelConfig
from gina3d.models.geometric_attention import column_ray_distance2, patch_rays

MAX_GRID = 32


class PixelLifting(nn.Module):
    """Patch rgb [B,3,H,W] + pixel rays + box -> per-token features [B,T,features + 1]."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        f = cfg.lifting_features
        self.stem = nn.Sequential(
            nn.Conv2d(3, f, 3, padding=1), nn.GELU(), nn.Conv2d(f, f, 3, padding=1)
        )
        self.plane_tokens = cfg.plane_tokens
        self.stride = max(1, -(-cfg.image_size // MAX_GRID))
        self.sigma = 1.0 / cfg.plane_tokens  # half a token cell, box-normalised units
        self.out_features = f + 1

    def forward(self, rgb: Tensor, origin: Tensor, direction: Tensor, box_size: Tensor) -> Tensor:
        s = self.stride
        feats = self.stem(rgb.float() * 2.0 - 1.0)  # [B,F,H,W]
        if s > 1:
            feats = F.avg_pool2d(feats, s)
        feats = feats.flatten(2).transpose(1, 2)  # [B,N,F]
        with torch.no_grad():
            o, d = patch_rays(origin, direction, s)  # [B,N,3]
            half = box_size.float()[:, None, :] / 2.0  # [B,1,3]
            o, d = o / half, d / half  # box-normalised
            logits = -column_ray_distance2(o, d, self.plane_tokens) / (2 * self.sigma**2)
            weights = torch.softmax(logits, dim=-1)  # [B,T,N]
            seen = logits.amax(dim=-1, keepdim=True).exp()  # [B,T,1] in (0, 1]
        return torch.cat([weights @ feats, seen], dim=-1)  # [B,T,F+1]
