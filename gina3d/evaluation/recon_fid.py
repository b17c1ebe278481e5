"""rFID: how far stage-1 reconstructions are, as a set, from the patches they came from.

``gina3d eval recon`` renders each evaluated patch's reconstruction at its input camera.
Both sides are masked identically before any feature is taken: object pixels (visible, not
occluded) keep their colour, everything else (scene background, occluders) is the same
grey, ``GREY``; the render is composited over that grey by its opacity first. Features
come from the FID network (``features.fid_inception``: the shipped Inception-v3, 2048-d).

- ``rfid``: FID between all reconstructions and all their input patches.
- ``rfid_floor``: what two samples of real patches score against each other at the same
  counts: the evaluated patches are split in two halves A and B (a seeded shuffle), and the
  floor is FID(real A, real B); ``rfid_half`` is FID(reconstructions of A, real B) on the
  same halves, so ``rfid_half`` against ``rfid_floor`` compares like with like (FID grows as
  samples shrink, so ``rfid`` itself is not comparable with the floor).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from gina3d.evaluation.fid import frechet_distance
from gina3d.training.windows import GREY  # the grey the training windows use

MIN_PATCHES = 4  # two per half at least


def masked_pair(pred: Tensor, opacity: Tensor, rgb: Tensor, obj: Tensor) -> tuple[Tensor, Tensor]:
    """(reconstruction, real) [B,3,H,W] in [0,1], both grey outside the object pixels.

    pred [B,3,H,W] premultiplied render, opacity [B,H,W], rgb [B,3,H,W], obj [B,H,W] bool."""
    keep = obj[:, None].float()
    over = pred.float() + (1.0 - opacity.float()[:, None]) * GREY  # the render over grey
    fake = over.clamp(0, 1) * keep + (1.0 - keep) * GREY
    real = rgb.float() * keep + (1.0 - keep) * GREY
    return fake, real


class RfidCollector:
    """Features of masked reconstruction / real pairs, taken batch by batch (only the
    features are kept) with ``network``, a ``features.FeatureNetwork``."""

    def __init__(self, network, device="cpu") -> None:
        self.network, self.device = network, device
        self.fake: list[Tensor] = []  # [b,D] features per batch
        self.real: list[Tensor] = []

    def add(self, pred: Tensor, opacity: Tensor, rgb: Tensor, obj: Tensor) -> None:
        fake, real = masked_pair(pred, opacity, rgb, obj)
        self.fake.append(self.network.features(fake, device=self.device))
        self.real.append(self.network.features(real, device=self.device))

    def compute(self, seed: int = 0) -> tuple[dict, str | None]:
        """(metrics, reason skipped or None)."""
        n = sum(len(f) for f in self.fake)
        if n < MIN_PATCHES:
            return {"rfid": None, "rfid_half": None, "rfid_floor": None}, (
                f"rfid needs at least {MIN_PATCHES} patches, got {n}"
            )
        fake = torch.cat(self.fake).numpy()  # [N,D]
        real = torch.cat(self.real).numpy()
        order = np.random.default_rng(seed).permutation(n)
        a, b = order[: n // 2], order[n // 2 :]
        return {
            "rfid": frechet_distance(fake, real),
            "rfid_half": frechet_distance(fake[a], real[b]),
            "rfid_floor": frechet_distance(real[a], real[b]),
        }, None

    def protocol(self) -> dict:
        return {
            "feature_network": self.network.describe(),
            "masking": "object pixels keep their colour, all others grey 0.5 on both sides; "
            "the render is composited over grey by its opacity first",
            "halves": "seeded shuffle of the evaluated patches; rfid_half = FID(recon A, "
            "real B), rfid_floor = FID(real A, real B)",
        }
