"""Vector quantiser: straight-through gradients, statistics, l2 codes, dead-code restarts."""

from dataclasses import replace

import torch
import torch.nn.functional as F

from gina3d.models.config import tiny_model_config
from gina3d.models.quantizer import VectorQuantizer
from gina3d.models.stage1 import Stage1Model


def _cfg(**kw):
    return replace(tiny_model_config(16), **kw)


def test_straight_through_gradient_reaches_the_encoder():
    torch.manual_seed(0)
    model = Stage1Model(_cfg())
    rgb = torch.rand(2, 3, 16, 16)
    dirs = F.normalize(torch.randn(2, 16, 16, 3), dim=-1)
    origin = torch.tensor([-8.0, 0.0, 0.0]).expand(2, 16, 16, 3)
    triplane, vq = model(rgb, dirs, origin, torch.tensor([[4.0, 2.0, 1.5]] * 2))
    assert vq.z_q.shape == (2, model.cfg.num_tokens, model.cfg.code_dim)
    triplane.square().mean().backward()  # no VQ loss: only the straight-through path
    grad = model.encoder.patchify.weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0


def test_quantised_values_are_codes():
    vq = VectorQuantizer(_cfg()).eval()
    z = torch.randn(2, 5, 8)
    out = vq(z)
    assert torch.allclose(out.z_q, vq.codes()[out.indices], atol=1e-6)


def test_uniform_assignment_perplexity_and_usage():
    vq = VectorQuantizer(_cfg(codebook_size=16)).eval()
    out = vq(vq.codes().detach().clone()[None])  # every code exactly once
    assert torch.equal(out.indices[0], torch.arange(16))
    assert abs(float(out.perplexity) - 16.0) < 1e-3
    assert float(out.usage) == 1.0
    half = vq(vq.codes().detach()[:8].repeat(2, 1)[None])  # 8 codes twice each
    assert abs(float(half.perplexity) - 8.0) < 1e-3 and float(half.usage) == 0.5


def test_l2_codes_are_unit_norm_and_loss_is_finite():
    vq = VectorQuantizer(_cfg(codebook_l2=True)).train()
    out = vq(torch.randn(3, 7, 8) * 5)
    assert torch.allclose(vq.codes().norm(dim=-1), torch.ones(vq.cfg.codebook_size), atol=1e-5)
    assert torch.allclose(out.z_q.norm(dim=-1), torch.ones(3, 7), atol=1e-5)
    assert torch.isfinite(out.loss) and float(out.loss.detach()) >= 0


def test_dead_codes_are_restarted_from_encoder_outputs():
    vq = VectorQuantizer(_cfg(codebook_size=8, dead_code_restart=True)).train()
    vq.code_usage.fill_(1.0)  # past the first-batch initialisation
    codes = vq.codes().detach().clone()
    z = codes[:1].repeat(4, 1) + 0.01 * torch.randn(4, 8)  # near code 0 only
    vq.code_usage[5] = 0.0  # code 5 has gone unused for a long time
    vq(z[None])
    assert int(vq.restarts) == 1
    new = vq.codes().detach()
    assert not torch.allclose(new[5], codes[5])
    assert min(float((new[5] - F.normalize(v, dim=0)).norm()) for v in z) < 1e-5
    assert torch.allclose(new[[1, 2, 3, 4, 6, 7]], codes[[1, 2, 3, 4, 6, 7]])


def test_first_training_batch_initialises_unused_codes():
    vq = VectorQuantizer(_cfg(codebook_size=32)).train()
    out = vq(torch.randn(2, 48, 8))
    used = int(out.indices.unique().numel())
    assert int(vq.restarts) == 32 - used  # every code not picked by the batch
    restarts = int(vq.restarts)
    vq.code_usage.zero_()
    out = vq.eval()(torch.randn(2, 48, 8))
    assert int(vq.restarts) == restarts  # evaluation never restarts codes
    assert out.indices.max() < 32


def test_ema_codebook_moves_towards_assigned_inputs():
    vq = VectorQuantizer(_cfg(codebook_size=4, codebook_ema=True, codebook_l2=False)).train()
    vq.code_usage.fill_(1.0)
    target = torch.full((1, 16, 8), 0.5)
    before = vq.codebook.clone()
    for _ in range(50):
        out = vq(target)
    k = int(out.indices[0, 0])
    assert float((vq.codebook[k] - 0.5).abs().max()) < float((before[k] - 0.5).abs().max())
    assert not any(p is vq.codebook for p in vq.parameters())  # EMA codes are buffers
