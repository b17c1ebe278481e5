"""Volume renderer: vectorised vs reference compositing, box intersection, known answers."""

import math

import torch
from torch import nn

from gina3d.models.config import tiny_model_config
from gina3d.models.ray_sampling import importance_samples, intersect_unit_box, stratified_samples
from gina3d.models.renderer import composite, render_rays, render_reference


class ConstantField(nn.Module):
    """Density ``sigma`` (per normalised unit) and colour ``rgb`` everywhere."""

    def __init__(self, sigma: float, rgb=(0.2, 0.4, 0.6)):
        super().__init__()
        self.sigma, self.rgb = sigma, torch.tensor(rgb)

    def forward(self, triplane, points):
        b, m, _ = points.shape
        return {"sigma": torch.full((b, m), self.sigma), "rgb": self.rgb.expand(b, m, 3)}


def _ray_along_x(box=(4.0, 2.0, 2.0), start=-10.0):
    o = torch.tensor([[[start, 0.1, -0.2]]])
    d = torch.tensor([[[1.0, 0.0, 0.0]]])
    return o, d, torch.tensor([box])


def test_composite_matches_reference_loop():
    g = torch.Generator().manual_seed(0)
    n, s = 12, 9
    near = torch.rand(n, generator=g) * 3
    far = near + 0.5 + torch.rand(n, generator=g) * 2
    t = near[:, None] + (far - near)[:, None] * torch.sort(torch.rand(n, s, generator=g))[0]
    sigma = torch.rand(n, s, generator=g) * 20 * (torch.rand(n, s, generator=g) > 0.3)
    colour = torch.rand(n, s, 3, generator=g)
    scale = 0.3 + torch.rand(n, generator=g)
    fast = composite(sigma, colour, t, near, far, scale)
    ref = render_reference(sigma, colour, t, near, far, scale)
    for key in ("rgb", "opacity", "depth"):
        assert torch.allclose(fast[key], ref[key], atol=1e-5), key


def test_rays_missing_the_box_are_empty():
    cfg = tiny_model_config(16)
    from gina3d.models.field import TriplaneField

    field = TriplaneField(cfg)
    tri = torch.randn(1, 3, cfg.plane_features, cfg.plane_resolution, cfg.plane_resolution)
    o = torch.tensor([[[-10.0, 5.0, 0.0], [-10.0, 0.0, 0.0]]])
    d = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])  # passes beside / never reaches
    out = render_rays(field, tri * 100, o, d, torch.tensor([[4.0, 2.0, 2.0]]), 8, 4, None, False)
    assert torch.equal(out["opacity"], torch.zeros(1, 2))
    assert torch.equal(out["depth"], torch.zeros(1, 2))
    assert torch.equal(out["rgb"], torch.zeros(1, 2, 3))


def test_dense_field_is_opaque_at_the_box_entry():
    o, d, box = _ray_along_x()
    out = render_rays(ConstantField(1e4), None, o, d, box, 24, 16, None, False)
    assert abs(float(out["opacity"]) - 1.0) < 1e-5
    assert abs(float(out["depth"]) - 8.0) < 4.0 / 24  # within the first stratified bin
    assert torch.allclose(out["rgb"][0, 0], torch.tensor([0.2, 0.4, 0.6]), atol=1e-4)


def test_uniform_density_matches_the_analytic_answer():
    o, d, box = _ray_along_x()
    sigma = 0.3  # per normalised unit; the box is 2 units long along x (4 m)
    g = torch.Generator().manual_seed(1)
    out = render_rays(ConstantField(sigma), None, o, d, box, 24, 16, g, True)
    k, length = sigma * 0.5, 4.0  # density per metre, metres inside the box
    opacity = 1 - math.exp(-k * length)
    assert abs(float(out["opacity"]) - opacity) < 1e-5  # intervals tile [near, far] exactly
    depth = 8.0 + 1 / k - length * math.exp(-k * length) / opacity
    assert abs(float(out["depth"]) - depth) < 0.02


