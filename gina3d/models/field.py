"""Radiance field read from a tri-plane: features -> density (or signed distance) and colour.

``field_type = "sdf"`` (gina3d/models/sdf.py): the MLP's first output is a signed distance
(plus the prior sphere's), the density comes from it through VolSDF's Laplace CDF of scale
``beta`` (fixed, or learned with ``sdf_learn_beta``), and ``forward`` also returns ``sdf``.
What follows is the "density" case.

Density is per unit length of the *box-normalised* frame (the box spans 2 units on every
axis), so a pedestrian and a bus of the same normalised shape share density values; the
renderer scales interval lengths accordingly. ``density_bias`` (negative) is added before
the activation so an untrained field is nearly empty: with the default -2 and trunc_exp, a
ray crossing the box (about 2-3 units) starts at an opacity of roughly 0.2-0.3.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gina3d.models.config import ModelConfig
from gina3d.models.sdf import laplace_density, sphere_sdf
from gina3d.models.transformer import cpu_autocast
from gina3d.models.triplane import sample_triplane

BETA_RATE = 10.0
"""The sdf sharpness is stored as log(beta - beta_min) / BETA_RATE: Adam moves a parameter by
about the learning rate per step, so log beta can move BETA_RATE times as fast and settle
within a few thousand steps (beta may need to change by a factor of ten)."""


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
    """MLP F -> hidden -> (1 density or distance + 3 colour) on summed plane features."""

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
        self.is_sdf = cfg.field_type == "sdf"
        self.cpu_bf16 = False  # bf16 MLP on a CPU (transformer.use_cpu_bf16, cpu_autocast)
        if self.is_sdf:  # beta = beta_min + exp(BETA_RATE * log_beta_excess)
            excess = max(cfg.sdf_beta_init - cfg.sdf_beta_min, 1e-6)
            self.log_beta_excess = nn.Parameter(
                torch.tensor(math.log(excess) / BETA_RATE), requires_grad=cfg.sdf_learn_beta
            )

    def beta(self) -> Tensor:
        """The Laplace scale (a scalar tensor; learned with ``sdf_learn_beta``); "sdf" only."""
        return self.cfg.sdf_beta_min + (BETA_RATE * self.log_beta_excess).exp()

    def forward(self, triplane: Tensor, points: Tensor) -> dict[str, Tensor]:
        """triplane [B,3,F,R,R], normalised points [B,M,3] -> sigma [B,M], rgb [B,M,3]
        (and sdf [B,M] for an "sdf" field)."""
        raw = self._mlp(sample_triplane(triplane, points))  # [B,M,4]
        if self.is_sdf:
            sdf = self._distance(raw[..., 0], points)  # [B,M]
            sigma = laplace_density(sdf, self.beta())
            return {"sigma": sigma, "rgb": torch.sigmoid(raw[..., 1:4]), "sdf": sdf}
        return self.activate(raw)

    def _mlp(self, feats: Tensor) -> Tensor:
        """The MLP on features [B,M,F], returned as fp32; in bf16 on a CPU with ``cpu_bf16``
        for a density field (a signed distance keeps fp32: bf16's 3 digits would be 10 % of
        a 0.02 sharpness at half the box's size, and its finite differences would drown)."""
        with cpu_autocast(feats, self.cpu_bf16 and not self.is_sdf):
            return self.mlp(feats).float()

    def sdf(self, triplane: Tensor, points: Tensor) -> Tensor:
        """Signed distance [B,M] (normalised units) at normalised points [B,M,3]."""
        if not self.is_sdf:
            raise ValueError("this field predicts a density, not a signed distance")
        return self._distance(self.mlp(sample_triplane(triplane, points))[..., 0], points)

    def _distance(self, raw: Tensor, points: Tensor) -> Tensor:
        """The MLP's distance output [B,M] plus the prior sphere's at points [B,M,3]."""
        return raw + sphere_sdf(points.float(), self.cfg.sdf_init_radius)

    def activate(self, raw: Tensor) -> dict[str, Tensor]:
        """Raw MLP outputs [...,4] -> sigma [...], rgb [...,3] in (0,1) ("density" fields)."""
        pre = raw[..., 0] + self.cfg.density_bias
        if self.cfg.density_activation == "trunc_exp":
            sigma = trunc_exp(pre)
        else:
            sigma = F.softplus(pre)
        return {"sigma": sigma, "rgb": torch.sigmoid(raw[..., 1:4])}
