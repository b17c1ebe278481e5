"""Stage-1 objective: ray sampling, occlusion handling, switches, and a tiny overfit."""

import pytest
import torch

from gina3d.models.config import tiny_model_config
from gina3d.models.discriminator import PatchDiscriminator
from gina3d.models.ray_sampling import intersect_unit_box
from gina3d.models.stage1 import Stage1Model, image_rays, intrinsics_matrix
from gina3d.training.stage1_objective import (
    LossConfig,
    Stage1Objective,
    sample_pixels,
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


def test_removed_options_load_at_their_off_value_and_are_refused_otherwise():
    """Runs saved before loss.distortion / edge_ray_* / model.semantic_classes were removed
    still load; setting them now is a one-line error naming the option."""
    from gina3d.config import from_dict
    from gina3d.errors import Gina3dError
    from gina3d.models.config import ModelConfig

    cfg = from_dict(LossConfig, {"mask": 2.0, "distortion": 0.0, "edge_ray_boost": 0.0,
                                 "edge_ray_width": 1, "vq_bypass_steps": 0})  # fmt: skip
    assert cfg.mask == 2.0
    with pytest.raises(Gina3dError, match="'distortion' = 0.2: removed after measurement"):
        from_dict(LossConfig, {"distortion": 0.2})
    assert from_dict(ModelConfig, {"semantic_classes": 0}).image_size == 64
    with pytest.raises(Gina3dError, match="model.semantic_classes' = 3"):
        from_dict(ModelConfig, {"semantic_classes": 3}, "model")
