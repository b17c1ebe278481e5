"""Quantised tri-plane tokens -> tri-plane features [B,3,F,R,R].

A transformer over the T = 3*h*w tokens (with plane + 2D position embeddings) mixes
information between planes; each plane's h x w grid of outputs is then turned into an
R x R feature plane by the style generator. The style vector comes from a pooled token
summary: the mean over all tokens (the whole object) concatenated with the mean over the
plane's own tokens, through a 2-layer MLP.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gina3d.models.config import ModelConfig
from gina3d.models.style_generator import StyleGenerator, StyleGeneratorConfig
from gina3d.models.token_grid import group_tokens
from gina3d.models.transformer import Block, TriplaneEmbedding, init_linear, transformer_autocast


class TriplaneDecoder(nn.Module):
    """Transformer over tri-plane tokens followed by a per-plane style generator."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.width
        split = cfg.token_split
        self.inp = nn.Linear(cfg.code_dim * split * split, d)  # a cell's tokens, concatenated
        self.inp_norm = nn.LayerNorm(d)  # code content as strong as the position code
        self.pos = TriplaneEmbedding(cfg.query_grid, d)
        self.blocks = nn.ModuleList(Block(d, cfg.heads) for _ in range(cfg.decoder_depth))
        self.norm = nn.LayerNorm(d)
        self.style = nn.Sequential(nn.Linear(2 * d, d), nn.GELU(), nn.Linear(d, d))
        init_linear(self)
        self.cpu_bf16 = False  # bf16 autocast on a CPU (transformer.use_cpu_bf16)
        self.generator = StyleGenerator(
            StyleGeneratorConfig(
                in_channels=d,
                style_dim=d,
                plane_tokens=cfg.query_grid,
                plane_resolution=cfg.plane_resolution,
                plane_features=cfg.plane_features,
            )
        )

    def forward(self, z_q: Tensor) -> Tensor:
        """z_q [B,T,C] -> tri-plane [B,3,F,R,R] (plane order xy, xz, yz)."""
        cfg = self.cfg
        b, t, _ = z_q.shape
        if t != cfg.num_tokens:
            raise ValueError(f"decoder expects {cfg.num_tokens} tokens, got {t}")
        x = self.inp_norm(self.inp(group_tokens(z_q.float(), cfg.token_split))) + self.pos()
        with transformer_autocast(x, self.cpu_bf16):
            for block in self.blocks:
                x = block(x)
        x = self.norm(x.float())  # [B,T,D]
        h = cfg.query_grid  # x: [B,3*h*h,D]
        planes = x.view(b, 3, h * h, -1)  # [B,P,h*h,D]
        summary = torch.cat(
            [planes.mean(dim=(1, 2))[:, None].expand(-1, 3, -1), planes.mean(dim=2)], dim=-1
        )  # [B,P,2D]
        style = self.style(summary).reshape(b * 3, -1)  # [B*P,D]
        grid = planes.permute(0, 1, 3, 2).reshape(b * 3, -1, h, h)  # [B*P,D,h,w]
        out = self.generator(grid, F.layer_norm(style, style.shape[-1:]))  # [B*P,F,R,R]
        r = cfg.plane_resolution
        return out.view(b, 3, cfg.plane_features, r, r)  # [B,3,F,R,R]
