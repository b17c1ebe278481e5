"""Token swaps: plane and region masks against the tri-plane axis convention."""

import pytest
import torch

from gina3d.assets.editing import (
    REGIONS,
    plane_mask,
    region_mask,
    swap_mask,
    swap_planes,
    swap_region,
)
from gina3d.errors import Gina3dError
from gina3d.models.triplane import sample_triplane

H = 4
T = 3 * H * H


def grid(mask):
    return mask.view(3, H, H)


def test_region_masks_pick_rows_and_columns():
    front = grid(region_mask("front_half", H))
    assert front[0, :, 2:].all() and not front[0, :, :2].any()  # xy: columns are x
    assert front[1, :, 2:].all() and not front[1, :, :2].any()  # xz: columns are x
    assert not front[2].any()  # yz holds no x
    left = grid(region_mask("left_half", H))
    assert left[0, 2:, :].all() and not left[0, :2, :].any()  # xy: rows are y
    assert left[2, :, 2:].all() and not left[2, :, :2].any()  # yz: columns are y
    assert not left[1].any()
    top = grid(region_mask("top_half", H))
    assert top[1, 2:, :].all() and top[2, 2:, :].all() and not top[0].any()
    for a, b in (("front_half", "rear_half"), ("left_half", "right_half")):
        ma, mb = region_mask(a, H), region_mask(b, H)
        assert not (ma & mb).any()


def test_odd_grids_leave_the_middle_in_neither_half():
    front = region_mask("front_half", 3).view(3, 3, 3)
    rear = region_mask("rear_half", 3).view(3, 3, 3)
    assert front[0, :, 2].all() and not front[0, :, 1].any()
    assert rear[0, :, 0].all() and not rear[0, :, 1].any()


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_regions_agree_with_where_points_read_the_planes(region):
    """Fill each plane with its token ids (upsampled like the decoder's layout) and sample
    points on the region's side of the box: every plane that contains the region's axis
    must read a token of the region's mask."""
    r = 16
    ids = torch.arange(T, dtype=torch.float32).view(3, 1, H, H)
    planes = ids.repeat_interleave(r // H, dim=2).repeat_interleave(r // H, dim=3)[None]
    axis, sign = REGIONS[region]
    g = torch.Generator().manual_seed(0)
    points = torch.rand(1, 200, 3, generator=g) * 1.8 - 0.9
    points[..., axis] = sign * (0.05 + 0.85 * torch.rand(200, generator=g))
    # nearest texel centres so bilinear reads return exact ids
    points = (torch.floor((points + 1) * r / 2) + 0.5) * 2 / r - 1
    read = sample_triplane(planes, points, reduce="concat")[0]  # [M,3]
    mask = region_mask(region, H)
    for p, names in enumerate(("xy", "xz", "yz")):
        if "xyz"[axis] in names:
            assert mask[read[:, p].long()].all(), (region, names)


def test_swaps():
    a, b = torch.zeros(T, dtype=torch.long), torch.ones(T, dtype=torch.long)
    out = swap_planes(a, b, "xy,yz")
    assert grid(out)[0].eq(1).all() and grid(out)[1].eq(0).all() and grid(out)[2].eq(1).all()
    assert swap_planes(a, b, ["xz"]).sum() == H * H
    front = swap_region(a, b, "front_half")
    assert front.bool().equal(region_mask("front_half", H))
    both = swap_region(front, b, "rear_half")
    assert both.bool().equal(plane_mask("xy,xz", H))
    custom = torch.zeros(3, H, H, dtype=torch.bool)
    custom[2, 0, 0] = True
    assert swap_mask(a, b, custom).nonzero().flatten().tolist() == [2 * H * H]
    batch = swap_planes(a.expand(2, -1), b.expand(2, -1), "xy")
    assert batch.shape == (2, T) and batch[:, : H * H].eq(1).all()


def test_bad_edits():
    a = torch.zeros(T, dtype=torch.long)
    with pytest.raises(Gina3dError, match="unknown plane"):
        swap_planes(a, a, "xw")
    with pytest.raises(Gina3dError, match="unknown region"):
        swap_region(a, a, "middle")
    with pytest.raises(Gina3dError, match="differ in shape"):
        swap_planes(a, a[:-3], "xy")
    with pytest.raises(Gina3dError, match="3\\*h\\*h"):
        swap_planes(a[:-1], a[:-1], "xy")
    with pytest.raises(Gina3dError, match="mask has"):
        swap_mask(a, a, torch.ones(5, dtype=torch.bool))
