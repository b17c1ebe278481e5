"""Radiance field read from a tri-plane: features -> density and colour.

Density is per unit length of the *box-normalised* frame (the box spans 2 units on every
axis), so a pedestrian and a bus of the same normalised shape share density values; the
renderer scales interval lengths accordingly. ``density_bias`` (negative) is added before
the activation so an untrained field is nearly empty: with the default -2 and trunc_exp, a
ray crossing the box (about 2-3 units) starts at an opacity of roughly 0.2-0.3.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gina3d.models.config import ModelConfig
from gina3d.models.triplane import sample_triplane


class _TruncExp(torch.autograd.Function):
    """exp(x) whose gradient uses exp(min(x, 15)) (instant-NGP): no overflowing gradients."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return torch.exp(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.exp(x.clamp(max=15.0))


def trunc_exp(x: Tensor) -> Tensor:
    """exp with a truncated gradient."""
    return _TruncExp.apply(x)


class TriplaneField(nn.Module):
    """MLP F -> hidden -> (1 density + 3 colour) on summed plane features."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.out_channels = 4
        self.mlp = nn.Sequential(
            nn.Linear(cfg.plane_features, cfg.field_hidden),
            nn.ReLU(),
            nn.Linear(cfg.field_hidden, self.out_channels),
        )
        nn.init.normal_(self.mlp[-1].weight, std=0.01)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, triplane: Tensor, points: Tensor) -> dict[str, Tensor]:
        """triplane [B,3,F,R,R], normalised points [B,M,3] -> sigma [B,M], rgb [B,M,3]."""
        raw = self.mlp(sample_triplane(triplane, points))  # [B,M,4]
        return self.activate(raw)

    def activate(self, raw: Tensor) -> dict[str, Tensor]:
        """Raw MLP outputs [...,4] -> sigma [...], rgb [...,3] in (0,1)."""
        pre = raw[..., 0] + self.cfg.density_bias
        if self.cfg.density_activation == "trunc_exp":
            sigma = trunc_exp(pre)
        else:
            sigma = F.softplus(pre)
        return {"sigma": sigma, "rgb": torch.sigmoid(raw[..., 1:4])}
