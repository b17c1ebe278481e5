"""Style-based convolutional generator: token grids -> feature planes (StyleGAN2-like).

Each plane's h x w grid of decoder features is upsampled to R x R by stages of
(bilinear x2, modulated 3x3 conv, LeakyReLU); a modulated 1x1 conv without demodulation
("toRGB") maps every resolution to F channels and the outputs are summed after upsampling
(StyleGAN2's skip architecture). Modulation/demodulation is computed the "non-fused" way:
scale the input channels by the style, convolve with the shared weight, scale the output
channels by the demodulation factor. That is exact and uses ordinary (fast) convolutions.
No noise inputs: the decoder is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gina3d.models.transformer import cpu_autocast


@dataclass
class StyleGeneratorConfig:
    """Sizes of the plane generator (derived from ModelConfig by the decoder)."""

    in_channels: int
    """D, channels of the token grid fed in."""
    style_dim: int
    """Dimension of the style vector driving the modulations."""
    plane_tokens: int
    """h = w of the input grid."""
    plane_resolution: int
    """R, side of the output planes (h times a power of two)."""
    plane_features: int
    """F, output channels."""
    min_channels: int = 32
    """Channels: D/2 at h, halved per doubling of resolution, never below this (or F)."""


class ModulatedConv(nn.Module):
    """Conv whose input channels are scaled per sample by an affine map of the style."""

    def __init__(self, cin: int, cout: int, kernel: int, style_dim: int, demodulate: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.affine = nn.Linear(style_dim, cin)
        nn.init.zeros_(self.affine.weight)
        nn.init.ones_(self.affine.bias)  # styles start at 1: plain convolution
        self.scale = 1.0 / math.sqrt(cin * kernel * kernel)
        self.demodulate = demodulate
        self.padding = kernel // 2

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        s = self.affine(style)  # [N,Cin]
        w = self.weight * self.scale  # [Cout,Cin,k,k]
        y = F.conv2d(x * s[:, :, None, None], w, padding=self.padding)  # [N,Cout,H,W]
        if self.demodulate:
            wsq = w.pow(2).sum(dim=(2, 3))  # [Cout,Cin]
            d = torch.rsqrt(s.pow(2) @ wsq.T + 1e-8)  # [N,Cout]
            y = y * d[:, :, None, None]
        return y + self.bias[None, :, None, None]


class StyleGenerator(nn.Module):
    """[N,D,h,w] grids + [N,style_dim] styles -> [N,F,R,R] planes (N = batch * planes)."""

    def __init__(self, cfg: StyleGeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        stages = int(round(math.log2(cfg.plane_resolution // cfg.plane_tokens)))
        floor = max(cfg.min_channels, cfg.plane_features)
        chans = [max(cfg.in_channels // 2 ** (i + 1), floor) for i in range(stages + 1)]
        self.stem = ModulatedConv(cfg.in_channels, chans[0], 3, cfg.style_dim, True)
        self.convs = nn.ModuleList(
            ModulatedConv(chans[i], chans[i + 1], 3, cfg.style_dim, True) for i in range(stages)
        )
        self.to_features = nn.ModuleList(
            ModulatedConv(c, cfg.plane_features, 1, cfg.style_dim, False) for c in chans
        )
        self.cpu_bf16 = False  # bf16 convolutions on a CPU (transformer.use_cpu_bf16)

    def forward(self, grid: Tensor, style: Tensor) -> Tensor:
        with cpu_autocast(grid, self.cpu_bf16):
            return self._forward(grid, style).float()

    def _forward(self, grid: Tensor, style: Tensor) -> Tensor:
        x = F.leaky_relu(self.stem(grid, style), 0.2)  # [N,C0,h,w]
        out = self.to_features[0](x, style)  # [N,F,h,w]
        for conv, to_f in zip(self.convs, self.to_features[1:]):
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = F.leaky_relu(conv(x, style), 0.2)  # [N,Ci,2h,2w]
            out = F.interpolate(out, scale_factor=2.0, mode="bilinear", align_corners=False)
            out = out + to_f(x, style)  # [N,F,2h,2w]
        return out  # [N,F,R,R]
