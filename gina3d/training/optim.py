"""The optimiser and gradient clipping of both training stages.

AdamW uses PyTorch's fused kernel on the CPU (one pass per parameter instead of a dozen
small ops: the stage-1 ``cpu`` preset's update takes about 2 ms instead of 9); on other
devices PyTorch's default implementation (the fused CUDA kernel is not validated here).
Both compute the same update up to rounding. Gradients are clipped with the multi-tensor
(foreach) norm.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def adamw(
    params: Iterable, device: torch.device, lr: float, betas: tuple[float, float], **kwargs
) -> torch.optim.AdamW:
    """AdamW over ``params`` (tensors or parameter groups) living on ``device``."""
    fused = torch.device(device).type == "cpu"
    return torch.optim.AdamW(params, lr=lr, betas=betas, fused=fused or None, **kwargs)


def clip_gradients(module: torch.nn.Module, max_norm: float) -> None:
    """Scale ``module``'s gradients so that their total norm is at most ``max_norm``."""
    torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm, foreach=True)
