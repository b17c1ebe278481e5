"""Stage-1 objective: ray sampling, occlusion handling, switches, and a tiny overfit."""

import pytest
import torch

from gina3d.losses.mask import mask_outline
from gina3d.models.config import tiny_model_config
from gina3d.models.discriminator import PatchDiscriminator
from gina3d.models.ray_sampling import intersect_unit_box
from gina3d.models.stage1 import Stage1Model, image_rays, intrinsics_matrix
from gina3d.training.stage1_objective import (
    LossConfig,
    Stage1Objective,
    sample_pixels,
    sampling_weights,
)

S = 16
BOX = (4.0, 2.0, 1.5)


def make_batch(b: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    """Hand-made batch like PatchDataset's: a box seen from 8 m along its x axis.

    Object pixels are rays hitting the box, except columns 6-7 (an occluder in front);
    LiDAR distances are the box entry distances on object pixels, every other one.
    """
    g = torch.Generator().manual_seed(seed)
    intr = torch.tensor([[24.0, 24.0, S / 2, S / 2]]).expand(b, 4).clone()
    pose = torch.eye(4)
    pose[:3, :3] = torch.tensor([[0.0, -1, 0], [0, 0, -1], [1, 0, 0]])
    pose[2, 3] = 8.0
    pose = pose.expand(b, 4, 4).clone()
    box = torch.tensor([BOX]).expand(b, 3).clone()
    o, d = image_rays(intrinsics_matrix(intr), pose, S, S)  # [B,S*S,3]
    half = box[:, None] / 2
    near, _, hit = intersect_unit_box(o / half, d / half)
    hit, near = hit.view(b, S, S), near.view(b, S, S)
    occluder = torch.zeros(b, S, S, dtype=torch.bool)
    occluder[:, :, 6:8] = hit[:, :, 6:8]
    obj = hit & ~occluder
    lidar = torch.where(obj, near, torch.zeros_like(near))
    lidar[:, ::2] = 0.0
    return {
        "rgb": torch.rand(b, 3, S, S, generator=g) * 0.2 + obj[:, None] * 0.6,
        "object_mask": obj.float(),
        "occluder_mask": occluder.float(),
        "background_mask": (~hit).float(),
        "ray_origin": o.view(b, S, S, 3),
        "ray_direction": d.view(b, S, S, 3),
        "intrinsics": intr,
        "cam_from_obj": pose,
        "box_size": box,
        "lidar_depth": lidar,
        "cls": torch.zeros(b, dtype=torch.long),
        "time_of_day": torch.zeros(b, dtype=torch.long),
    }


def _objective(disc=False, **loss):
    torch.manual_seed(0)
    model = Stage1Model(tiny_model_config(S))
    cfg = LossConfig(rays_per_image=64, adversarial_resolution=8, **loss)
    return Stage1Objective(model, PatchDiscriminator() if disc else None, cfg)


def _fixed_loss(obj, batch, triplane, vq, seed=0):
    loss, logs = obj.loss_terms(batch, triplane, vq, 0, torch.Generator().manual_seed(seed))
    return float(loss.detach()), logs


def test_sample_pixels_fraction_and_fallbacks():
    pos = torch.zeros(3, 10)
    neg = torch.zeros(3, 10)
    pos[0, :2], neg[0, 5:] = 1, 1  # both kinds
    neg[1, 3] = 1  # no object pixel: everything from the negatives
    idx = sample_pixels(pos, neg, 20, 0.6, torch.Generator().manual_seed(0))
    assert idx.shape == (3, 20)
    assert bool((idx[0, :12] < 2).all()) and bool((idx[0, 12:] >= 5).all())
    assert bool((idx[1] == 3).all())
    assert bool((idx[2] >= 0).all() and (idx[2] < 10).all())  # neither: uniform


def test_edge_ray_boost_draws_outline_pixels_more_often():
    batch = make_batch(b=1)
    edge = mask_outline(batch["object_mask"], 1).flatten(1).bool()
    obj = batch["object_mask"].flatten(1).bool()
    g = torch.Generator().manual_seed(0)

    def outline_share(cfg):
        pos, neg = sampling_weights(batch, cfg)
        idx = sample_pixels(pos, neg, 4000, 1.0, g)  # object rays only
        assert bool(obj.gather(1, idx).all())
        return float(edge.gather(1, idx).float().mean())

    expected = float((edge & obj).sum() / obj.sum())  # the outline's share of object pixels
    plain = outline_share(LossConfig())
    boosted = outline_share(LossConfig(edge_ray_boost=4.0))
    assert abs(plain - expected) < 0.03
    n_edge, n_core = float((edge & obj).sum()), float((~edge & obj).sum())
    assert abs(boosted - 5 * n_edge / (5 * n_edge + n_core)) < 0.03  # weight 1 + boost
    _, neg = sampling_weights(batch, LossConfig(edge_ray_boost=4.0))
    bg = batch["background_mask"].flatten(1) > 0
    assert bool((neg[bg & edge] == 5.0).all()) and bool((neg[bg & ~edge] == 1.0).all())
    assert float(neg[batch["occluder_mask"].flatten(1) > 0].sum()) == 0  # still ignored
    with pytest.raises(ValueError):
        _objective(edge_ray_boost=-1.0)


def test_occlusion_aware_loss_ignores_occluder_pixels_and_naive_does_not():
    batch = make_batch()
    occ = batch["occluder_mask"].bool()
    assert occ.any()
    changed = {k: v.clone() for k, v in batch.items()}
    changed["rgb"][occ[:, None].expand(-1, 3, -1, -1)] = 1.0
    changed["ray_direction"][occ] = torch.tensor([0.0, 0.0, 1.0])  # rays leave the box
    changed["lidar_depth"][occ] = 3.0
    for aware, should_match in ((True, True), (False, False)):
        obj = _objective(occlusion_aware=aware)
        with torch.no_grad():
            triplane, vq = obj.model(
                batch["rgb"], batch["ray_direction"], batch["ray_origin"], batch["box_size"]
            )
        a, _ = _fixed_loss(obj, batch, triplane, vq)
        b, _ = _fixed_loss(obj, changed, triplane, vq)
        assert (a == b) is should_match, f"occlusion_aware={aware}: {a} vs {b}"


def test_naive_mode_pushes_occluder_pixels_to_background():
    batch = make_batch()
    obj = _objective(occlusion_aware=False, object_ray_fraction=0.0)
    with torch.no_grad():
        triplane, vq = obj.model(
            batch["rgb"], batch["ray_direction"], batch["ray_origin"], batch["box_size"]
        )
    _, logs = _fixed_loss(obj, batch, triplane, vq)
    assert logs["opacity_occluder"] > 0  # occluder rays were sampled and supervised
    _, aware_logs = _fixed_loss(_objective(object_ray_fraction=0.0), batch, triplane, vq)
    assert "opacity_occluder" not in aware_logs


def test_lidar_term_is_zero_when_off():
    batch = make_batch()
    _, on = _objective().generator_loss(batch, 0, torch.Generator().manual_seed(0))
    assert on["lidar_depth"] > 0
    _, off = _objective(use_lidar=False).generator_loss(batch, 0, torch.Generator().manual_seed(0))
    assert off["lidar_depth"] == 0.0


def test_adversarial_is_off_before_its_start():
    batch = make_batch()
    obj = _objective(disc=True, adversarial_start=5, r1_every=1)
    g = torch.Generator().manual_seed(0)
    _, logs = obj.generator_loss(batch, 4, g)
    assert logs["adversarial"] == 0.0
    assert obj.discriminator_loss(batch, 4, g) == (None, {})
    loss, logs = obj.generator_loss(batch, 5, g)
    assert logs["adversarial"] != 0.0
    d_loss, d_logs = obj.discriminator_loss(batch, 5, g)
    assert d_loss is not None and "r1" in d_logs
    d_loss.backward()
    assert all(p.grad is not None for p in obj.disc.parameters())
    loss.backward()  # the generator's graph holds no discriminator weights
    assert _objective(adversarial_start=0).discriminator_loss(batch, 9, g) == (None, {})


def test_generator_loss_is_deterministic_given_the_generator():
    batch = make_batch()
    a, la = _objective().generator_loss(batch, 0, torch.Generator().manual_seed(3))
    b, _ = _objective().generator_loss(batch, 0, torch.Generator().manual_seed(3))
    assert float(a.detach()) == float(b.detach())
    for key in ("loss", "psnr", "vq_perplexity", "vq_usage", "opacity_object", "codebook"):
        assert key in la


def test_distortion_term_is_logged_and_has_gradients():
    batch = make_batch()
    g = torch.Generator().manual_seed(0)
    _, off = _objective().generator_loss(batch, 0, g)
    assert off["distortion"] == 0.0
    obj = _objective(distortion=0.5)
    loss, on = obj.generator_loss(batch, 0, torch.Generator().manual_seed(0))
    assert on["distortion"] > 0.0
    base, _ = _objective().generator_loss(batch, 0, torch.Generator().manual_seed(0))
    expected = float(base.detach()) + 0.5 * on["distortion"]
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert obj.model.field.mlp[-1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("steps", [30])
def test_tiny_model_overfits_one_batch(steps):
    batch = make_batch()
    obj = _objective(codebook=0.25)
    opt = torch.optim.Adam(obj.model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    losses = []
    for step in range(steps):
        loss, _ = obj.generator_loss(batch, step, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.7 * first, losses
