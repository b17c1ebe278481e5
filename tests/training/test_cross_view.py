"""Cross-view supervision: which rays are drawn, what the encoder sees, a known answer."""

from types import SimpleNamespace

import pytest
import torch

from gina3d.models.config import tiny_model_config
from gina3d.models.ray_sampling import intersect_unit_box
from gina3d.models.stage1 import Stage1Model, image_rays, intrinsics_matrix
from gina3d.training.ray_batch import draw_rays, sample_pixels, slot_counts
from gina3d.training.stage1_objective import LossConfig, Stage1Objective

S = 16
BOX = (4.0, 2.0, 1.5)
RED, BLUE = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, 1.0])


def view(b: int, azimuth: float, colour: torch.Tensor) -> dict[str, torch.Tensor]:
    """A box seen from 8 m at ``azimuth`` about z (0: from +x): its pixels painted
    ``colour`` (the face seen), background grey; exact masks, rays and LiDAR distances."""
    intr = torch.tensor([[24.0, 24.0, S / 2, S / 2]]).expand(b, 4).clone()
    c, s = torch.cos(torch.tensor(azimuth)), torch.sin(torch.tensor(azimuth))
    eye = torch.stack([8 * c, 8 * s, torch.tensor(0.0)])
    fwd = -eye / eye.norm()
    right = torch.linalg.cross(fwd, torch.tensor([0.0, 0.0, 1.0]))
    down = torch.linalg.cross(fwd, right)
    obj_from_cam = torch.eye(4)
    obj_from_cam[:3, :3] = torch.stack([right, down, fwd], 1)
    obj_from_cam[:3, 3] = eye
    pose = torch.linalg.inv(obj_from_cam).expand(b, 4, 4).clone()
    box = torch.tensor([BOX]).expand(b, 3).clone()
    o, d = image_rays(intrinsics_matrix(intr), pose, S, S)
    half = box[:, None] / 2
    near, _, hit = intersect_unit_box(o / half, d / half)
    hit = hit.view(b, S, S)
    rgb = torch.where(hit[:, None], colour.view(1, 3, 1, 1), torch.full((1, 3, 1, 1), 0.5))
    return {
        "rgb": rgb,
        "object_mask": hit.float(),
        "occluder_mask": torch.zeros(b, S, S),
        "background_mask": (~hit).float(),
        "ray_origin": o.view(b, S, S, 3),
        "ray_direction": d.view(b, S, S, 3),
        "intrinsics": intr,
        "cam_from_obj": pose,
        "box_size": box,
        "lidar_depth": torch.where(hit, near.view(b, S, S), torch.zeros(b, S, S)),
    }


def with_views(source: dict, views: list[dict], valid: list[bool]) -> dict:
    batch = dict(source)
    for key in views[0]:
        batch[f"view_{key}"] = torch.stack([v[key] for v in views], 1)
    batch["view_valid"] = torch.tensor([valid] * source["rgb"].shape[0])
    return batch


class RedBox:
    """A field that is exactly the box, red from every side (fits the +x view only)."""

    quantizer = SimpleNamespace(restarts=0)

    def render_rays(self, triplane, origins, directions, box, generator=None, perturb=False):
        half = box[:, None] / 2
        near, _, hit = intersect_unit_box(origins / half, directions / half)
        rgb = (RED * hit[..., None]).requires_grad_()
        return {"rgb": rgb, "opacity": hit.float(), "depth": torch.where(hit, near, 0 * near)}


VQ = SimpleNamespace(loss=torch.tensor(0.0), perplexity=1.0, usage=1.0)


def test_slot_counts():
    assert slot_counts(512, 2, 0.5) == [256, 128, 128]
    assert slot_counts(10, 3, 0.5) == [5, 2, 2, 1]
    assert sum(slot_counts(7, 4, 0.1)) == 7 and slot_counts(7, 4, 0.1)[0] == 3


def test_without_views_the_rays_are_the_source_draws():
    batch = view(2, 0.0, RED)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    rays = draw_rays(batch, 40, 0.6, True, g1, cross_view_k=2, cross_view_fraction=0.5)
    idx = sample_pixels(
        batch["object_mask"].flatten(1), batch["background_mask"].flatten(1), 40, 0.6, g2
    )
    torch.testing.assert_close(
        rays.origin, batch["ray_origin"].flatten(1, 2).gather(1, idx[..., None].expand(-1, -1, 3))
    )
    assert bool(rays.source.all())


