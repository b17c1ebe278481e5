"""Geometric cross-attention bias: token columns, ray/column distances, the bias module."""

import torch
import torch.nn.functional as F

from gina3d.models.geometric_attention import (
    GeometricBias,
    box_interval,
    column_ray_distance2,
    column_ray_distance2_reference,
    patch_rays,
    token_columns,
)


def test_token_columns_follow_the_triplane_axis_order():
    axes, ab = token_columns(2)  # T = 12, centres -0.5, 0.5
    assert axes.tolist()[:4] == [[0, 1]] * 4 and axes.tolist()[4] == [0, 2]
    assert axes.tolist()[8] == [1, 2]
    # token 1 = plane xy, row 0, column 1: x (width) = +0.5, y (height) = -0.5
    assert ab[1].tolist() == [0.5, -0.5] and ab[2].tolist() == [-0.5, 0.5]


def test_distance_matches_a_brute_force_search_along_the_ray_inside_the_box():
    g = torch.Generator().manual_seed(0)
    n = 40
    o = torch.randn(1, n, 3, generator=g) * 0.5 + torch.tensor([-3.0, 0.0, 0.0])
    target = torch.rand(1, n, 3, generator=g) * 1.6 - 0.8  # rays aimed into the box
    d = F.normalize(target - o, dim=-1)
    dist2 = column_ray_distance2(o, d, 4)  # [1,T,N]
    near, far = box_interval(o, d)
    axes, ab = token_columns(4)
    t = near[..., None] + (far - near)[..., None] * torch.linspace(0, 1, 4001)  # [1,N,S]
    pts = o[..., None, :] + t[..., None] * d[..., None, :]  # [1,N,S,3]
    for k in range(axes.shape[0]):
        plane = pts[..., axes[k]]  # [1,N,S,2]
        brute = ((plane - ab[k]) ** 2).sum(-1).amin(-1)  # [1,N]
        assert torch.allclose(dist2[0, k], brute[0], atol=2e-3)


def test_fast_distances_match_the_reference():
    """Far and near cameras, rays into and beside the box, rays along the axes."""
    g = torch.Generator().manual_seed(1)
    n = 300
    o = torch.randn(2, n, 3, generator=g) * 0.5 + torch.tensor([-3.0, 0.0, 0.0])
    o[1] *= 8.0  # a far camera: |o|^2 ~ 600 box units
    target = torch.rand(2, n, 3, generator=g) * 3.0 - 1.5  # some rays miss the box
    d = F.normalize(target - o, dim=-1)
    d[:, :6] = torch.eye(3).repeat(2, 1)  # along x, y, z: zero length in one plane
    o[:, :6] = torch.tensor([0.3, -0.2, 0.1])
    d[:, 6] = F.normalize(torch.tensor([1e-6, 0.0, 1.0]), dim=0)  # nearly along z
    for h in (2, 4, 16):
        ref = column_ray_distance2_reference(o, d, h)
        fast = column_ray_distance2(o, d, h)
        assert fast.shape == ref.shape == (2, 3 * h * h, n)
        assert torch.allclose(fast, ref, atol=2e-5, rtol=1e-5), float((fast - ref).abs().max())


def test_a_ray_along_z_lies_in_its_xy_column_and_in_every_xz_cell_it_crosses():
    o = torch.tensor([[[0.25, -0.25, -5.0]]])
    d = torch.tensor([[[0.0, 0.0, 1.0]]])
    dist2 = column_ray_distance2(o, d, 4)[0, :, 0]  # [T]; centres -0.75 -0.25 0.25 0.75
    xy = dist2[:16].view(4, 4)  # rows y, columns x
    assert float(xy[1, 2]) < 1e-6 and float(xy[0, 0]) > 0.5
    xz = dist2[16:32].view(4, 4)  # rows z, columns x: the ray covers every z at x = 0.25
    assert torch.all(xz[:, 2] < 1e-6) and torch.all(xz[:, 0] > 0.2)


def test_bias_shape_and_that_nearer_columns_get_larger_logits():
    bias_module = GeometricBias(heads=4, plane_tokens=2, patch_size=4)
    origin = torch.tensor([-6.0, 0.0, 0.0]).expand(2, 8, 8, 3)
    v, u = torch.meshgrid(torch.linspace(-0.2, 0.2, 8), torch.linspace(-0.2, 0.2, 8), indexing="ij")
    dirs = F.normalize(torch.stack([torch.ones_like(u), -u, -v], -1), dim=-1).expand(2, 8, 8, 3)
    bias = bias_module(origin, dirs, torch.tensor([[4.0, 2.0, 2.0]] * 2))
    assert bias.shape == (2, 4, 12, 4) and float(bias.detach().max()) <= 0
    o, d = patch_rays(origin, dirs, 4)
    assert o.shape == (2, 4, 3) and d.shape == (2, 4, 3)
    # yz plane (seen face on from -x): patch 0 (top-left: +y, +z) is nearest yz cell (y+, z+)
    yz = bias[0, 0, 8:].view(2, 2, 4)  # rows z, columns y
    assert int(yz[:, :, 0].argmax()) == 3
