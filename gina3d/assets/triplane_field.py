"""``Stage1Field``: a tri-plane decoded by a stage-1 model, as an ``AssetField``
(``asset_field.py``): renders with ``Stage1Model.render_image``, density at points, and
for sdf models (``surface == "sdf"``) the signed distance at points.

Kept apart from ``asset_field`` so that exports written with an asset folder (the splat
fit, ``splat_export``) can render the field without importing the folder code.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def float_tensor(a, device) -> Tensor:
    """An array-like as a float32 tensor on ``device``."""
    return torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)


def _numpy_render(out: dict[str, Tensor]) -> dict[str, np.ndarray]:
    """render_image's batch-of-one tensors -> rgb [H,W,3], opacity [H,W], depth [H,W]."""
    return {
        "rgb": out["rgb"][0].permute(1, 2, 0).float().cpu().numpy(),
        "opacity": out["opacity"][0].float().cpu().numpy(),
        "depth": out["depth"][0].float().cpu().numpy(),
    }


class Stage1Field:
    """A tri-plane [3,F,R,R] decoded by a stage-1 model, stretched over a box of ``size``."""

    def __init__(self, model, triplane: Tensor, size, chunk: int = 8192) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        self.triplane = triplane.to(self.device).float()[None]  # [1,3,F,R,R]
        self.size = np.asarray(size, dtype=np.float64)
        self.chunk = chunk
        self._box = torch.as_tensor(self.size, dtype=torch.float32, device=self.device)[None]
        self.surface = "sdf" if getattr(model.field, "is_sdf", False) else "density"

    @torch.no_grad()
    def render(self, K, cam_from_obj, height, width) -> dict[str, np.ndarray]:
        K_t = float_tensor(K, self.device)[None]  # [1,3,3]
        pose = float_tensor(cam_from_obj, self.device)[None]  # [1,4,4]
        out = self.model.render_image(
            self.triplane, K_t, pose, self._box, height, width, chunk=self.chunk
        )
        return _numpy_render(out)

    @torch.no_grad()
    def density(self, points: np.ndarray) -> np.ndarray:
        pts = torch.as_tensor(points / (self.size / 2.0), dtype=torch.float32, device=self.device)
        sigma = self.model.field(self.triplane, pts[None])["sigma"][0]  # [M]
        return sigma.float().cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def sdf(self, points: np.ndarray) -> np.ndarray:
        """Signed distance [M] (normalised units) at object-frame points [M,3] (metres);
        sdf models only."""
        pts = torch.as_tensor(points / (self.size / 2.0), dtype=torch.float32, device=self.device)
        return self.model.field.sdf(self.triplane, pts[None])[0].float().cpu().numpy()
