"""Masked image metrics on batches of images: PSNR, SSIM and mask IoU (torch).

Images are float ``[B,3,H,W]`` in [0, 1]; masks are ``[B,H,W]`` (bool or float, non-zero =
inside). Every function returns one value per image, ``[B]`` float64, or with
``reduction="mean"`` the mean over the images that have a defined value (a 0-dim tensor).

* PSNR: ``10 log10(1 / MSE)`` with the MSE over the masked pixels and the 3 channels.
  Identical images (MSE 0) would give +inf: PSNR is capped at ``PSNR_CAP_DB`` = 100 dB
  (every MSE <= 1e-10 reads 100 dB), so means stay finite. An empty mask gives NaN.
* SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, ``C1 = (0.01 L)^2``,
  ``C2 = (0.03 L)^2`` with dynamic range L = 1; the SSIM map is computed per channel,
  averaged over the channels, then averaged over the masked pixels. The map has the image's
  size: near the border the Gaussian window is cut at the image edge and renormalised (the
  local statistics use the in-image pixels only); away from the border this is exactly the
  standard SSIM. An empty mask gives NaN.
* IoU: ``|pred & gt| / |pred | gt|``; two empty masks agree perfectly and give 1.0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

PSNR_CAP_DB = 100.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return values
    if reduction == "mean":
        ok = ~torch.isnan(values)
        return values[ok].mean() if ok.any() else torch.tensor(float("nan"), dtype=values.dtype)
    raise ValueError(f"reduction must be 'none' or 'mean', not {reduction!r}")


def _check(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> None:
    if pred.shape != target.shape or pred.dim() != 4:
        raise ValueError(
            f"pred {tuple(pred.shape)} and target {tuple(target.shape)}: need [B,C,H,W]"
        )
    if mask.shape != (pred.shape[0], *pred.shape[2:]):
        raise ValueError(f"mask {tuple(mask.shape)} does not match images {tuple(pred.shape)}")


def psnr_masked(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, reduction: str = "none"
) -> torch.Tensor:
    """PSNR in dB over masked pixels: [B] (capped at 100 dB; NaN for an empty mask)."""
    _check(pred, target, mask)
    m = (mask != 0).to(torch.float64)[:, None]  # [B,1,H,W]
    sq = (pred.double() - target.double()) ** 2 * m
    count = m.sum(dim=(1, 2, 3)) * pred.shape[1]
    mse = sq.sum(dim=(1, 2, 3)) / count.clamp(min=1)
    floor = 10.0 ** (-PSNR_CAP_DB / 10.0)  # the MSE that reads exactly the cap
    psnr = -10.0 * torch.log10(mse.clamp(min=floor))
    psnr = torch.where(count > 0, psnr, torch.full_like(psnr, float("nan")))
    return _reduce(psnr, reduction)


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Normalised 1D Gaussian [size] (float64) centred on the middle tap."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of [N,1,H,W] with zero padding (same size)."""
    r = (len(g) - 1) // 2
    x = F.conv2d(x, g.view(1, 1, 1, -1), padding=(0, r))
    return F.conv2d(x, g.view(1, 1, -1, 1), padding=(r, 0))


def ssim_map(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SSIM map [B,H,W] (channel mean) with the border-renormalised Gaussian window."""
    b, c, h, w = pred.shape
    g = gaussian_window().to(pred.device)
    x = pred.double().reshape(b * c, 1, h, w)
    y = target.double().reshape(b * c, 1, h, w)
    norm = _blur(torch.ones(1, 1, h, w, dtype=torch.float64, device=pred.device), g)

    def mean(t: torch.Tensor) -> torch.Tensor:
        return _blur(t, g) / norm

    mx, my = mean(x), mean(y)
    vx = mean(x * x) - mx * mx
    vy = mean(y * y) - my * my
    cxy = mean(x * y) - mx * my
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.reshape(b, c, h, w).mean(dim=1)


def ssim_masked(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, reduction: str = "none"
) -> torch.Tensor:
    """SSIM averaged over masked pixels: [B] (NaN for an empty mask)."""
    _check(pred, target, mask)
    s = ssim_map(pred, target)
    m = (mask != 0).to(torch.float64)
    count = m.sum(dim=(1, 2))
    out = (s * m).sum(dim=(1, 2)) / count.clamp(min=1)
    out = torch.where(count > 0, out, torch.full_like(out, float("nan")))
    return _reduce(out, reduction)


def mask_iou(pred: torch.Tensor, gt: torch.Tensor, reduction: str = "none") -> torch.Tensor:
    """IoU of boolean masks [B,H,W] (or [H,W]): [B] float64; 1.0 when both are empty."""
    if pred.shape != gt.shape:
        raise ValueError(f"masks {tuple(pred.shape)} and {tuple(gt.shape)} differ in shape")
    if pred.dim() == 2:
        pred, gt = pred[None], gt[None]
    p, g = pred != 0, gt != 0
    inter = (p & g).sum(dim=(1, 2)).double()
    union = (p | g).sum(dim=(1, 2)).double()
    iou = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))
    return _reduce(iou, reduction)


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB of an MSE of images in [0, 1], with the same 100 dB cap."""
    return min(PSNR_CAP_DB, -10.0 * math.log10(mse)) if mse > 0 else PSNR_CAP_DB
