"""Tri-plane axis order (docs/conventions.md): which texel of each plane a point reads."""

import torch

from gina3d.models.triplane import normalize_points, sample_triplane, texel_centre

R, F = 8, 3


def _spiked(col_row_per_plane):
    """Tri-plane [1,3,F,R,R] with a 1 at (row, col) of plane p, channel p only."""
    tri = torch.zeros(1, 3, F, R, R)
    for p, (col, row) in enumerate(col_row_per_plane):
        tri[0, p, p, row, col] = 1.0
    return tri


def test_point_reads_first_named_axis_as_column_and_second_as_row():
    # x at texel 6, y at texel 1, z at texel 5 (texel centres: exact reads)
    ix, iy, iz = 6, 1, 5
    x, y, z = texel_centre(ix, R), texel_centre(iy, R), texel_centre(iz, R)
    assert (x, y, z) == (0.625, -0.625, 0.375)
    # xy: column from x, row from y; xz: column x, row z; yz: column y, row z
    tri = _spiked([(ix, iy), (ix, iz), (iy, iz)])
    feats = sample_triplane(tri, torch.tensor([[[x, y, z]]]), reduce="concat")  # [1,1,3F]
    per_plane = feats.view(3, F)
    assert torch.allclose(per_plane, torch.eye(3), atol=1e-6)  # plane p read its spike
    summed = sample_triplane(tri, torch.tensor([[[x, y, z]]]))  # [1,1,F]
    assert torch.allclose(summed[0, 0], torch.ones(3), atol=1e-6)


def test_swapped_or_transposed_points_miss_the_spikes():
    ix, iy, iz = 6, 1, 5
    tri = _spiked([(ix, iy), (ix, iz), (iy, iz)])
    c = [texel_centre(i, R) for i in (ix, iy, iz)]
    wrong = [
        [c[1], c[0], c[2]],  # x and y swapped
        [c[0], c[2], c[1]],  # y and z swapped
        [c[2], c[1], c[0]],  # x and z swapped (EG3D's zx plane would still read plane 1)
    ]
    feats = sample_triplane(tri, torch.tensor([wrong]), reduce="concat").view(3, 3, F)
    for k in range(3):
        assert float(feats[k].abs().sum()) < 1.5, f"permutation {k} read too many spikes"


def test_the_example_point_of_the_brief():
    # The brief's (0.5, -0.5, 0.25) falls between texels for small R; its neighbour on the
    # texel centres of R = 4 is (0.75, -0.75, 0.25). Each plane holds a different value.
    r = 4
    tri = torch.zeros(1, 3, 1, r, r)
    x, y, z = texel_centre(3, r), texel_centre(0, r), texel_centre(2, r)  # 0.75, -0.75, 0.25
    tri[0, 0, 0, 0, 3] = 1.0  # xy: row y=0, column x=3
    tri[0, 1, 0, 2, 3] = 10.0  # xz: row z=2, column x=3
    tri[0, 2, 0, 2, 0] = 100.0  # yz: row z=2, column y=0
    out = sample_triplane(tri, torch.tensor([[[x, y, z]]]))
    assert abs(float(out) - 111.0) < 1e-4


def test_normalize_points_by_half_box():
    pts = torch.tensor([[[2.0, -0.5, 0.8]]])
    box = torch.tensor([[4.0, 2.0, 1.6]])
    assert torch.allclose(normalize_points(pts, box), torch.tensor([[[1.0, -0.5, 1.0]]]))


def _lookup_case(b, f, r, m, seed):
    g = torch.Generator().manual_seed(seed)
    tri = torch.randn(b, 3, f, r, r, generator=g)
    points = torch.rand(b, m, 3, generator=g) * 2.6 - 1.3  # some outside: border texels
    edge = 1.0 - 1.0 / r  # the outermost texel centres, where the lower corner is clamped
    points[0, :5] = torch.tensor(
        [[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0], [edge, -edge, 0.0], [2.0, -2.0, 0.5], [0, 0, 0]]
    )
    return tri, points, torch.randn(b, m, f, generator=g)


def test_lookup_sum_equals_grid_sample_with_its_gradient():
    for b, f, r, m in ((2, 8, 16, 300), (3, 5, 2, 77), (1, 32, 32, 2000)):
        tri, points, grad = _lookup_case(b, f, r, m, seed=r)
        out, grads = {}, {}
        for method in ("grid_sample", "lookup"):
            t = tri.clone().requires_grad_(True)
            out[method] = sample_triplane(t, points, method=method)
            out[method].backward(grad)
            grads[method] = t.grad
        assert out["lookup"].shape == (b, m, f)
        assert torch.allclose(out["lookup"], out["grid_sample"], atol=1e-5)
        assert torch.allclose(grads["lookup"], grads["grid_sample"], atol=1e-4)


def test_auto_uses_grid_sample_where_points_need_a_gradient():
    tri, points, _ = _lookup_case(1, 4, 8, 50, seed=1)
    points.requires_grad_(True)
    out = sample_triplane(tri.requires_grad_(True), points)
    out.sum().backward()
    assert points.grad is not None and points.grad.abs().sum() > 0
    try:
        sample_triplane(tri, points, method="lookup")
    except ValueError as err:
        assert "no gradient" in str(err)
    else:
        raise AssertionError("lookup accepted points that need a gradient")


def test_lookup_survives_nan_points():
    tri, points, _ = _lookup_case(1, 4, 8, 20, seed=2)
    points[0, 3] = float("nan")
    out = sample_triplane(tri, points, method="lookup")  # no index error
    assert torch.isfinite(out[0, :3]).all() and torch.isfinite(out[0, 4:]).all()
