"""Signed-distance fields: VolSDF density, eikonal term, the sdf field and a training step."""

import math

import pytest
import torch

from gina3d.models.config import ModelConfig, tiny_model_config
from gina3d.models.sdf import (
    box_points,
    eikonal_loss,
    laplace_density,
    numerical_gradient,
    sphere_sdf,
)
from gina3d.models.stage1 import Stage1Model


def test_laplace_density_known_values():
    beta = 0.1
    d = torch.tensor([0.0, beta, -beta, 5.0, -5.0, 2 * beta], dtype=torch.float64)
    sigma = laplace_density(d, beta)
    e = math.exp
    want = [0.5 / beta, 0.5 * e(-1) / beta, (1 - 0.5 * e(-1)) / beta, 0.5 * e(-50) / beta,
            (1 - 0.5 * e(-50)) / beta, 0.5 * e(-2) / beta]  # fmt: skip
    assert torch.allclose(sigma, torch.tensor(want, dtype=torch.float64), rtol=1e-12)
    # monotone decreasing in d, continuous at 0, bounded by 1/beta
    grid = torch.linspace(-1, 1, 2001, dtype=torch.float64)
    s = laplace_density(grid, beta)
    assert bool((s[1:] <= s[:-1]).all()) and float(s.max()) <= 1 / beta
    # its derivative at the surface is -0.5 / beta^2 from both sides
    h = 1e-7
    for x in (0.0, -h, h):
        x_t = torch.tensor([x - h, x + h], dtype=torch.float64)
        slope = float((laplace_density(x_t, beta)[1] - laplace_density(x_t, beta)[0]) / (2 * h))
        assert slope == pytest.approx(-0.5 / beta**2, rel=1e-3)


def test_eikonal_term_on_an_analytic_sphere():
    g = torch.Generator().manual_seed(0)
    pts = box_points(2, 500, g, "cpu")  # [2,500,3]
    pts = pts[pts.norm(dim=-1) > 0.1].view(1, -1, 3)  # away from the centre's kink
    grad = numerical_gradient(lambda p: sphere_sdf(p, 0.5), pts, 1e-3)
    assert eikonal_loss(grad) < 1e-6
    unit = pts / pts.norm(dim=-1, keepdim=True)
    assert torch.allclose(grad, unit, atol=1e-3)
    # twice the distance has |grad| = 2 everywhere: (2 - 1)^2 = 1
    grad2 = numerical_gradient(lambda p: 2 * sphere_sdf(p, 0.5), pts, 1e-3)
    assert float(eikonal_loss(grad2)) == pytest.approx(1.0, abs=1e-3)


def _sdf_model(**kw) -> Stage1Model:
    torch.manual_seed(0)
    cfg = tiny_model_config(16)
    cfg.field_type = "sdf"
    for k, v in kw.items():
        setattr(cfg, k, v)
    return Stage1Model(cfg)


def test_sdf_field_starts_as_its_prior_sphere_and_reports_its_distance():
    model = _sdf_model()
    model.field.mlp[-1].weight.data.zero_()
    tri = torch.randn(1, 3, 8, 16, 16)
    pts = torch.tensor([[[0.0, 0.0, 0.0], [0.75, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    out = model.field(tri, pts)
    assert torch.allclose(out["sdf"], torch.tensor([[-0.75, 0.0, 0.25]]), atol=1e-6)
    assert torch.allclose(model.field.sdf(tri, pts), out["sdf"])
    beta = float(model.field.beta().detach())
    assert beta == pytest.approx(model.cfg.sdf_beta_init, rel=1e-5)
    assert float(out["sigma"][0, 1]) == pytest.approx(0.5 / beta, rel=1e-5)
    dens = Stage1Model(tiny_model_config(16))
    assert "sdf" not in dens.field(tri, pts) and not dens.field.is_sdf
    with pytest.raises(ValueError, match="not a signed distance"):
        dens.field.sdf(tri, pts)


def test_sdf_config_is_validated():
    bad_configs = [
        {"field_type": "occupancy"},
        {"sdf_beta_min": 0.0},
        {"sdf_beta_min": 0.1, "sdf_beta_init": 0.05},
        {"sdf_init_radius": 1.5},
    ]
    for bad in bad_configs:
        with pytest.raises(ValueError, match="field_type|sdf_"):
            ModelConfig(**bad).validate()


def test_sdf_training_step_trains_beta_and_the_eikonal_term_reaches_the_field():
    from gina3d.training.stage1_objective import LossConfig, Stage1Objective
    from tests.training.test_stage1_objective import make_batch

    model = _sdf_model(sdf_learn_beta=True, sdf_beta_init=0.05)
    obj = Stage1Objective(model, None, LossConfig(rays_per_image=64, eikonal=0.1))
    loss, logs = obj.generator_loss(make_batch(), 0, torch.Generator().manual_seed(0))
    assert logs["eikonal"] > 0 and logs["sdf_beta"] == pytest.approx(0.05, rel=1e-4)
    loss.backward()
    assert model.field.log_beta_excess.grad is not None
    assert model.field.mlp[0].weight.grad.abs().sum() > 0
    # the eikonal term alone moves the MLP and the decoder's planes
    model.zero_grad()
    tri = model.decode(model.quantize(model.encode_batch(make_batch())).z_q)
    obj._eikonal(tri, torch.Generator().manual_seed(1)).backward()
    assert model.field.mlp[0].weight.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.decoder.parameters())
    # a density model gets no eikonal term and logs no beta
    dens = Stage1Objective(Stage1Model(tiny_model_config(16)), None, LossConfig(rays_per_image=64))
    _, dlogs = dens.generator_loss(make_batch(), 0, torch.Generator().manual_seed(0))
    assert dlogs["eikonal"] == 0.0 and "sdf_beta" not in dlogs


def test_fixed_beta_stays_put():
    model = _sdf_model(sdf_learn_beta=False, sdf_beta_init=0.02)
    from gina3d.training.stage1_objective import LossConfig, Stage1Objective
    from tests.training.test_stage1_objective import make_batch

    obj = Stage1Objective(model, None, LossConfig(rays_per_image=64))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss, _ = obj.generator_loss(make_batch(), 0, torch.Generator().manual_seed(0))
    loss.backward()
    opt.step()
    assert model.field.log_beta_excess.grad is None
    assert float(model.field.beta().detach()) == pytest.approx(0.02, rel=1e-5)


def test_a_learned_sharpness_is_kept_out_of_weight_decay():
    from gina3d.training.stage1 import _param_groups

    model = _sdf_model(sdf_learn_beta=True)
    groups = _param_groups(model, 0.1)
    assert groups[1]["params"] == [model.field.log_beta_excess]
    assert groups[1]["weight_decay"] == 0.0
    assert len(groups[0]["params"]) == len(list(model.parameters())) - 1
    dens = Stage1Model(tiny_model_config(16))
    assert isinstance(_param_groups(dens, 0.1), list) and len(_param_groups(dens, 0.1)) > 2
    assert _param_groups(model, 0.0) == list(model.parameters())
