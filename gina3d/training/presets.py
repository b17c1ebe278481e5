"""Named stage-1 presets: model size, losses and optimisation for each kind of machine.

``tiny``: tests, seconds on a CPU. ``demo``: ``gina3d demo``'s 32-pixel model, about 6 minutes
on 2 CPU cores. ``cpu``: learns on 2 CPU cores in about 30 minutes.
``gpu128`` / ``gpu256``: one or more GPUs at 128 or 256 pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gina3d.errors import Gina3dError
from gina3d.models.config import ModelConfig, tiny_model_config
from gina3d.training.loop import TrainConfig
from gina3d.training.stage1_objective import LossConfig


@dataclass
class Stage1Config:
    """Everything a stage-1 run needs; saved as RUN/config.yaml."""

    preset: str = "cpu"
    """Name of the preset this config started from."""
    data: str = ""
    """Dataset directory (holds manifest.json)."""
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def stage1_preset(name: str, image_size: int) -> Stage1Config:
    """The preset ``name`` for patches of ``image_size`` pixels."""
    if name == "tiny":
        return Stage1Config(
            preset=name,
            model=tiny_model_config(image_size),
            loss=LossConfig(rays_per_image=64, adversarial_start=4, adversarial_resolution=16),
            train=TrainConfig(
                batch_size=2,
                max_steps=8,
                warmup_steps=2,
                log_every=2,
                sample_every=4,
                checkpoint_every=4,
                num_workers=0,
            ),
        )
    if name == "demo":
        return demo_preset(image_size)
    if name == "cpu":
        return Stage1Config(
            preset=name,
            # 16 x 16 tokens per plane in 8 x 8 cells of 2 x 2, each token with pixel-aligned
            # features: at equal steps 0.9 to 1.3 dB more training PSNR than 8 x 8 tokens
            # without lifting (steps 350 to 550), for ~10 % more time per step (docs/stage1.md)
            model=replace(
                ModelConfig(image_size=image_size),
                plane_tokens=16,
                token_split=2,
                pixel_lifting=True,
            ),
            # 16-px adversarial renders keep a step near 0.47 s at batch 8 on 2 cores
            # (0.83 s at 32 px): the adversarial term is a refinement, colour comes first.
            # Mask weight 2 (default 0.5): thin parts stay opaque, 30-minute runs' meshes
            # of test pedestrians reach 0.85 / 0.86 / 0.92 of the box (0.76 / 0.85 / 0.91
            # at 0.5) at the same colour and depth errors (docs/stage1.md)
            loss=LossConfig(adversarial_resolution=16, mask=2.0),
            train=TrainConfig(
                batch_size=8,
                lr=3e-4,
                sample_every=250,
                checkpoint_every=500,
                checkpoint_minutes=5.0,
                num_workers=1,
                cpu_bf16=True,  # where the CPU has bf16: faster, same loss (docs/performance.md)
            ),
        )
    if name in ("gpu128", "gpu256"):
        res = 128 if name == "gpu128" else 256
        if image_size != res:
            raise Gina3dError(
                f"preset {name} expects {res}-pixel patches, the dataset has {image_size}"
            )
        model = replace(
            ModelConfig(image_size=res),
            patch_size=8 if res == 128 else 16,
            width=384,
            heads=6,
            encoder_depth=8,
            plane_tokens=16,
            cross_depth=4,
            codebook_size=1024,
            decoder_depth=8,
            plane_resolution=64 if res == 128 else 128,
            plane_features=32,
            field_hidden=64,
            samples_stratified=48,
            samples_importance=32,
        )
        return Stage1Config(
            preset=name,
            model=model,
            loss=LossConfig(
                rays_per_image=2048 if res == 128 else 4096,
                adversarial_start=10_000,
                adversarial_resolution=64,
            ),
            train=TrainConfig(
                batch_size=16,
                lr=2e-4,
                sample_every=1000,
                checkpoint_every=2000,
                checkpoint_minutes=15.0,
                num_workers=6,
            ),
        )
    raise Gina3dError(f"unknown preset '{name}' (presets: {', '.join(PRESETS)})")


def demo_preset(image_size: int) -> Stage1Config:
    """``gina3d demo``'s stage 1: 32-pixel patches, a small model, a few minutes on 2 cores."""
    patch = 4 if image_size <= 32 else 8
    if image_size % patch:
        raise Gina3dError(
            f"preset demo: patches of {image_size} pixels are not a multiple of {patch}"
        )
    model = replace(
        ModelConfig(image_size=image_size),
        patch_size=patch,
        width=96,
        heads=4,
        encoder_depth=3,
        plane_tokens=8,
        cross_depth=2,
        codebook_size=256,
        decoder_depth=3,
        plane_resolution=32,
        plane_features=24,
        field_hidden=48,
        samples_stratified=20,
        samples_importance=12,
    )
    return Stage1Config(
        preset="demo",
        model=model,
        loss=LossConfig(rays_per_image=256, adversarial_start=10**9, adversarial_resolution=16),
        train=TrainConfig(
            batch_size=8,
            lr=5e-4,
            warmup_steps=100,
            log_every=10,
            sample_every=200,
            checkpoint_every=500,
            checkpoint_minutes=2.0,
            num_workers=0,
            cpu_bf16=True,  # where the CPU has bf16: faster, same loss (docs/performance.md)
        ),
    )


PRESETS = ("tiny", "demo", "cpu", "gpu128", "gpu256")
