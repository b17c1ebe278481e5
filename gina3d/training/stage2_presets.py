"""Named stage-2 presets: MaskGIT size, objective and optimisation for each kind of machine.

``tiny``: tests, seconds on a CPU, every condition on. ``demo``: ``gina3d demo``'s small
model (class, size and time; no image), a few minutes on 2 CPU cores. ``cpu``: learns on 2
CPU cores in about 10 minutes from a few thousand token grids. ``gpu``: one or more GPUs.
The token grid's shape (``model.plane_tokens``) and the codebook size come from the
stage-1 run, whatever the preset says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gina3d.errors import Gina3dError
from gina3d.models.maskgit import MaskGITConfig
from gina3d.training.loop import TrainConfig
from gina3d.training.stage2 import Stage2LossConfig

PRESETS = ("tiny", "demo", "cpu", "gpu")


@dataclass
class Stage2Config:
    """Everything a stage-2 run needs; saved as RUN/config.yaml."""

    preset: str = "cpu"
    """Name of the preset this config started from."""
    stage1_run: str = ""
    """The stage-1 run directory whose tokenizer (and token cache) this run models."""
    stage1_step: int = 0
    """Step of the stage-1 checkpoint the tokens come from (copied to RUN/stage1/)."""
    model: MaskGITConfig = field(default_factory=MaskGITConfig)
    loss: Stage2LossConfig = field(default_factory=Stage2LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def stage2_preset(name: str) -> Stage2Config:
    """The preset ``name`` (see the module docstring)."""
    if name == "tiny":
        return Stage2Config(
            preset=name,
            model=MaskGITConfig(width=32, depth=1, heads=2, use_image=True, image_size=16),
            train=TrainConfig(
                batch_size=4,
                lr=1e-3,
                max_steps=6,
                warmup_steps=2,
                log_every=2,
                sample_every=3,
                checkpoint_every=3,
                num_workers=0,
            ),
        )
    if name == "demo":
        # generation only conditions on class, size and time: no image encoder to train
        return Stage2Config(
            preset=name,
            model=MaskGITConfig(width=128, depth=3, heads=4, use_image=False),
            train=TrainConfig(
                batch_size=32,
                lr=1e-3,
                weight_decay=0.05,
                warmup_steps=50,
                log_every=10,
                sample_every=200,
                checkpoint_every=500,
                checkpoint_minutes=2.0,
                num_workers=0,
                cpu_bf16=True,  # 1.25x where the CPU has bf16, same loss (docs/performance.md)
            ),
        )
    if name == "cpu":
        return Stage2Config(
            preset=name,
            model=MaskGITConfig(width=128, depth=4, heads=4, use_image=True),
            train=TrainConfig(
                batch_size=32,
                lr=1e-3,
                weight_decay=0.05,
                warmup_steps=100,
                log_every=10,
                sample_every=250,
                checkpoint_every=500,
                checkpoint_minutes=5.0,
                num_workers=0,
                cpu_bf16=True,  # 1.25x where the CPU has bf16, same loss (docs/performance.md)
            ),
        )
    if name == "gpu":
        return Stage2Config(
            preset=name,
            model=MaskGITConfig(width=512, depth=12, heads=8, use_image=True),
            train=TrainConfig(
                batch_size=128,
                lr=3e-4,
                weight_decay=0.05,
                warmup_steps=1000,
                log_every=50,
                sample_every=2000,
                checkpoint_every=2000,
                checkpoint_minutes=15.0,
                num_workers=0,
            ),
        )
    raise Gina3dError(f"unknown preset '{name}' (presets: {', '.join(PRESETS)})")
