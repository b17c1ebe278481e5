"""Vector quantiser: nearest-code lookup with a straight-through gradient.

Two ways to learn the codebook: the codebook loss ``||sg(z) - e||^2`` (default), or EMA
updates of the codes (``codebook_ema``; the VQ loss is then the commitment term alone). With
``codebook_l2`` codes and inputs are L2-normalised, so the lookup is by cosine similarity
(ViT-VQGAN). Dead codes: ``code_usage`` is a per-code EMA (decay ``ema_decay``) of the
share of the batch's assignments that went to the code (uniform use: 1/K each). A code whose
share falls below ``dead_code_threshold`` has gone unused for a while (from the uniform
share 1/512, about 70 steps at the defaults) and, in training, is re-initialised from the
batch's worst-represented encoder outputs (deterministic: no random draw), counted in the
buffer ``restarts``; its share is reset to 1/K. ``code_usage`` starts at 0, so the first
training batch replaces every code it does not use with encoder outputs (a data-dependent
initialisation).

Under torch.distributed the per-batch code counts (and EMA sums) are all-reduced, so every
rank sees the same usage and restarts the same codes; the restarted rows come from rank 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from gina3d.models.config import ModelConfig


@dataclass
class VQOutput:
    """Result of quantising latents z [B,T,C]."""

    z_q: Tensor
    """[B,T,C] quantised latents; forward = code, backward = identity to z (straight-through)."""
    indices: Tensor
    """[B,T] long code indices."""
    loss: Tensor
    """Scalar: codebook term (unless EMA) + commitment * commitment term."""
    perplexity: Tensor
    """Scalar: exp(entropy) of the batch's code histogram (K when uniform over all codes)."""
    usage: Tensor
    """Scalar: fraction of the K codes used at least once in the batch."""


class VectorQuantizer(nn.Module):
    """Codebook of K codes of dimension C (see the module docstring)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        k, c = cfg.codebook_size, cfg.code_dim
        init = torch.randn(k, c) if cfg.codebook_l2 else torch.empty(k, c).uniform_(-1 / k, 1 / k)
        if cfg.codebook_l2:
            init = F.normalize(init, dim=-1)
        if cfg.codebook_ema:
            self.register_buffer("codebook", init.clone())  # [K,C]
            self.register_buffer("ema_count", torch.ones(k))  # [K]
            self.register_buffer("ema_sum", init.clone())  # [K,C]
        else:
            self.codebook = nn.Parameter(init)  # [K,C]
        self.register_buffer("code_usage", torch.zeros(k))  # [K] EMA of assignment shares
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))

    def codes(self) -> Tensor:
        """The codebook as used for lookup [K,C] (normalised when l2)."""
        return F.normalize(self.codebook, dim=-1) if self.cfg.codebook_l2 else self.codebook

    def lookup(self, indices: Tensor) -> Tensor:
        """Code vectors [...,C] of indices [...] (long)."""
        return F.embedding(indices, self.codes())

    def forward(self, z: Tensor) -> VQOutput:
        cfg = self.cfg
        b, t, c = z.shape
        z = z.float()
        if cfg.codebook_l2:
            z = F.normalize(z, dim=-1)
        flat = z.reshape(-1, c)  # [B*T,C]
        with torch.no_grad():
            codes = self.codes()  # [K,C]
            # ||z - e||^2 = ||z||^2 + (||e||^2 - 2 z.e): the row's ||z||^2 does not change
            # which code is nearest, so one fused product ranks the codes
            ranking = torch.addmm(codes.pow(2).sum(1)[None], flat, codes.T, alpha=-2.0)
            idx = ranking.argmin(dim=1)  # [B*T]
            counts = torch.bincount(idx, minlength=cfg.codebook_size).float()  # [K]
            if self.training:
                if _distributed():
                    dist.all_reduce(counts)
                if cfg.codebook_ema:
                    self._ema_update(flat, idx, counts)
                share = counts / counts.sum()  # [K]
                self.code_usage.mul_(cfg.ema_decay).add_(share, alpha=1 - cfg.ema_decay)
                if cfg.dead_code_restart:
                    error = ranking.gather(1, idx[:, None])[:, 0] + flat.pow(2).sum(1)  # [B*T]
                    self._restart_dead(flat, error, counts)
        e = self.lookup(idx).view(b, t, c)  # [B,T,C]
        commit = F.mse_loss(z, e.detach())
        loss = cfg.commitment * commit
        if not cfg.codebook_ema:
            loss = loss + F.mse_loss(e, z.detach())
        z_q = z + (e - z).detach()  # straight-through
        probs = counts / counts.sum()  # [K]
        entropy = -(probs * torch.log(probs.clamp_min(1e-12))).sum()
        return VQOutput(
            z_q=z_q,
            indices=idx.view(b, t),
            loss=loss,
            perplexity=entropy.exp(),
            usage=(counts > 0).float().mean(),
        )

    def _ema_update(self, flat: Tensor, idx: Tensor, counts: Tensor) -> None:
        decay, k = self.cfg.ema_decay, self.cfg.codebook_size
        sums = torch.zeros_like(self.ema_sum).index_add_(0, idx, flat)  # [K,C]
        if _distributed():
            dist.all_reduce(sums)
        self.ema_count.mul_(decay).add_(counts, alpha=1 - decay)
        self.ema_sum.mul_(decay).add_(sums, alpha=1 - decay)
        total = self.ema_count.sum()
        smoothed = (self.ema_count + 1e-5) / (total + k * 1e-5) * total  # Laplace, [K]
        self.codebook.copy_(self.ema_sum / smoothed[:, None])

    def _restart_dead(self, flat: Tensor, error: Tensor, counts: Tensor) -> None:
        unused = (self.code_usage < self.cfg.dead_code_threshold) & (counts == 0)  # [K]
        dead = torch.nonzero(unused)[:, 0]  # [n] (codes of this batch are never replaced)
        if dead.numel() == 0:
            return
        order = torch.argsort(error, descending=True)  # worst-represented first
        source = flat[order[torch.arange(dead.numel(), device=flat.device) % len(order)]]
        self.codebook.data[dead] = source.to(self.codebook.dtype)
        if self.cfg.codebook_ema:
            self.ema_sum[dead] = source
            self.ema_count[dead] = 1.0
        if _distributed():  # every rank restarted the same codes: take rank 0's rows
            dist.broadcast(self.codebook.data, 0)
            if self.cfg.codebook_ema:
                dist.broadcast(self.ema_sum, 0)
        self.code_usage[dead] = 1.0 / self.cfg.codebook_size
        self.restarts.add_(dead.numel())


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
