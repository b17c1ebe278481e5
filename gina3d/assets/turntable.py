"""Turntables: views on a circle around an asset, composited on a background colour.

Cameras (OpenCV, docs/conventions.md) look at the box centre from a circle about the
object's z axis. ``look_at_camera`` places the first one at azimuth ``start_deg`` (measured
counter-clockwise from the object's +x, its front, seen from above; 0 = in front, 90 = on
its left) and ``elevation_deg`` above the horizontal plane through the box centre; the
others come from ``geometry.cameras.orbit_cameras`` (same distance, elevation and
intrinsics, rotated about z). Every view uses a fixed vertical field of view
``FOV_DEG`` (focal length ``(H / 2) / tan(fov / 2)``, square pixels, principal point at
the image centre) and a distance at which the box's bounding sphere fills the image with a
small margin, so an asset of any size fills its frames the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from gina3d.atomic import atomic_write
from gina3d.errors import Gina3dError
from gina3d.geometry.cameras import (
    ELEVATION_DEG,
    FOV_DEG,
    MARGIN,
    START_DEG,
    fit_distance,
    focal_length,
    look_at_camera,
    orbit_cameras,
)

__all__ = [
    "BACKGROUND",
    "ELEVATION_DEG",
    "FOV_DEG",
    "MARGIN",
    "START_DEG",
    "composite",
    "fit_distance",
    "focal_length",
    "look_at_camera",
    "render_turntable",
    "save_turntable",
    "strip",
    "turntable_cameras",
]

BACKGROUND = (1.0, 1.0, 1.0)


def turntable_cameras(
    box_size,
    views: int,
    image_size: int,
    elevation_deg: float = ELEVATION_DEG,
    start_deg: float = START_DEG,
    fov_deg: float = FOV_DEG,
) -> tuple[np.ndarray, np.ndarray]:
    """``views`` evenly spaced cameras: cam_from_obj [V,4,4], K [V,3,3] (float64)."""
    if views < 1:
        raise Gina3dError(f"turntable needs at least one view, got {views}")
    cam, K = look_at_camera(box_size, image_size, start_deg, elevation_deg, fov_deg)
    azimuths = [360.0 * i / views for i in range(views)]
    return orbit_cameras(cam, K, image_size, image_size, azimuths)


def composite(rgb: Tensor, opacity: Tensor, background: Sequence[float] = BACKGROUND) -> np.ndarray:
    """Premultiplied rgb [B,3,H,W] + opacity [B,H,W] over a colour -> uint8 [B,H,W,3]."""
    bg = torch.as_tensor(background, dtype=torch.float32, device=rgb.device).view(1, 3, 1, 1)
    image = rgb.float() + (1.0 - opacity.float()[:, None]) * bg  # [B,3,H,W]
    image = (image.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)
    return image.permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def render_turntable(
    model,
    triplane: Tensor,
    box_size,
    views: int = 8,
    image_size: int = 128,
    elevation_deg: float = ELEVATION_DEG,
    background: Sequence[float] = BACKGROUND,
    start_deg: float = START_DEG,
) -> np.ndarray:
    """uint8 frames [V,H,W,3] of ``model``'s field on ``triplane`` [3,F,R,R], one per view.

    Views are rendered one at a time (bounded memory) with ``model.render_image``.
    """
    cams, Ks = turntable_cameras(box_size, views, image_size, elevation_deg, start_deg)
    device = triplane.device
    planes = triplane[None].float()  # [1,3,F,R,R]
    size = torch.as_tensor(np.asarray(box_size, np.float32), device=device)[None]  # [1,3]
    frames = []
    for cam, K in zip(cams, Ks):
        out = model.render_image(
            planes,
            torch.as_tensor(K, dtype=torch.float32, device=device)[None],
            torch.as_tensor(cam, dtype=torch.float32, device=device)[None],
            size,
            image_size,
            image_size,
        )
        frames.append(composite(out["rgb"], out["opacity"], background)[0])
    return np.stack(frames)


def strip(frames: np.ndarray) -> np.ndarray:
    """Frames [V,H,W,3] side by side -> uint8 [H,V*W,3]."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise Gina3dError(f"turntable frames must be [V,H,W,3], got {list(frames.shape)}")
    return np.concatenate(list(frames), axis=1)


def save_turntable(
    frames: np.ndarray,
    png_path: str | os.PathLike,
    gif_path: str | os.PathLike | None = None,
    frame_ms: int = 250,
) -> None:
    """Write a horizontal strip PNG and (if given) a looping animated GIF, atomically."""
    from PIL import Image

    image = Image.fromarray(strip(frames))
    atomic_write(png_path, lambda tmp: image.save(tmp, format="PNG"))
    if gif_path is not None:
        images = [Image.fromarray(np.ascontiguousarray(f)) for f in frames]

        def write_gif(tmp: str) -> None:
            images[0].save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=images[1:],
                duration=frame_ms,
                loop=0,
                disposal=2,
            )

        atomic_write(gif_path, write_gif)
