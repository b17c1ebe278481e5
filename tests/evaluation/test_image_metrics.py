"""Masked PSNR, SSIM and IoU against known answers and a plain numpy SSIM."""

import math

import numpy as np
import pytest
import torch

from gina3d.evaluation.image_metrics import (
    PSNR_CAP_DB,
    mask_iou,
    psnr_from_mse,
    psnr_masked,
    ssim_masked,
)


def images(seed=0, b=2, h=12, w=10):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g, dtype=torch.float64)


def test_psnr_identical_is_capped():
    x = images()
    mask = torch.ones(2, 12, 10, dtype=torch.bool)
    assert torch.all(psnr_masked(x, x, mask) == PSNR_CAP_DB)
    assert psnr_from_mse(0.0) == PSNR_CAP_DB


def test_psnr_known_mse_only_inside_mask():
    target = torch.full((2, 3, 8, 8), 0.5)
    pred = target + 0.1  # MSE 0.01 -> 20 dB
    mask = torch.zeros(2, 8, 8, dtype=torch.bool)
    mask[:, 2:5, 3:7] = True
    pred[:, :, ~mask[0]] = 1.0  # errors outside the mask do not count
    pred[1, :, 2:5, 3:7] = 0.5 + 0.01  # MSE 1e-4 -> 40 dB
    np.testing.assert_allclose(psnr_masked(pred, target, mask).numpy(), [20.0, 40.0], atol=1e-4)
    assert psnr_masked(pred, target, mask, reduction="mean").item() == pytest.approx(30.0, abs=1e-4)


def test_psnr_empty_mask_is_nan_and_skipped_by_mean():
    x = images()
    mask = torch.ones(2, 12, 10, dtype=torch.bool)
    mask[1] = False
    y = (x + 0.1).clamp(0, 1)
    per = psnr_masked(y, x, mask)
    assert math.isnan(per[1]) and not math.isnan(per[0])
    assert psnr_masked(y, x, mask, reduction="mean").item() == pytest.approx(per[0].item())


def ssim_reference(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    """Loops over pixels and channels: 11x11 Gaussian (sigma 1.5) cut at the image border
    and renormalised, C1 = 0.01^2, C2 = 0.03^2; channel mean; mean over masked pixels."""
    c, h, w = x.shape
    t = np.arange(11) - 5
    g = np.exp(-(t**2) / (2 * 1.5**2))
    g2 = np.outer(g, g)
    smap = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            vals = []
            for ch in range(c):
                ws, xs, ys = [], [], []
                for a in range(-5, 6):
                    for b in range(-5, 6):
                        if 0 <= i + a < h and 0 <= j + b < w:
                            ws.append(g2[a + 5, b + 5])
                            xs.append(x[ch, i + a, j + b])
                            ys.append(y[ch, i + a, j + b])
                ws, xs, ys = np.array(ws) / np.sum(ws), np.array(xs), np.array(ys)
                mx, my = (ws * xs).sum(), (ws * ys).sum()
                vx = (ws * (xs - mx) ** 2).sum()
                vy = (ws * (ys - my) ** 2).sum()
                cxy = (ws * (xs - mx) * (ys - my)).sum()
                c1, c2 = 0.01**2, 0.03**2
                vals.append(
                    (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
                )
            smap[i, j] = np.mean(vals)
    return float(smap[mask].mean())


def test_ssim_self_noise_and_reference():
    x = images(1)
    mask = torch.ones(2, 12, 10, dtype=torch.bool)
    np.testing.assert_allclose(ssim_masked(x, x, mask).numpy(), 1.0, atol=1e-12)
    noisy = (x + 0.6 * images(2) - 0.3).clamp(0, 1)
    mask[0, :3] = False
    mask[1, :, 6:] = False
    got = ssim_masked(noisy, x, mask)
    assert torch.all(got < 0.95) and torch.all(got > 0)
    for k in range(2):
        want = ssim_reference(noisy[k].numpy(), x[k].numpy(), mask[k].numpy())
        assert got[k].item() == pytest.approx(want, abs=1e-10)


def test_ssim_float32_input():
    x = images(3).float()
    mask = torch.ones(2, 12, 10)
    assert ssim_masked(x, x, mask).dtype == torch.float64
    assert torch.allclose(ssim_masked(x, x, mask), torch.ones(2, dtype=torch.float64))


def test_mask_iou_known_masks():
    a = torch.zeros(3, 6, 6, dtype=torch.bool)
    b = torch.zeros(3, 6, 6, dtype=torch.bool)
    a[0, 0:2, 0:4] = True  # 8 pixels
    b[0, 0:2, 2:6] = True  # 8 pixels, 4 shared -> 4 / 12
    a[1, 1:3, 1:3] = True
    b[1, 1:3, 1:3] = True  # identical -> 1
    # image 2: both empty -> 1 by definition
    np.testing.assert_allclose(mask_iou(a, b).numpy(), [1 / 3, 1.0, 1.0])
    assert mask_iou(a[0], b[0]).shape == (1,)
    assert mask_iou(a[0], ~a[0]).item() == 0.0
