"""The stage-1 task for the training loop: the tokenizer, its discriminator, one step."""

from __future__ import annotations

import numpy as np
import torch

from gina3d.config import to_dict
from gina3d.models.discriminator import PatchDiscriminator
from gina3d.models.stage1 import Stage1Model, intrinsics_matrix
from gina3d.models.transformer import use_cpu_bf16
from gina3d.training.distributed import DistInfo, average_gradients, broadcast_buffers
from gina3d.training.optim import adamw, clip_gradients
from gina3d.training.presets import Stage1Config
from gina3d.training.stage1_objective import Stage1Objective

SAMPLE_VIEWS = (90.0, 180.0, 270.0)


class Stage1Task:
    def __init__(self, cfg: Stage1Config, info: DistInfo) -> None:
        torch.manual_seed(cfg.train.seed)
        self.cfg, self.info = cfg, info
        self.model = Stage1Model(cfg.model).to(info.device)
        use_cpu_bf16(self.model, cfg.train.cpu_bf16)
        self.disc = None
        if cfg.loss.adversarial > 0:
            self.disc = PatchDiscriminator().to(info.device)
        self.objective = Stage1Objective(self.model, self.disc, cfg.loss)
        t = cfg.train
        self.modules: dict[str, torch.nn.Module] = {"model": self.model}
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            "model": adamw(
                _param_groups(self.model, t.weight_decay),
                info.device,
                lr=t.lr,
                betas=(0.9, 0.99),
                weight_decay=t.weight_decay,
            )
        }
        if self.disc is not None:
            self.modules["disc"] = self.disc
            self.optimizers["disc"] = adamw(
                self.disc.parameters(), info.device, lr=t.lr_disc, betas=(0.0, 0.99)
            )
        for m in self.modules.values():
            broadcast_buffers(m, info)

    def model_config(self) -> dict:
        return {
            "kind": "stage1",
            "preset": self.cfg.preset,
            "model": to_dict(self.cfg.model),
            "loss": to_dict(self.cfg.loss),
        }

    def _update(self, name: str, loss: torch.Tensor) -> None:
        opt, module = self.optimizers[name], self.modules[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(module, self.info)
        if self.cfg.train.grad_clip > 0:
            clip_gradients(module, self.cfg.train.grad_clip)
        opt.step()

    def train_step(self, batch: dict, step: int, generator: torch.Generator) -> dict[str, float]:
        self.model.train()
        loss, logs = self.objective.generator_loss(batch, step, generator)
        if not torch.isfinite(loss):
            self.optimizers["model"].zero_grad(set_to_none=True)
            return {"nonfinite": 1.0}
        self._update("model", loss)
        if self.disc is not None:
            d_loss, d_logs = self.objective.discriminator_loss(batch, step, generator)
            if d_loss is not None and torch.isfinite(d_loss):
                self._update("disc", d_loss)
            logs.update(d_logs)
        if step % 100 == 0:
            broadcast_buffers(self.model, self.info)
        return logs

    @torch.no_grad()
    def sample_grid(self, batch: dict, count: int = 4) -> np.ndarray:
        """Rows of: input | masks | reconstruction | opacity | novel views (90/180/270 deg)."""
        from gina3d.geometry.cameras import orbit_cameras

        self.model.eval()
        n = min(count, batch["rgb"].shape[0])
        rgb = batch["rgb"][:n]
        H, W = rgb.shape[-2:]
        tri, _ = self.model(
            rgb, batch["ray_direction"][:n], batch["ray_origin"][:n], batch["box_size"][:n]
        )
        K = intrinsics_matrix(batch["intrinsics"][:n])
        pose = batch["cam_from_obj"][:n]
        size = batch["box_size"][:n]
        out = self.model.render_image(tri, K, pose, size, H, W)
        masks = torch.stack(
            [
                batch["object_mask"][:n],
                batch["occluder_mask"][:n],
                batch["background_mask"][:n] * 0.3,
            ],
            dim=1,
        )
        tiles = [rgb, masks, out["rgb"], out["opacity"][:, None].expand(-1, 3, -1, -1)]
        views = [
            orbit_cameras(pose[i].cpu().numpy(), K[i].cpu().numpy(), W, H, SAMPLE_VIEWS)
            for i in range(n)
        ]  # per patch: cams [V,4,4], Ks [V,3,3]
        for v in range(len(SAMPLE_VIEWS)):
            poses = torch.stack([torch.as_tensor(c[v], dtype=torch.float32) for c, _ in views])
            Ks = torch.stack([torch.as_tensor(k[v], dtype=torch.float32) for _, k in views])
            view = self.model.render_image(tri, Ks.to(K), poses.to(K), size, H, W)
            tiles.append(view["rgb"])
        rows = [torch.cat([t[i].float().cpu() for t in tiles], dim=-1) for i in range(n)]
        grid = torch.cat(rows, dim=-2).clamp(0, 1)
        self.model.train()
        return (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def _param_groups(model, weight_decay: float):
    """The model's parameters for AdamW: one group, except that an sdf field's sharpness
    (a scalar stored as a log) is kept out of weight decay, which would pull it towards
    beta_min + 1 (density models keep the single group their checkpoints hold)."""
    params = list(model.parameters())
    beta = getattr(model.field, "log_beta_excess", None)
    if beta is None or weight_decay == 0:
        return params
    rest = [p for p in params if p is not beta]
    return [{"params": rest}, {"params": [beta], "weight_decay": 0.0}]
