"""Image patch -> tri-plane latents: a ViT over the patch, then tri-plane queries attend to it.

Inputs are the RGB patch and, with ``use_ray_embedding``, the per-pixel object-frame unit
ray direction as 3 extra channels stacked before patchify. The camera origin is not an
input: ``encode(rgb, ray_direction)`` is the fixed API (trainer and evaluation call it so),
and the directions already carry the viewpoint and, through their spread over the patch,
the object's angular size (hence its range, the box being known).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gina3d.models.config import ModelConfig
from gina3d.models.geometric_attention import GeometricBias
from gina3d.models.pixel_lifting import PixelLifting
from gina3d.models.token_grid import group_tokens, ungroup_tokens
from gina3d.models.transformer import Block, TriplaneEmbedding, init_linear, transformer_autocast

RAY_CHANNELS = 3


class TriplaneEncoder(nn.Module):
    """ViT encoder with cross-attention from 3*h*w learnable tri-plane queries."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.width
        in_ch = 3 + (RAY_CHANNELS if cfg.use_ray_embedding else 0)
        self.patchify = nn.Conv2d(in_ch, d, cfg.patch_size, stride=cfg.patch_size)
        grid = cfg.image_size // cfg.patch_size
        self.pos = nn.Parameter(torch.randn(1, grid * grid, d) * 0.02)  # [1,N,D]
        self.blocks = nn.ModuleList(Block(d, cfg.heads) for _ in range(cfg.encoder_depth))
        self.norm_img = nn.LayerNorm(d)
        g, split = cfg.query_grid, cfg.token_split
        self.queries = nn.Parameter(torch.randn(1, 3 * g * g, d) * 0.02)  # [1,Q,D]
        self.query_pos = TriplaneEmbedding(g, d, scale=0.1)
        self.cross = nn.ModuleList(Block(d, cfg.heads, cross=True) for _ in range(cfg.cross_depth))
        self.geometry = (
            GeometricBias(cfg.heads, g, cfg.patch_size) if cfg.geometric_attention else None
        )
        # no affine / bias at the output: a shared offset would let every latent collapse
        # onto one code early in training
        self.norm_out = nn.LayerNorm(d, elementwise_affine=False)
        self.proj = nn.Linear(d, cfg.code_dim * split * split, bias=False)  # a cell's tokens
        self.lifting = None
        if cfg.pixel_lifting:
            self.lifting = PixelLifting(cfg)
            lf = self.lifting.out_features
            self.lift_in = nn.Linear(split * split * lf, d)  # into the queries
            self.lift_out = nn.Linear(lf, cfg.code_dim, bias=False)  # into each token
        init_linear(self)
        self.cpu_bf16 = False  # bf16 autocast on a CPU (transformer.use_cpu_bf16)

    def forward(
        self,
        rgb: Tensor,
        ray_direction: Tensor | None = None,
        ray_origin: Tensor | None = None,
        box_size: Tensor | None = None,
    ) -> Tensor:
        """rgb [B,3,H,W] in [0,1] (+ rays [B,H,W,3] in the object frame, box [B,3] metres)
        -> z [B,T,C] (unit norm if l2)."""
        cfg = self.cfg
        if rgb.shape[-1] != cfg.image_size or rgb.shape[-2] != cfg.image_size:
            raise ValueError(
                f"encoder expects {cfg.image_size}x{cfg.image_size} patches, got "
                f"{tuple(rgb.shape[-2:])}"
            )
        x = rgb.float() * 2.0 - 1.0  # [B,3,H,W]
        if cfg.use_ray_embedding:
            if ray_direction is None:
                raise ValueError(
                    "use_ray_embedding needs ray_direction [B,H,W,3] (object frame, unit)"
                )
            dirs = ray_direction.permute(0, 3, 1, 2).float()  # [B,3,H,W]
            x = torch.cat([x, dirs], dim=1)  # [B,6,H,W]
        bias = None
        if self.geometry is not None:
            if ray_direction is None or ray_origin is None or box_size is None:
                raise ValueError(
                    "geometric_attention needs ray_direction, ray_origin [B,H,W,3] and "
                    "box_size [B,3]"
                )
            bias = self.geometry(ray_origin, ray_direction, box_size)  # [B,heads,T,N]
        tokens = self.patchify(x).flatten(2).transpose(1, 2) + self.pos  # [B,N,D]
        queries = (self.queries + self.query_pos()).expand(len(rgb), -1, -1)  # [B,Q,D]
        lifted = None
        if self.lifting is not None:
            lifted = self.lifting(rgb, ray_origin, ray_direction, box_size)  # [B,T,L]
            queries = queries + self.lift_in(group_tokens(lifted, cfg.token_split))
        with transformer_autocast(tokens, self.cpu_bf16):
            for block in self.blocks:
                tokens = block(tokens)
            context = self.norm_img(tokens)  # [B,N,D]
            for block in self.cross:
                queries = block(queries, context, bias)
        z = self.proj(self.norm_out(queries.float()))  # [B,Q,s*s*C]
        z = ungroup_tokens(z, cfg.token_split)  # [B,T,C]
        if lifted is not None:
            z = z + self.lift_out(lifted.float())
        if cfg.codebook_l2:
            z = F.normalize(z, dim=-1)
        return z

    def extra_repr(self) -> str:
        grid = self.cfg.image_size // self.cfg.patch_size
        return (
            f"image_tokens={grid * grid}, queries={3 * self.cfg.query_grid**2}, "
            f"tri-plane tokens={self.cfg.num_tokens}"
        )
