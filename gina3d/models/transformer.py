"""Pre-norm transformer blocks shared by the encoder and decoder, and tri-plane embeddings.

Attention uses ``torch.nn.functional.scaled_dot_product_attention`` (on a CPU in bf16, the
plain products: ``bf16_cpu_attention``). Mixed precision is switched on here only:
``transformer_autocast`` around transformer stacks, always on CUDA, and on a CPU for modules
switched to it (``use_cpu_bf16``: training sets it from ``train.cpu_bf16``) when the CPU
multiplies bf16 natively; ``cpu_autocast`` around the stage-1 field MLP and style generator,
on a CPU only, under the same switch.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def transformer_autocast(x: Tensor, cpu_bf16: bool = False) -> contextlib.AbstractContextManager:
    """bf16 autocast when ``x`` lives on a GPU, or on a CPU with ``cpu_bf16``; else none."""
    if x.is_cuda:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return cpu_autocast(x, cpu_bf16)


def cpu_autocast(x: Tensor, cpu_bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast when ``x`` lives on a CPU and ``cpu_bf16`` is set; else none."""
    if cpu_bf16 and x.device.type == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def cpu_bf16_native() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def use_cpu_bf16(module: nn.Module, enabled: bool) -> bool:
    """Switch bf16 autocast on CPUs for every part of ``module`` that has a ``cpu_bf16``
    attribute (transformer stacks, the stage-1 field MLP and style generator); on only where
    the CPU has native bf16. Returns the setting."""
    on = bool(enabled) and cpu_bf16_native()
    for m in module.modules():
        if hasattr(m, "cpu_bf16"):
            m.cpu_bf16 = on
    return on


class Attention(nn.Module):
    """Multi-head attention; self-attention when ``context`` is None."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)

    def forward(
        self, x: Tensor, context: Tensor | None = None, bias: Tensor | None = None
    ) -> Tensor:
        """x [B,N,D], context [B,M,D] (None: x), bias added to the logits [B,heads|1,N,M]."""
        context = x if context is None else context
        b, n, d = x.shape
        m = context.shape[1]
        h = self.heads
        q = self.q(x).view(b, n, h, d // h).transpose(1, 2)  # [B,heads,N,D/heads]
        k, v = self.kv(context).view(b, m, 2, h, d // h).permute(2, 0, 3, 1, 4)
        if q.dtype == torch.bfloat16 and q.device.type == "cpu":
            y = bf16_cpu_attention(q, k, v, bias)
        else:
            if bias is not None:
                bias = bias.to(q.dtype)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # [B,heads,N,D/heads]
        return self.out(y.transpose(1, 2).reshape(b, n, d))


def bf16_cpu_attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None) -> Tensor:
    """Attention of bf16 q [B,h,N,d], k, v [B,h,M,d] on a CPU: bf16 products, the softmax
    in fp32 (with ``bias`` [B,h|1,N,M] added in fp32). PyTorch's fused CPU kernel is slower
    in bf16 than in fp32 at these sizes (forward and backward at 192 tokens of width 32:
    7.5 ms against 4.1 for this; at 64 tokens 2.7 against 0.8)."""
    logits = (q * q.shape[-1] ** -0.5) @ k.transpose(-1, -2)  # [B,h,N,M] bf16
    logits = logits.float() if bias is None else logits.float() + bias.float()
    return torch.softmax(logits, dim=-1).to(v.dtype) @ v


class Block(nn.Module):
    """Pre-norm block: [cross-attention to a context], self-attention, MLP (4x)."""

    def __init__(self, width: int, heads: int, cross: bool = False) -> None:
        super().__init__()
        self.cross = Attention(width, heads) if cross else None
        self.norm_x = nn.LayerNorm(width) if cross else None
        self.norm_c = nn.LayerNorm(width) if cross else None
        self.norm1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(
        self, x: Tensor, context: Tensor | None = None, bias: Tensor | None = None
    ) -> Tensor:
        """``bias`` [B,heads|1,N,M]: added to the cross-attention logits."""
        if self.cross is not None:
            x = x + self.cross(self.norm_x(x), self.norm_c(context), bias)
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def sincos_2d(h: int, w: int, width: int) -> Tensor:
    """Fixed 2D sine-cosine position encoding [h*w, D] (half the channels per axis)."""
    quarter = width // 4
    freq = torch.exp(-math.log(10000.0) * torch.arange(quarter) / max(quarter, 1))  # [D/4]
    rows, cols = torch.meshgrid(
        torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij"
    )
    parts = []
    for coord in (cols.reshape(-1), rows.reshape(-1)):  # [h*w]
        angle = coord[:, None] * freq[None]  # [h*w,D/4]
        parts += [angle.sin(), angle.cos()]
    enc = torch.cat(parts, dim=1)  # [h*w,4*(D/4)]
    return F.pad(enc, (0, width - enc.shape[1]))  # [h*w,D]


class TriplaneEmbedding(nn.Module):
    """Position of each of the T = 3*h*w tri-plane tokens: learned plane + fixed 2D code.

    Token order is plane-major: token ``p*h*w + i*w + j`` is plane p, row i, column j.
    ``scale`` multiplies the fixed 2D code (the encoder's queries use a small one so that
    their image content, not their position, dominates the latents from the start).
    """

    def __init__(self, plane_tokens: int, width: int, scale: float = 1.0) -> None:
        super().__init__()
        self.plane = nn.Parameter(torch.randn(3, 1, width) * 0.02)  # [P,1,D]
        pos = sincos_2d(plane_tokens, plane_tokens, width)[None] * scale  # [1,h*w,D]
        self.register_buffer("pos", pos, persistent=False)

    def forward(self) -> Tensor:
        return (self.plane + self.pos).reshape(1, -1, self.pos.shape[-1])  # [1,T,D]


def init_linear(module: nn.Module) -> None:
    """Truncated-normal (std 0.02) weights and zero biases for every Linear in ``module``."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
