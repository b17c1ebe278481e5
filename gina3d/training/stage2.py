"""The stage-2 task for the training loop: MaskGIT over cached token grids, one step.

A step masks each grid with the cosine schedule (``gina3d.models.mask_schedule``), drops
conditions at random (each of class / size / time with ``cond_dropout``, the image with
``image_dropout``, all of them together with ``cond_dropout_all``) so that sampling can
use classifier-free guidance, and minimises the cross-entropy of the masked tokens.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gina3d.config import to_dict
from gina3d.errors import Gina3dError
from gina3d.models.mask_schedule import apply_mask, random_mask
from gina3d.models.maskgit import Conditions, MaskGIT, guided_decode
from gina3d.models.transformer import use_cpu_bf16
from gina3d.training.checkpoint import latest_checkpoint, load_state
from gina3d.training.distributed import DistInfo, average_gradients, broadcast_buffers
from gina3d.training.optim import adamw, clip_gradients

SAMPLE_STEPS = 8
SAMPLE_GUIDANCE = 2.0
SAMPLE_SEED = 0
SAMPLE_VIEWS = ((0.0, 10.0), (35.0, 20.0), (90.0, 10.0))  # (azimuth, elevation) degrees


@dataclass
class Stage2LossConfig:
    """Masked-token objective and condition dropout of stage 2."""

    cond_dropout: float = 0.1
    """Probability that each of class, size and time is replaced by its null embedding."""
    image_dropout: float = 0.5
    """Probability that the image condition is replaced by its null embedding."""
    cond_dropout_all: float = 0.1
    """Probability that every condition of a grid is null at once (the unconditional model)."""
    label_smoothing: float = 0.1
    """Label smoothing of the masked-token cross-entropy."""


def batch_conditions(batch: dict, image_size: int) -> Conditions:
    """Conditions of a token-cache batch (no dropout)."""
    image = batch["image"].float() / 255.0  # [B,3,S,S]
    if image.shape[-1] != image_size:
        image = F.interpolate(image, size=(image_size, image_size), mode="area")  # as cached
    return Conditions(batch["class_idx"], batch["size"], batch["time_idx"], image)


def drop_conditions(
    cond: Conditions, b: int, cfg: Stage2LossConfig, generator: torch.Generator
) -> Conditions:
    """``cond`` with ``keep`` masks [B] drawn from ``generator`` (condition dropout)."""
    every = torch.rand(b, generator=generator) >= cfg.cond_dropout_all  # [B]
    keep = {}
    for name in ("class", "size", "time", "image"):
        p = cfg.image_dropout if name == "image" else cfg.cond_dropout
        keep[name] = every & (torch.rand(b, generator=generator) >= p)  # [B]
    return Conditions(cond.class_idx, cond.size, cond.time_idx, cond.image, keep)


def view_camera(
    box_size: Tensor, azimuth_deg: float, elevation_deg: float, image_size: int, fov_deg=40.0
) -> tuple[Tensor, Tensor]:
    """Cameras looking at the box centre: K [B,3,3], cam_from_obj [B,4,4] (OpenCV), one per
    box, from ``gina3d.geometry.cameras.look_at_camera`` (azimuth 0 on the object's +x axis,
    90 on its left; the distance fits the box's bounding sphere in the field of view)."""
    from gina3d.geometry.cameras import look_at_camera

    cams = [
        look_at_camera(size, image_size, azimuth_deg, elevation_deg, fov_deg)
        for size in box_size.detach().cpu().double().numpy()
    ]  # (cam_from_obj [4,4], K [3,3]) per box
    pose = torch.as_tensor(np.stack([c[0] for c in cams]), dtype=torch.float32)
    K = torch.as_tensor(np.stack([c[1] for c in cams]), dtype=torch.float32)
    return K, pose


def pin_stage1(stage1_run: str | os.PathLike, run_dir: str | os.PathLike, step: int) -> Path:
    """Copy the stage-1 run's newest checkpoint (weights, config, state) to RUN/stage1/.

    ``step`` is the step the caller expects that checkpoint to have (that of the tokens).

    The stage-2 run then decodes its tokens with the very checkpoint that made them, even
    after the stage-1 run trains on (and its old checkpoints are pruned).
    """
    src = latest_checkpoint(stage1_run)
    dst = Path(run_dir) / "stage1"
    if src is None:
        raise Gina3dError(f"{stage1_run}: no checkpoint yet (train stage 1 first)")
    if (dst / "state.json").exists():
        return dst
    if int(load_state(src)["step"]) != step:
        raise Gina3dError(f"{stage1_run}: newest checkpoint is not step {step}; retry")
    tmp = Path(run_dir) / "stage1.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("model.safetensors", "model_config.json", "state.json"):
        shutil.copy2(src / name, tmp / name)
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)
    return dst


