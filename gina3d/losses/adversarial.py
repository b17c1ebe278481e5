"""GAN losses (hinge or non-saturating) and the R1 gradient penalty.

Logits are the discriminator's patch maps [B,1,h,w]; every term is averaged over patches.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

KINDS = ("hinge", "non_saturating")


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"adversarial kind must be one of {KINDS}, got {kind!r}")


def generator_adversarial(fake_logits: Tensor, kind: str = "hinge") -> Tensor:
    """Generator term: hinge -E[D(fake)]; non-saturating E[softplus(-D(fake))]."""
    _check(kind)
    if kind == "hinge":
        return -fake_logits.float().mean()
    return F.softplus(-fake_logits.float()).mean()


def discriminator_adversarial(
    real_logits: Tensor, fake_logits: Tensor, kind: str = "hinge"
) -> Tensor:
    """Discriminator term: hinge E[relu(1-D(real))] + E[relu(1+D(fake))]; or softplus form."""
    _check(kind)
    real, fake = real_logits.float(), fake_logits.float()
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def r1_penalty(disc: nn.Module, real: Tensor) -> Tensor:
    """E[ ||d D(real) / d real||^2 ] / 2 over the batch (multiply by gamma at the call).

    D(x) is the image's mean patch logit, the quantity the losses use, so the penalty does
    not grow with the number of patches. Gradients are taken w.r.t. images in [0,1].
    """
    real = real.detach().float().requires_grad_(True)
    logits = disc(real).flatten(1).mean(dim=1)  # [B]
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return 0.5 * grad.pow(2).flatten(1).sum(dim=1).mean()
