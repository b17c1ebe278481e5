"""Loss terms: masking, mask BCE, LiDAR depth, adversarial forms and R1."""

import math

import pytest
import torch
from torch import nn

from gina3d.losses import adversarial as adv
from gina3d.losses.lidar import lidar_depth_l1
from gina3d.losses.mask import background_opacity, mask_bce
from gina3d.losses.reconstruction import masked_mean, psnr, rgb_l1, rgb_l2


def test_colour_losses_only_see_weighted_rays():
    pred = torch.zeros(1, 4, 3)
    target = torch.tensor([[[1.0, 1, 1], [0.5, 0.5, 0.5], [9, 9, 9], [9, 9, 9]]])
    w = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    assert float(rgb_l1(pred, target, w)) == pytest.approx(0.75)
    assert float(rgb_l2(pred, target, w)) == pytest.approx(0.625)
    assert psnr(pred, target.clamp(0, 1), w) == pytest.approx(-10 * math.log10(0.625))
    assert float(masked_mean(torch.ones(3), torch.zeros(3))) == 0.0
    assert math.isnan(psnr(pred, target, torch.zeros(1, 4)))


def test_mask_bce_and_background_opacity():
    opacity = torch.tensor([0.9, 0.1, 0.7])
    target = torch.tensor([1.0, 0.0, 0.0])
    w = torch.tensor([1.0, 1.0, 0.0])  # third ray ignored (an occluder)
    assert float(mask_bce(opacity, target, w)) == pytest.approx(-math.log(0.9), rel=1e-4)
    assert float(mask_bce(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0]), torch.ones(2))) < 1e-3
    assert float(background_opacity(opacity, torch.tensor([0.0, 1.0, 1.0]))) == pytest.approx(0.4)


def test_lidar_loss_is_scale_free_and_ignores_missing_returns():
    depth = torch.tensor([[10.0, 10.0, 3.0]])
    lidar = torch.tensor([[10.5, 0.0, 0.0]])
    box = torch.tensor([[3.0, 4.0, 0.0]])  # diagonal 5 m
    assert float(lidar_depth_l1(depth, lidar, box, torch.ones(1, 3))) == pytest.approx(0.1)
    assert float(lidar_depth_l1(depth * 2, lidar * 2, box * 2, torch.ones(1, 3))) == pytest.approx(
        0.1
    )
    assert float(lidar_depth_l1(depth, torch.zeros(1, 3), box, torch.ones(1, 3))) == 0.0


def test_adversarial_forms():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.5])
    assert float(adv.discriminator_adversarial(real, fake, "hinge")) == pytest.approx(0.25 + 0.75)
    assert float(adv.generator_adversarial(fake, "hinge")) == pytest.approx(0.75)
    ns = adv.discriminator_adversarial(real, fake, "non_saturating")
    sp = torch.nn.functional.softplus
    assert float(ns) == pytest.approx(float(sp(-real).mean() + sp(fake).mean()))
    assert float(adv.generator_adversarial(fake, "non_saturating")) == pytest.approx(
        float(sp(-fake).mean())
    )
    with pytest.raises(ValueError):
        adv.generator_adversarial(fake, "wgan")


def test_r1_penalty_of_a_linear_discriminator():
    disc = nn.Conv2d(3, 1, 1, bias=False)
    with torch.no_grad():
        disc.weight.copy_(torch.tensor([1.0, 2.0, 2.0]).view(1, 3, 1, 1))
    real = torch.rand(2, 3, 4, 4)
    # D = mean of 16 patch logits: d D / d pixel = w / 16, ||grad||^2 = 16 * 9 / 16^2
    assert float(adv.r1_penalty(disc, real).detach()) == pytest.approx(0.5 * 9 / 16)
