"""The bf16 CPU attention path against PyTorch's fused attention in fp32."""

import torch
import torch.nn.functional as F

from gina3d.models.transformer import Attention, bf16_cpu_attention


def _qkv(n, m, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(2, 4, n, 32, generator=g)
    k, v = torch.randn(2, 4, m, 32, generator=g), torch.randn(2, 4, m, 32, generator=g)
    return q, k, v, -4.0 * torch.rand(2, 4, n, m, generator=g)


def test_bf16_attention_matches_fp32_fused_attention():
    for n, m, with_bias in ((48, 48, False), (48, 16, True)):
        q, k, v, bias = _qkv(n, m, seed=n + m)
        bias = bias if with_bias else None
        ref = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        out = bf16_cpu_attention(q.bfloat16(), k.bfloat16(), v.bfloat16(), bias)
        assert out.dtype == torch.bfloat16 and out.shape == ref.shape
        err = (out.float() - ref).abs()
        assert float(err.max()) < 0.05 and float(err.mean()) < 0.006  # bf16 rounding


def test_attention_module_uses_it_under_cpu_autocast_and_gradients_agree():
    torch.manual_seed(0)
    attn = Attention(64, 2)
    x = torch.randn(2, 24, 64, requires_grad=True)
    ref = attn(x)
    (gref,) = torch.autograd.grad(ref.square().sum(), x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = attn(x)
    (grad,) = torch.autograd.grad(out.float().square().sum(), x)
    assert out.dtype == torch.bfloat16
    assert torch.allclose(out.float(), ref, atol=0.02)
    assert float((grad - gref).norm() / gref.norm()) < 0.05
