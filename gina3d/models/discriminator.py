"""PatchGAN-style discriminator on small full renders (and real patches).

Strided 4x4 convolutions with LeakyReLU and no normalisation layers (the R1 penalty keeps it
in check), ending in a 3x3 conv to one logit per receptive-field patch. An optional fourth
input channel carries a mask (real: the object mask; fake: the rendered opacity).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class DiscriminatorConfig:
    """Sizes of the patch discriminator."""

    channels: int = 32
    """Channels of the first conv; doubled at every further downsampling."""
    max_channels: int = 256
    """Upper bound on the channel count."""
    downsamples: int = 2
    """Stride-2 convs: the logit map is (input side) / 2^downsamples."""
    mask_channel: bool = False
    """Take [B,4,H,W]: RGB plus a mask / opacity channel."""

    def validate(self) -> None:
        """Raise ValueError on a bad value."""
        if self.channels < 1 or self.max_channels < 1 or self.downsamples < 1:
            raise ValueError("DiscriminatorConfig: channels, max_channels, downsamples >= 1")


class PatchDiscriminator(nn.Module):
    """[B,3(+1),H,W] images in [0,1] -> logits [B,1,H/2^n,W/2^n]."""

    def __init__(self, cfg: DiscriminatorConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or DiscriminatorConfig()
        cfg.validate()
        self.cfg = cfg
        self.in_channels = 4 if cfg.mask_channel else 3
        layers: list[nn.Module] = []
        cin = self.in_channels
        for i in range(cfg.downsamples):
            cout = min(cfg.channels * 2**i, cfg.max_channels)
            layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            cin = cout
        cout = min(cin * 2, cfg.max_channels)
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2)]
        layers += [nn.Conv2d(cout, 1, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, images: Tensor) -> Tensor:
        if images.shape[1] != self.in_channels:
            raise ValueError(
                f"discriminator expects {self.in_channels} channels, got {images.shape[1]}"
            )
        return self.net(images.float() * 2.0 - 1.0)  # [B,1,h,w]


def with_mask(images: Tensor, mask: Tensor, disc: PatchDiscriminator) -> Tensor:
    """Append mask [B,H,W] as a fourth channel when ``disc`` takes one."""
    if disc.in_channels == 4:
        return torch.cat([images, mask[:, None].to(images.dtype)], dim=1)
    return images


def downsample(images: Tensor, size: int) -> Tensor:
    """Area-average [B,C,H,W] to [B,C,size,size] (identity when already that size)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="area")
