"""Rendered image windows for the image-space terms (adversarial, perceptual) of stage 1.

Per-ray colour losses cannot see texture; image-space terms need rendered images. Two
kinds of window, both composited over a constant grey (``GREY``) on both sides so that
neither the scene background nor the render's empty space is a shortcut:

- ``window_resolution = 0``: the whole patch rendered at ``adversarial_resolution`` pixels
  per side; the real side is the patch area-downsampled to that size.
- ``window_resolution = r > 0`` (EpiGRAF's patch-wise training, Skorokhodov et al. 2022):
  per image a square window of side ``s * H`` patch pixels, ``s`` uniform in
  ``[max(window_scale_min, r / H), 1]`` (a window pixel is never smaller than a
  patch pixel), at a uniform random position inside the patch, rendered at
  ``r x r`` pixels (stride ``s * H / r`` patch pixels). At ``s = r / H`` the window is a
  full-resolution crop, so the terms judge detail at the patch's own pixel size; at
  ``s = 1`` it is the whole patch. The real side is the patch area-averaged to the
  window's stride and sampled bilinearly at the same pixel centres.

Occluder pixels (occlusion-aware mode) are the same grey on both sides, so what an
occluder hides is neither rewarded nor punished: the real side is
``rgb * obj + (1 - obj) * grey`` (occluder pixels are not object pixels), and the render's
occluder pixels are set to grey by the same (area-averaged) occluder mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gina3d.models.discriminator import downsample
from gina3d.models.stage1 import image_rays, intrinsics_matrix

GREY = 0.5


@dataclass
class Windows:
    """Rendered and real windows [B,3,r,r] over grey, and their masks [B,r,r]."""

    fake: Tensor
    real: Tensor
    fake_opacity: Tensor  # with occluder pixels zeroed in occlusion-aware mode
    real_mask: Tensor


def window_boxes(
    b: int, h: int, r: int, scale_min: float, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """Per image the window's corner (x0, y0) and stride in patch pixels [B] each."""
    dev = generator.device
    lo = max(scale_min, r / h) if r <= h else 1.0
    u = torch.rand(3, b, generator=generator, device=dev)  # scale, x, y
    side = (lo + (1.0 - lo) * u[0]) * h  # [B] window side in patch pixels
    x0, y0 = u[1] * (h - side), u[2] * (h - side)
    return x0, y0, side / r


def _sample(images: Tensor, x0: Tensor, y0: Tensor, stride: Tensor, r: int) -> Tensor:
    """images [B,C,H,W] area-averaged to each window's stride, sampled at its r x r pixel
    centres -> [B,C,r,r]."""
    b, _, h, w = images.shape
    out = []
    for i in range(b):
        k = float(stride[i])
        img = images[i : i + 1]
        if k > 1.0:  # area-average to the window's pixel size first (no aliasing)
            img = downsample(img, max(1, round(h / k)))
        scale = img.shape[-1] / w  # pixels of ``img`` per patch pixel
        t = torch.arange(r, device=images.device, dtype=torch.float32) + 0.5
        xs = (x0[i] + t * stride[i]) * scale  # x0, y0, stride on the images' device
        ys = (y0[i] + t * stride[i]) * scale
        gx, gy = 2.0 * xs / img.shape[-1] - 1.0, 2.0 * ys / img.shape[-2] - 1.0
        grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)[None]
        out.append(F.grid_sample(img, grid, mode="bilinear", padding_mode="border",
                                 align_corners=False))  # fmt: skip
    return torch.cat(out)  # [B,C,r,r]


def render_windows(
    model,
    batch: dict[str, Tensor],
    triplane: Tensor,
    generator: torch.Generator,
    resolution: int,
    window: int = 0,
    scale_min: float = 0.25,
    occlusion_aware: bool = True,
) -> Windows:
    """Render windows of the input views (module docstring): the whole patch at
    ``resolution`` when ``window`` is 0, else random windows of ``window`` pixels."""
    rgb = batch["rgb"].float()  # [B,3,H,W]
    b, _, h, w = rgb.shape
    if h != w:
        raise ValueError(f"rendered windows need square patches, got {h} x {w}")
    K = intrinsics_matrix(batch["intrinsics"]).clone()  # [B,3,3]
    obj = batch["object_mask"][:, None].float()  # [B,1,H,W]
    occ = batch["occluder_mask"][:, None].float()
    if window == 0:
        r = resolution
        K[:, 0] *= r / w  # the whole patch as a crop: x0 = y0 = 0, side = H
        K[:, 1] *= r / h
        real_rgb, real_obj, real_occ = (downsample(x, r) for x in (rgb * obj, obj, occ))
    else:
        r = window
        x0, y0, stride = window_boxes(b, h, r, scale_min, generator)
        x0, y0, stride = (v.to(K.device) for v in (x0, y0, stride))
        K[:, 0, 2] -= x0  # the window's own intrinsics: shift, then scale by the stride
        K[:, 1, 2] -= y0
        K[:, :2] /= stride[:, None, None]
        stacked = _sample(torch.cat([rgb * obj, obj, occ], dim=1), x0, y0, stride, r)
        real_rgb, real_obj, real_occ = stacked[:, :3], stacked[:, 3:4], stacked[:, 4:5]
    origins, directions = image_rays(K, batch["cam_from_obj"], r, r)  # [B,r*r,3]
    out = model.render_rays(
        triplane, origins, directions, batch["box_size"], generator=generator, perturb=True
    )
    opacity = out["opacity"].view(b, 1, r, r)
    fake = out["rgb"].transpose(1, 2).reshape(b, 3, r, r) + (1.0 - opacity) * GREY
    real = real_rgb + (1.0 - real_obj) * GREY
    if occlusion_aware:  # the real side is grey there already (not object pixels)
        fake = fake * (1.0 - real_occ) + GREY * real_occ
        opacity = opacity * (1.0 - real_occ)
    return Windows(fake, real, opacity[:, 0], real_obj[:, 0])