class Stage2Task:
    """MaskGIT and its optimizer; ``stage1`` (frozen) only renders the sample grids."""

    def __init__(self, cfg, info: DistInfo, stage1=None) -> None:
        torch.manual_seed(cfg.train.seed)
        self.cfg, self.info, self.stage1 = cfg, info, stage1
        self.model = MaskGIT(cfg.model).to(info.device)
        use_cpu_bf16(self.model, cfg.train.cpu_bf16)
        t = cfg.train
        self.modules: dict[str, torch.nn.Module] = {"model": self.model}
        params = list(self.model.parameters())
        groups = [  # decay matrices and tables, not biases or norms (as nanoGPT)
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": t.weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            "model": adamw(groups, info.device, lr=t.lr, betas=(0.9, 0.96))
        }
        broadcast_buffers(self.model, info)

    def model_config(self) -> dict:
        return {
            "kind": "stage2",
            "preset": self.cfg.preset,
            "stage1_run": self.cfg.stage1_run,
            "stage1_step": self.cfg.stage1_step,
            "model": to_dict(self.cfg.model),
            "loss": to_dict(self.cfg.loss),
        }

    def loss(self, batch: dict, generator: torch.Generator) -> tuple[Tensor, dict[str, float]]:
        """Masked-token cross-entropy of one batch, and its logs."""
        mc = self.cfg.model
        tokens = batch["tokens"].long()  # [B,T]
        b, t = tokens.shape
        mask = random_mask(b, t, generator, tokens.device)  # [B,T]
        cond = batch_conditions(batch, mc.image_size)
        cond = drop_conditions(cond, b, self.cfg.loss, generator)
        masked = apply_mask(tokens, mask, mc.mask_id)  # [B,T]
        picked, where = self.model.masked_logits(masked, cond, mask)  # [M,K], [M]
        target = tokens.flatten()[where]  # [M]
        loss = F.cross_entropy(picked, target, label_smoothing=self.cfg.loss.label_smoothing)
        with torch.no_grad():
            acc = (picked.argmax(-1) == target).float().mean()
        logs = {
            "loss": float(loss.detach()),
            "masked_acc": float(acc),
            "mask_frac": float(mask.float().mean()),
        }
        return loss, logs

    def train_step(self, batch: dict, step: int, generator: torch.Generator) -> dict[str, float]:
        self.model.train()
        loss, logs = self.loss(batch, generator)
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        if not torch.isfinite(loss):
            return {"nonfinite": 1.0}
        loss.backward()
        average_gradients(self.model, self.info)
        if self.cfg.train.grad_clip > 0:
            clip_gradients(self.model, self.cfg.train.grad_clip)
        opt.step()
        return logs

    @torch.no_grad()
    def sample(self, cond: Conditions, n: int, seed: int = SAMPLE_SEED) -> Tensor:
        """Token grids [n,T] decoded from all-masked grids under ``cond`` (n rows)."""
        mc = self.cfg.model
        gen = torch.Generator().manual_seed(seed)
        start = torch.full((n, mc.num_tokens), mc.mask_id, device=self.info.device)  # [n,T]
        return guided_decode(self.model, start, cond, SAMPLE_GUIDANCE, SAMPLE_STEPS, gen)

    @torch.no_grad()
    def sample_grid(self, batch: dict, count: int = 4) -> np.ndarray:
        """Rows: condition image | real tokens decoded (front) | sample at 3 views.

        Samples use the batch rows' conditions (class, size, time, image), a fixed seed,
        ``SAMPLE_STEPS`` steps and guidance ``SAMPLE_GUIDANCE``.
        """
        self.model.eval()
        n = min(count, batch["tokens"].shape[0])
        rows = {k: v[:n] for k, v in batch.items()}
        cond = batch_conditions(rows, self.cfg.model.image_size)
        tokens = self.sample(cond, n)  # [n,T]
        self.model.train()
        if self.stage1 is None:
            h = self.cfg.model.plane_tokens
            both = torch.cat([rows["tokens"], tokens], dim=1).view(n, 6 * h, h).float()
            grid = (both / self.cfg.model.codebook_size).permute(1, 0, 2).reshape(6 * h, n * h)
            return (grid.cpu().numpy() * 255).astype(np.uint8)[..., None].repeat(3, -1)
        s = self.stage1.cfg.image_size
        size = rows["size"].float()  # [n,3]
        image = F.interpolate(cond.image.float(), size=(s, s), mode="bilinear")
        tiles = [image]
        real = self.stage1.decode_indices(rows["tokens"])  # [n,3,F,R,R]
        fake = self.stage1.decode_indices(tokens)
        for tri, views in ((real, SAMPLE_VIEWS[:1]), (fake, SAMPLE_VIEWS)):
            for az, el in views:
                K, pose = view_camera(size.cpu(), az, el, s)
                out = self.stage1.render_image(tri, K.to(size), pose.to(size), size, s, s)
                tiles.append(out["rgb"] + (1 - out["opacity"][:, None]))  # white background
        lines = [torch.cat([t[i].float().cpu() for t in tiles], dim=-1) for i in range(n)]
        grid = torch.cat(lines, dim=-2).clamp(0, 1)
        return (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