def test_cross_view_loss_known_answer_on_a_box():
    """The red box fits the source (seen from +x, red) exactly; the other view sees the -x
    face, blue. Source-only the colour loss is 0; with cross-view it is the mean L1 of red
    vs blue (2/3) times the share of object rays drawn from the other view."""
    src, back = view(2, 0.0, RED), view(2, torch.pi, BLUE)
    cfg = LossConfig(
        rays_per_image=64, adversarial=0.0, cross_view_k=1, cross_view_ray_fraction=0.25
    )
    obj = Stage1Objective(RedBox(), None, cfg)
    batch = with_views(src, [back], [True])
    _loss, logs = obj.loss_terms(batch, None, VQ, 0, torch.Generator().manual_seed(0))
    n_src, n_view = slot_counts(64, 1, 0.25)
    obj_src, obj_view = round(n_src * 0.6), round(n_view * 0.6)
    assert logs["rgb_l1"] == pytest.approx(2 / 3 * obj_view / (obj_src + obj_view), abs=1e-6)
    assert logs["mask"] == pytest.approx(0.0, abs=1e-3)  # the shape is right from both sides
    assert logs["psnr"] > 60  # the source's rays are exact
    assert logs["psnr_cross_view"] < 10
    # the same field scored on the source alone: nothing to learn
    off = Stage1Objective(RedBox(), None, LossConfig(rays_per_image=64, adversarial=0.0))
    _, logs_off = off.loss_terms(batch, None, VQ, 0, torch.Generator().manual_seed(0))
    assert logs_off["rgb_l1"] == pytest.approx(0.0, abs=1e-7)
    # a padding slot lends the source's pixels: no cross-view error either
    padded = with_views(src, [back], [False])
    _, logs_pad = obj.loss_terms(padded, None, VQ, 0, torch.Generator().manual_seed(0))
    assert logs_pad["rgb_l1"] == pytest.approx(0.0, abs=1e-7)


def test_encoder_never_sees_the_other_views():
    torch.manual_seed(0)
    model = Stage1Model(tiny_model_config(S))
    src = view(2, 0.0, RED)
    a = with_views(src, [view(2, torch.pi, BLUE), view(2, 1.0, BLUE)], [True, True])
    b = with_views(src, [view(2, 2.0, RED), view(2, -1.0, RED)], [True, False])
    for key in [k for k in a if k.startswith("view_") and a[k].is_floating_point()]:
        a[key] = a[key].clone().requires_grad_()
    za, zb = model.encode_batch(a), model.encode_batch(b)
    torch.testing.assert_close(za, zb)
    grads = torch.autograd.grad(za.sum(), [a["view_rgb"], a["view_ray_origin"]], allow_unused=True)
    assert all(g is None for g in grads)


def test_cross_view_trains_a_tiny_model_end_to_end():
    torch.manual_seed(0)
    model = Stage1Model(tiny_model_config(S))
    cfg = LossConfig(
        rays_per_image=48, adversarial=0.0, cross_view_k=2, cross_view_ray_fraction=0.5
    )
    obj = Stage1Objective(model, None, cfg)
    batch = with_views(
        view(2, 0.0, RED), [view(2, torch.pi, BLUE), view(2, 1.5, BLUE)], [True, True]
    )
    loss, logs = obj.generator_loss(batch, 0, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and "psnr_cross_view" in logs
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_view_gain_forgives_a_brightness_change_only():
    """The other view shows the source's face at 1.5x the brightness (another exposure):
    with ``cross_view_gain`` its colour error is 0; without, it is not. A change of hue
    (red against blue) is not a gain and stays an error."""
    dim = torch.tensor([0.4, 0.2, 0.1])
    src = view(2, 0.0, dim)
    same_face_brighter = view(2, 0.0, dim * 1.5)
    batch = with_views(src, [same_face_brighter], [True])

    class DimBox(RedBox):
        def render_rays(self, *args, **kw):
            out = super().render_rays(*args, **kw)
            return {
                **out,
                "rgb": out["rgb"].detach()[..., :1] * 0 + dim * out["opacity"][..., None],
            }

    kw = dict(rays_per_image=64, adversarial=0.0, cross_view_k=1, cross_view_ray_fraction=0.5)
    g = torch.Generator
    _, on = Stage1Objective(DimBox(), None, LossConfig(cross_view_gain=True, **kw)).loss_terms(
        batch, None, VQ, 0, g().manual_seed(0)
    )
    _, off = Stage1Objective(DimBox(), None, LossConfig(**kw)).loss_terms(
        batch, None, VQ, 0, g().manual_seed(0)
    )
    assert on["rgb_l1"] == pytest.approx(0.0, abs=1e-6)
    assert off["rgb_l1"] > 0.02
    hue = with_views(src, [view(2, 0.0, torch.tensor([0.1, 0.2, 0.4]))], [True])
    _, hue_on = Stage1Objective(DimBox(), None, LossConfig(cross_view_gain=True, **kw)).loss_terms(
        hue, None, VQ, 0, g().manual_seed(0)
    )
    assert hue_on["rgb_l1"] > 0.02