def test_box_intersection_known_distances():
    o = torch.tensor([[-10.0, -10.0, 0.0], [0.2, 0.1, 0.0], [-3.0, 0.0, 5.0]]) / 2
    d = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    d = d / d.norm(dim=-1, keepdim=True) / 2  # a 4 x 4 x 4 m box: half size 2
    near, far, hit = intersect_unit_box(o, d)
    assert hit.tolist() == [True, True, False]
    r2 = math.sqrt(2)
    assert torch.allclose(near[:2], torch.tensor([8 * r2, 0.0]), atol=1e-5)  # inside: near 0
    assert torch.allclose(far[:2], torch.tensor([12 * r2, 2.0]), atol=1e-5)
    assert near[2] == 0 and far[2] == 0


def test_samples_stay_inside_and_follow_the_generator():
    near, far = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 2.5])
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = stratified_samples(near, far, 8, g1, True)
    b = stratified_samples(near, far, 8, g2, True)
    assert torch.equal(a, b)
    assert bool((a >= near[:, None]).all() and (a <= far[:, None]).all())
    assert bool((a[:, 1:] >= a[:, :-1]).all())
    bounds = torch.linspace(0, 1, 9).expand(2, 9)
    weights = torch.zeros(2, 8)
    weights[:, 5] = 1.0
    t = importance_samples(bounds, weights, 64, None, False)
    assert float(((t >= 5 / 8) & (t <= 6 / 8)).float().mean()) > 0.95


def test_compact_path_matches_the_plain_path():
    """Only rays that hit the box are evaluated: same outputs and gradients as all rays."""
    from gina3d.models.field import TriplaneField

    cfg = tiny_model_config(16)
    torch.manual_seed(0)
    field = TriplaneField(cfg)
    tri = torch.randn(2, 3, cfg.plane_features, cfg.plane_resolution, cfg.plane_resolution)
    tri.requires_grad_(True)
    g = torch.Generator().manual_seed(3)
    o = torch.tensor([-10.0, 0.0, 0.0]) + torch.randn(2, 64, 3, generator=g) * 0.5
    target = torch.randn(2, 64, 3, generator=g) * torch.tensor([1.0, 2.0, 1.5])
    d = torch.nn.functional.normalize(target - o, dim=-1)  # about half miss a 4 x 2 x 2 box
    box = torch.tensor([[4.0, 2.0, 2.0], [3.0, 1.5, 1.0]])
    outs, grads = [], []
    for compact in (False, True):
        out = render_rays(
            field, tri, o, d, box, 8, 4, torch.Generator().manual_seed(7), True, compact
        )
        loss = sum((v * (i + 1)).square().sum() for i, v in enumerate(out.values()))
        grads.append(torch.autograd.grad(loss, [tri, *field.parameters()]))
        outs.append(out)
    hits = intersect_unit_box(o / (box[:, None] / 2), d / (box[:, None] / 2))[2]
    assert 0 < int(hits.sum()) < hits.numel() and int(hits.sum(1).max()) < 64
    assert outs[0].keys() == outs[1].keys()
    for key in outs[0]:
        assert torch.allclose(outs[0][key], outs[1][key], atol=1e-6), key
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)
    assert float(outs[1]["opacity"].detach()[~hits].abs().max()) == 0.0


def test_compact_path_when_no_ray_hits():
    field = ConstantField(5.0)
    o = torch.tensor([[[-10.0, 5.0, 0.0], [-10.0, 6.0, 0.0]]])
    d = torch.tensor([[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]])
    out = render_rays(field, None, o, d, torch.tensor([[4.0, 2.0, 2.0]]), 8, 4, None, False)
    assert torch.equal(out["opacity"], torch.zeros(1, 2))
    assert torch.equal(out["rgb"], torch.zeros(1, 2, 3))
