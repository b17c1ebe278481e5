"""The rays a stage-1 step renders: pixels drawn from the source patch and, with cross-view
supervision, from other observations of the same object.

Per image, ``rays_per_image`` pixel rays are drawn with the caller's generator:
``object_ray_fraction`` of them from object pixels, the rest from background pixels (and,
in the naive ablation, occluder pixels). If an image has no pixel of one kind, all its rays
come from the other; if it has neither, rays are drawn uniformly and carry no weight.

Cross-view (``cross_view_k > 0`` and a batch with ``view_*`` keys from
``data.track_views.CrossViewDataset``): ``cross_view_ray_fraction`` of the rays are drawn
from the K other observations (split evenly between them, each drawn as above), the rest
from the source. All rays are in the object's box frame, so they are rendered from the
source's tri-plane in one call and scored with the same losses; an observation slot that is
padding (``view_valid`` False) lends the source's pixels instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

SLOT_KEYS = (
    "rgb",
    "object_mask",
    "occluder_mask",
    "background_mask",
    "ray_origin",
    "ray_direction",
    "lidar_depth",
)


def sample_pixels(
    positive: Tensor, negative: Tensor, count: int, fraction: float, generator: torch.Generator
) -> Tensor:
    """Flat pixel indices [B,count]: round(count*fraction) from ``positive`` [B,H*W] pixels,
    the rest from ``negative`` ones (with replacement; falls back as the module says)."""
    dev = generator.device
    pos, neg = positive.to(dev).float(), negative.to(dev).float()
    has_pos, has_neg = pos.sum(1, keepdim=True) > 0, neg.sum(1, keepdim=True) > 0  # [B,1]
    uniform = torch.ones_like(pos)
    pos_w = torch.where(has_pos, pos, torch.where(has_neg, neg, uniform))  # [B,H*W]
    neg_w = torch.where(has_neg, neg, torch.where(has_pos, pos, uniform))
    n_pos = min(count, max(0, round(count * fraction)))
    parts = []
    if n_pos:
        parts.append(torch.multinomial(pos_w, n_pos, replacement=True, generator=generator))
    if count - n_pos:
        parts.append(torch.multinomial(neg_w, count - n_pos, replacement=True, generator=generator))
    return torch.cat(parts, dim=1).to(positive.device)  # [B,count]


def sampling_weights(masks: dict[str, Tensor], occlusion_aware: bool) -> tuple[Tensor, Tensor]:
    """Per-pixel drawing weights [B,H*W] of the object rays and of the other (negative) rays:
    object pixels, and background pixels (plus occluder pixels in the naive mode), weigh 1."""
    obj = masks["object_mask"].flatten(1)  # [B,H*W]
    neg = masks["background_mask"].flatten(1)
    if not occlusion_aware:
        neg = neg + masks["occluder_mask"].flatten(1)
    return obj, neg


def gather_pixels(image: Tensor, idx: Tensor) -> Tensor:
    """[B,H,W(,C)] -> values at flat pixel indices idx [B,N] -> [B,N(,C)]."""
    b = image.shape[0]
    flat = image.reshape(b, -1, *image.shape[3:])
    if flat.dim() == 2:
        return flat.gather(1, idx)
    return flat.gather(1, idx[..., None].expand(-1, -1, flat.shape[-1]))


@dataclass
class RayBatch:
    """Drawn rays [B,N,...] with their targets; ``slot`` [N] says which image each ray
    comes from (0: the source, v: the v-th other view)."""

    origin: Tensor  # [B,N,3]
    direction: Tensor  # [B,N,3]
    target: Tensor  # [B,N,3] colour
    w_obj: Tensor  # [B,N] 1 on object pixels
    w_bg: Tensor  # [B,N] 1 on background pixels
    w_occ: Tensor  # [B,N] 1 on occluder pixels
    lidar: Tensor  # [B,N] LiDAR distance (0: none)
    slot: Tensor  # [N] long

    @property
    def source(self) -> Tensor:
        """[N] bool: the source's rays."""
        return self.slot == 0


def cross_view_active(batch: dict[str, Tensor], k: int, fraction: float) -> bool:
    return k > 0 and fraction > 0 and "view_valid" in batch


