"""``train.cpu_bf16`` in stage 1: which parts switch to bf16, and how close they stay."""

import torch

import gina3d.models.transformer as tr
from gina3d.models.config import tiny_model_config
from gina3d.models.stage1 import Stage1Model


def _model(**changes):
    torch.manual_seed(0)
    cfg = tiny_model_config(16)
    for key, value in changes.items():
        setattr(cfg, key, value)
    return Stage1Model(cfg)


def _inputs():
    g = torch.Generator().manual_seed(1)
    rgb = torch.rand(2, 3, 16, 16, generator=g)
    d = torch.nn.functional.normalize(torch.randn(2, 16, 16, 3, generator=g), dim=-1)
    o = -4.0 * d.mean(dim=(1, 2), keepdim=True).expand_as(d)
    return rgb, d, o, torch.tensor([[4.0, 2.0, 1.5]] * 2)


def test_switch_reaches_field_and_style_generator(monkeypatch):
    model = _model()
    monkeypatch.setattr(tr, "cpu_bf16_native", lambda: True)
    assert tr.use_cpu_bf16(model, True)
    assert model.field.cpu_bf16 and model.decoder.generator.cpu_bf16 and model.encoder.cpu_bf16
    monkeypatch.setattr(tr, "cpu_bf16_native", lambda: False)
    assert not tr.use_cpu_bf16(model, True) and not model.field.cpu_bf16


def test_bf16_stage1_stays_close_to_fp32_and_returns_fp32(monkeypatch):
    model = _model().eval()
    rgb, d, o, box = _inputs()
    rays_o, rays_d = o.reshape(2, -1, 3)[:, :64], d.reshape(2, -1, 3)[:, :64]
    with torch.no_grad():
        tri32, _ = model(rgb, d, o, box)
        out32 = model.render_rays(tri32, rays_o, rays_d, box, perturb=False)
        monkeypatch.setattr(tr, "cpu_bf16_native", lambda: True)
        tr.use_cpu_bf16(model, True)
        tri16, _ = model(rgb, d, o, box)
        out16 = model.render_rays(tri16, rays_o, rays_d, box, perturb=False)
    assert tri16.dtype == torch.float32 and out16["rgb"].dtype == torch.float32
    assert float((tri16 - tri32).abs().max()) < 0.05 * float(tri32.abs().max())
    for key in ("rgb", "opacity"):
        assert float((out16[key] - out32[key]).abs().max()) < 0.02


def test_signed_distance_field_keeps_fp32(monkeypatch):
    model = _model(field_type="sdf").eval()
    tri = torch.randn(1, 3, model.cfg.plane_features, 16, 16)
    points = torch.rand(1, 50, 3) * 2 - 1
    with torch.no_grad():
        ref = model.field(tri, points)
        monkeypatch.setattr(tr, "cpu_bf16_native", lambda: True)
        tr.use_cpu_bf16(model, True)
        out = model.field(tri, points)
    assert torch.equal(out["sdf"], ref["sdf"]) and torch.equal(out["sigma"], ref["sigma"])
