"""token_split (coarse cells of tokens) and pixel_lifting (pixel-aligned token features)."""

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from gina3d.models.config import tiny_model_config
from gina3d.models.pixel_lifting import PixelLifting, splat_weights
from gina3d.models.stage1 import Stage1Model
from gina3d.models.token_grid import group_tokens, ungroup_tokens


def test_group_tokens_order_and_inverse():
    h, s = 4, 2
    x = torch.arange(2 * 3 * h * h, dtype=torch.float32).view(2, 3 * h * h, 1)
    g = group_tokens(x, s)
    assert g.shape == (2, 3 * (h // s) ** 2, s * s)
    # cell (0, 0) of plane 0: rows 0-1, columns 0-1 = tokens 0, 1, 4, 5; cell (0, 1): 2, 3, 6, 7
    assert g[0, 0].tolist() == [0, 1, 4, 5] and g[0, 1].tolist() == [2, 3, 6, 7]
    # plane 1 starts at token 16
    assert g[0, 4].tolist() == [16, 17, 20, 21]
    assert torch.equal(ungroup_tokens(g, s), x)
    assert group_tokens(x, 1) is x
    with pytest.raises(ValueError, match="cannot group"):
        group_tokens(torch.zeros(1, 3 * 9, 2), 2)


def _inputs(b, res, gen):
    rgb = torch.rand(b, 3, res, res, generator=gen)
    dirs = F.normalize(
        torch.tensor([1.0, 0, 0]) + 0.1 * torch.randn(b, res, res, 3, generator=gen), dim=-1
    )
    origin = torch.tensor([-8.0, 0.0, 0.0]).expand(b, res, res, 3)
    box = torch.tensor([[4.0, 2.0, 1.5]] * b)
    return rgb, dirs, origin, box


@pytest.mark.parametrize("mode", ["gather", "splat"])
def test_split_model_keeps_the_token_grid_and_runs_end_to_end(mode):
    torch.manual_seed(0)
    cfg = replace(
        tiny_model_config(16), plane_tokens=8, token_split=2, pixel_lifting=True, lifting_mode=mode
    )
    assert cfg.query_grid == 4 and cfg.num_tokens == 3 * 8 * 8
    model = Stage1Model(cfg)
    rgb, dirs, origin, box = _inputs(2, 16, torch.Generator().manual_seed(1))
    tri, vq = model(rgb, dirs, origin, box)
    assert vq.indices.shape == (2, cfg.num_tokens)
    assert tri.shape == (2, 3, cfg.plane_features, cfg.plane_resolution, cfg.plane_resolution)
    assert torch.allclose(model.decode_indices(vq.indices), tri, atol=1e-5)
    tri.sum().backward()  # every new layer gets a gradient
    enc = model.encoder
    for layer in (enc.lift_in, enc.lift_out, enc.lifting.stem[0], model.decoder.inp):
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0


def test_split_config_is_validated():
    with pytest.raises(ValueError, match="multiple of token_split"):
        replace(tiny_model_config(16), plane_tokens=6, token_split=4).validate()
    with pytest.raises(ValueError, match="needs geometric_attention"):
        replace(tiny_model_config(16), pixel_lifting=True, geometric_attention=False).validate()
    with pytest.raises(ValueError, match="lifting_mode"):
        replace(tiny_model_config(16), lifting_mode="scatter").validate()


@pytest.mark.parametrize("mode", ["gather", "splat"])
def test_lifting_gathers_the_pixels_whose_rays_cross_the_column(mode):
    """Vertical rays over the left half of the box only: the xy-plane tokens there see them."""
    cfg = replace(tiny_model_config(8), plane_tokens=4, lifting_features=2, lifting_mode=mode)
    lift = PixelLifting(cfg)
    res = 8
    # pixel (v, u) -> a vertical ray down at x in [-1, 0), y in [-1, 1] (box = 2 m: normalised)
    u = (torch.arange(res) + 0.5) / res  # [0, 1)
    xs, ys = -1.0 + u, -1.0 + 2.0 * u
    origin = torch.zeros(1, res, res, 3)
    origin[..., 0] = xs[None, :]  # columns of the image: x
    origin[..., 1] = ys[:, None]  # rows: y
    origin[..., 2] = 5.0
    direction = torch.tensor([0.0, 0.0, -1.0]).expand(1, res, res, 3)
    with torch.no_grad():
        out = lift(torch.rand(1, 3, res, res), origin, direction, torch.tensor([[2.0, 2.0, 2.0]]))
    seen = out[0, :16, -1].view(4, 4)  # plane xy: rows = y cells, columns = x cells
    assert out.shape == (1, cfg.num_tokens, lift.out_features)
    assert float(seen[:, :2].min()) > 0.5  # x < 0: rays pass through these columns
    assert float(seen[:, 3].max()) < 0.01  # x > 0.5: more than a cell away from every ray


def test_splat_weights_follow_the_ray_inside_the_box():
    """One ray along +x at (y, z) = (-0.75, 0.25) in a box of 4 x 4 cells per plane."""
    h = 4
    o = torch.tensor([[[-3.0, -0.75, 0.25], [-3.0, 5.0, 5.0]]])  # the second ray misses
    d = torch.tensor([[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]])
    w = splat_weights(o, d, h)  # [1,T,2]
    assert w.shape == (1, 3 * h * h, 2)
    assert float(w[0, :, 1].abs().sum()) == 0.0  # a ray missing the box adds nothing
    xy, xz, yz = w[0, :, 0].view(3, h, h)  # [rows = second axis, columns = first axis]
    # the path inside the box is 2 units long; every plane receives all of it
    for plane in (xy, xz, yz):
        assert float(plane.sum()) == pytest.approx(2.0, rel=1e-5)
    # plane xy: y = -0.75 is row 0's centre; x crosses every column equally
    assert torch.allclose(xy[0], torch.full((h,), 0.5), atol=1e-5)
    assert float(xy[1:].sum()) == pytest.approx(0.0, abs=1e-6)
    # plane xz: z = 0.25 is row 2's centre
    assert torch.allclose(xz[2], torch.full((h,), 0.5), atol=1e-5)
    # plane yz: the ray runs along the column at (y, z) = (-0.75, 0.25): cell (row 2, col 0)
    assert float(yz[2, 0]) == pytest.approx(2.0, rel=1e-5)
