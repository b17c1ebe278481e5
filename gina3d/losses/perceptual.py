"""A perceptual distance from the shipped FID Inception-v3, frozen, layer by layer.

No LPIPS or VGG weights can be installed offline; the FID Inception-v3 that gina3d ships
(``models/inception.py``) is an ImageNet network whose layers can be called one by one.
``InceptionPerceptual`` runs the first layers of ``default_1.pt`` up to the deepest tap and
compares the two images' activations at each tap, LPIPS-style but without learned weights:

    d = sum_l w_l * mean_{h,w} || n(f_l(x))_{hw} - n(f_l(y))_{hw} ||^2 / sum_l w_l,

where ``n`` scales each spatial position's feature vector to unit length (so the distance
is about the pattern, not the activation's magnitude, and every tap is of order 1).

Input: images [B,3,H,W] in [0,1] are resized (bilinear, differentiable) to ``resolution``
pixels (at least 75, the smallest input the stem accepts; 96 keeps 9x9 maps at ``mixed``)
and mapped to the network's TF Inception range [-1, 1]. Which taps and weights: measured
by ``benchmarks/perceptual_layers.py`` (docs/stage1.md, "Image-space terms"). The network's
parameters are frozen (no gradients), so only the rendered image receives any; the real
side is computed without a graph.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gina3d.errors import Gina3dError

LAYER_ORDER = (
    "conv conv_1 conv_2 pool0 conv_3 conv_4 pool1 mixed mixed_1 mixed_2 mixed_3 mixed_4 "
    "mixed_5 mixed_6 mixed_7"
).split()  # default_1.pt's layers that keep a spatial map at small inputs
DEFAULT_TAPS = ("mixed",)
MIN_RESOLUTION = 75


def unit_normalise(f: Tensor, eps: float = 1e-8) -> Tensor:
    """Feature maps [B,C,H,W] with each position's C-vector scaled to unit length."""
    return f / (f.pow(2).sum(dim=1, keepdim=True) + eps).sqrt()


class InceptionPerceptual(nn.Module):
    """Frozen Inception-v3 layers -> a perceptual distance between two image batches."""

    def __init__(
        self,
        layers: nn.Module,
        taps: tuple[str, ...] = DEFAULT_TAPS,
        weights: tuple[float, ...] | None = None,
        resolution: int = 96,
        name: str = "fid-inception-v3",
        checksum: str = "",
    ) -> None:
        super().__init__()
        unknown = [t for t in taps if t not in LAYER_ORDER]
        if not taps or unknown:
            raise Gina3dError(
                f"perceptual taps must be some of {', '.join(LAYER_ORDER)}; got {list(taps)}"
            )
        if resolution < MIN_RESOLUTION:
            raise Gina3dError(
                f"perceptual resolution must be >= {MIN_RESOLUTION}, got {resolution}"
            )
        weights = tuple(weights) if weights is not None else (1.0,) * len(taps)
        if len(weights) != len(taps) or min(weights) < 0 or sum(weights) <= 0:
            raise Gina3dError("perceptual weights: one non-negative weight per tap, not all 0")
        order = sorted(taps, key=LAYER_ORDER.index)
        self.taps = dict(zip(taps, weights))
        last = LAYER_ORDER.index(order[-1])
        children = dict(layers.named_children())
        self.names = LAYER_ORDER[: last + 1]
        self.layers = nn.ModuleList([children[n] for n in self.names])
        for p in self.parameters():
            p.requires_grad_(False)
        self.resolution, self.name, self.checksum = resolution, name, checksum

    @classmethod
    def from_installed(cls, **kwargs) -> InceptionPerceptual:
        """The network from the installed wheel, checksum checked (Gina3dError otherwise)."""
        from gina3d.models.inception import INCEPTION_NAME, load_inception

        module, checksum = load_inception()
        return cls(module.net.layers, name=INCEPTION_NAME, checksum=checksum, **kwargs)

    def features(self, images: Tensor) -> dict[str, Tensor]:
        """Unit-normalised activations at the taps of images [B,3,H,W] in [0,1]."""
        x = F.interpolate(
            images.float(), size=(self.resolution, self.resolution), mode="bilinear",
            align_corners=False, antialias=images.shape[-1] > self.resolution,
        )  # fmt: skip
        x = x * 2.0 - 1.0  # the TF Inception range
        out = {}
        for name, layer in zip(self.names, self.layers):
            x = layer(x)
            if name in self.taps:
                out[name] = unit_normalise(x)
        return out

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Distance (a scalar) between pred and target [B,3,H,W] in [0,1]; the gradient
        reaches ``pred`` only."""
        fp = self.features(pred)
        with torch.no_grad():
            ft = self.features(target)
        total = sum(self.taps.values())
        terms = [w * (fp[n] - ft[n]).pow(2).sum(dim=1).mean() for n, w in self.taps.items()]
        return torch.stack(terms).sum() / total

    def describe(self) -> dict:
        """What a run records about the network."""
        return {"name": self.name, "sha256": self.checksum, "taps": self.taps,
                "resolution": self.resolution}  # fmt: skip
