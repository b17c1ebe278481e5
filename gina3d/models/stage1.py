"""GINA-3D stage 1: object patch -> discrete tri-plane tokens -> tri-plane -> renders.

``forward`` runs encode, quantise and decode; rendering is separate (``render_rays`` for
sampled pixel rays in training, ``render_image`` for whole images) so the objective
chooses which rays to pay for.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from gina3d.models.config import ModelConfig
from gina3d.models.decoder import TriplaneDecoder
from gina3d.models.encoder import TriplaneEncoder
from gina3d.models.field import TriplaneField
from gina3d.models.io import load_weights, read_model_config
from gina3d.models.quantizer import VectorQuantizer, VQOutput
from gina3d.models.renderer import render_rays


def image_rays(K: Tensor, cam_from_obj: Tensor, height: int, width: int) -> tuple[Tensor, Tensor]:
    """Object-frame rays through pixel centres: origins, unit directions [B,H*W,3].

    K [B,3,3]; cam_from_obj [B,4,4] (OpenCV camera). Row-major pixel order.
    """
    device = K.device
    K = K.float()
    pose = cam_from_obj.float()
    v, u = torch.meshgrid(
        torch.arange(height, device=device, dtype=torch.float32) + 0.5,
        torch.arange(width, device=device, dtype=torch.float32) + 0.5,
        indexing="ij",
    )  # [H,W]
    u, v = u.reshape(1, -1), v.reshape(1, -1)  # [1,H*W]
    x = (u - K[:, 0, 2, None]) / K[:, 0, 0, None]  # [B,H*W]
    y = (v - K[:, 1, 2, None]) / K[:, 1, 1, None]
    d_cam = torch.stack([x, y, torch.ones_like(x)], dim=-1)  # [B,H*W,3]
    d_cam = d_cam / d_cam.norm(dim=-1, keepdim=True)
    rot = pose[:, :3, :3]  # [B,3,3] cam_from_obj rotation
    directions = d_cam @ rot  # rows times R = R^T applied to each direction, [B,H*W,3]
    origin = -(rot.transpose(1, 2) @ pose[:, :3, 3:])[..., 0]  # [B,3]
    return origin[:, None].expand_as(directions), directions


class Stage1Model(nn.Module):
    """Encoder, vector quantiser, tri-plane decoder, radiance field and renderer."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.encoder = TriplaneEncoder(cfg)
        self.quantizer = VectorQuantizer(cfg)
        self.decoder = TriplaneDecoder(cfg)
        self.field = TriplaneField(cfg)

    @classmethod
    def from_checkpoint(
        cls, ckpt: str | os.PathLike, device: str = "cpu", cfg: dict | None = None
    ) -> tuple[Stage1Model, dict]:
        """The model of a stage-1 checkpoint directory, in eval mode on ``device``, and its
        saved config dict (``cfg``: that dict when the caller has read it already)."""
        from gina3d.config import from_dict

        cfg = read_model_config(ckpt, "stage1") if cfg is None else cfg
        model = cls(from_dict(ModelConfig, cfg["model"]))
        load_weights(Path(ckpt), {"model": model})
        return model.to(device).eval(), cfg

    def encode(
        self,
        rgb: Tensor,
        ray_direction: Tensor | None = None,
        ray_origin: Tensor | None = None,
        box_size: Tensor | None = None,
    ) -> Tensor:
        """rgb [B,3,H,W] in [0,1], rays [B,H,W,3] (object frame), box [B,3] -> latents [B,T,C].

        ``ray_direction`` is required with ``use_ray_embedding``; ``ray_origin`` and
        ``box_size`` with ``geometric_attention`` (ignored without them).
        """
        return self.encoder(rgb, ray_direction, ray_origin, box_size)

    def encode_batch(self, batch: dict[str, Tensor]) -> Tensor:
        """``encode`` with the inputs taken from a PatchDataset batch (rgb, rays, box_size)."""
        return self.encode(
            batch["rgb"], batch["ray_direction"], batch["ray_origin"], batch["box_size"]
        )

    def quantize(self, z: Tensor) -> VQOutput:
        """Latents [B,T,C] -> VQOutput (straight-through z_q, indices, loss, statistics)."""
        return self.quantizer(z)

    def decode(self, z_q: Tensor) -> Tensor:
        """Quantised latents [B,T,C] -> tri-plane [B,3,F,R,R]."""
        return self.decoder(z_q)

    def decode_indices(self, indices: Tensor) -> Tensor:
        """Code indices [B,T] (long) -> tri-plane [B,3,F,R,R]."""
        return self.decode(self.quantizer.lookup(indices.long()))

    def render_rays(
        self,
        triplane: Tensor,
        origins: Tensor,
        directions: Tensor,
        box_size: Tensor,
        generator: torch.Generator | None = None,
        perturb: bool = True,
    ) -> dict[str, Tensor]:
        """Rays [B,N,3] (object frame, metres, unit directions), boxes [B,3] -> dict.

        rgb [B,N,3] (premultiplied: no background added), opacity [B,N], depth [B,N]
        (expected metric distance along the ray, 0 where the opacity is 0).
        """
        return render_rays(
            self.field,
            triplane,
            origins,
            directions,
            box_size,
            self.cfg.samples_stratified,
            self.cfg.samples_importance,
            generator=generator,
            perturb=perturb,
        )

    def render_image(
        self,
        triplane: Tensor,
        K: Tensor,
        cam_from_obj: Tensor,
        box_size: Tensor,
        height: int,
        width: int,
        chunk: int = 4096,
    ) -> dict[str, Tensor]:
        """Whole images, no perturbation: rgb [B,3,H,W], opacity [B,H,W], depth [B,H,W].

        K [B,3,3], cam_from_obj [B,4,4]. ``chunk`` = rays per image rendered at once.
        Gradients flow if enabled (wrap in ``torch.no_grad()`` for evaluation).
        """
        origins, directions = image_rays(K, cam_from_obj, height, width)  # [B,H*W,3]
        parts: dict[str, list[Tensor]] = {}
        for start in range(0, height * width, chunk):
            sl = slice(start, start + chunk)
            out = self.render_rays(
                triplane, origins[:, sl], directions[:, sl], box_size, None, False
            )
            for key, value in out.items():
                parts.setdefault(key, []).append(value)
        b = triplane.shape[0]
        full = {k: torch.cat(v, dim=1) for k, v in parts.items()}
        return {
            "rgb": full["rgb"].view(b, height, width, 3).permute(0, 3, 1, 2),
            "opacity": full["opacity"].view(b, height, width),
            "depth": full["depth"].view(b, height, width),
        }

    def forward(
        self,
        rgb: Tensor,
        ray_direction: Tensor | None = None,
        ray_origin: Tensor | None = None,
        box_size: Tensor | None = None,
    ) -> tuple[Tensor, VQOutput]:
        """rgb [B,3,H,W] (+ rays [B,H,W,3], box [B,3]) -> (tri-plane [B,3,F,R,R], VQOutput)."""
        vq = self.quantize(self.encode(rgb, ray_direction, ray_origin, box_size))
        return self.decode(vq.z_q), vq


def intrinsics_matrix(intrinsics: Tensor) -> Tensor:
    """Batch (fx, fy, cx, cy) [B,4] -> K [B,3,3]."""
    fx, fy, cx, cy = intrinsics.float().unbind(-1)
    zero, one = torch.zeros_like(fx), torch.ones_like(fx)
    rows = [torch.stack([fx, zero, cx], -1), torch.stack([zero, fy, cy], -1)]
    return torch.stack([*rows, torch.stack([zero, zero, one], -1)], dim=-2)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameter count."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