def _slots(batch: dict[str, Tensor], key: str) -> Tensor:
    """[B,1+K,H,W(,C)] of the source and its other views (padding slots take the source);
    colour is moved channel-last."""
    src, views = batch[key], batch[f"view_{key}"]
    if key == "rgb":
        src, views = src.permute(0, 2, 3, 1), views.permute(0, 1, 3, 4, 2)
    valid = batch["view_valid"].view(*views.shape[:2], *([1] * (views.dim() - 2)))
    views = torch.where(valid, views, src[:, None].to(views.dtype))
    return torch.cat([src[:, None], views], dim=1)


def slot_counts(rays: int, k: int, fraction: float) -> list[int]:
    """Rays per slot: the source first, then the K other views (they share ``fraction``)."""
    n_views = min(rays - 1, max(k, round(rays * fraction)))
    share = [n_views // k + (1 if v < n_views % k else 0) for v in range(k)]
    return [rays - n_views, *share]


def draw_rays(
    batch: dict[str, Tensor],
    rays: int,
    object_fraction: float,
    occlusion_aware: bool,
    generator: torch.Generator,
    cross_view_k: int = 0,
    cross_view_fraction: float = 0.0,
) -> RayBatch:
    """The rays of one step (module doc)."""
    if not cross_view_active(batch, cross_view_k, cross_view_fraction):
        pos_w, neg_w = sampling_weights(batch, occlusion_aware)
        idx = sample_pixels(pos_w, neg_w, rays, object_fraction, generator)  # [B,N]
        images = {k: batch[k] for k in SLOT_KEYS}
        images["rgb"] = batch["rgb"].permute(0, 2, 3, 1)
        slot = torch.zeros(rays, dtype=torch.long, device=idx.device)
    else:
        slots = {k: _slots(batch, k) for k in SLOT_KEYS}  # [B,S,H,W(,C)]
        b, s, h, w = slots["object_mask"].shape
        counts = slot_counts(rays, s - 1, cross_view_fraction)
        parts = []
        for v, count in enumerate(counts):
            pos_w, neg_w = sampling_weights({k: t[:, v] for k, t in slots.items()}, occlusion_aware)
            parts.append(sample_pixels(pos_w, neg_w, count, object_fraction, generator) + v * h * w)
        idx = torch.cat(parts, dim=1)  # [B,N] into the slot-major flat pixels
        images = {k: t.reshape(b, s * h, w, *t.shape[4:]) for k, t in slots.items()}
        slot = torch.cat(
            [torch.full((c,), v, dtype=torch.long, device=idx.device) for v, c in enumerate(counts)]
        )
    return RayBatch(
        origin=gather_pixels(images["ray_origin"], idx),
        direction=gather_pixels(images["ray_direction"], idx),
        target=gather_pixels(images["rgb"], idx),
        w_obj=gather_pixels(images["object_mask"].flatten(1), idx),
        w_bg=gather_pixels(images["background_mask"].flatten(1), idx),
        w_occ=gather_pixels(images["occluder_mask"].flatten(1), idx),
        lidar=gather_pixels(images["lidar_depth"].flatten(1), idx),
        slot=slot,
    )


def view_gains(pred: Tensor, target: Tensor, weights: Tensor, slot: Tensor, lo: float, hi: float):
    """Per-ray brightness gain [B,N]: for each image's other view v, the scalar g minimising
    sum over its weighted rays of |g * pred - target|^2 (closed form, no gradient), clamped
    to [lo, hi]; 1 on the source's rays. Cameras expose each frame differently (exposure,
    auto-exposure), so another view's colours may be a brightness change of the source's.

    pred, target [B,N,3]; weights [B,N]; slot [N]."""
    p, t = pred.detach().float(), target.float()
    gains = torch.ones_like(weights)
    for v in slot.unique().tolist():
        if v == 0:
            continue
        on = slot == v
        w = weights[:, on, None]  # [B,n,1]
        num = (w * p[:, on] * t[:, on]).sum((1, 2))
        den = (w * p[:, on] * p[:, on]).sum((1, 2))
        g = torch.where(den > 1e-6, num / den.clamp_min(1e-6), torch.ones_like(num))
        gains[:, on] = g.clamp(lo, hi)[:, None]
    return gains
