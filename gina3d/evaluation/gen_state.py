"""What the steps of ``gina3d eval gen`` hand each other (``gen_eval.evaluate_gen_run``).

``GenRun`` (where, how, timings) goes to every step; ``gen_eval.plan_assets`` makes a ``GenPlan``
(protocol steps 1 and 2), ``gen_sample.sample_assets`` the ``GenSamples``,
``gen_eval.real_images`` the ``RealSet``; ``gen_protocol.annotate_protocol`` reads them all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gina3d.evaluation.gen_config import GenEvalConfig


@dataclass
class GenRun:
    """One ``evaluate_gen_run`` call: its data, its settings, its timings."""

    root: Path
    """The dataset directory."""
    split: str
    """The held-out split."""
    settings: GenEvalConfig
    """Every setting (validated)."""
    progress: bool
    """Show progress bars."""
    timing: dict[str, float] = field(default_factory=dict)
    """Seconds per step, in the order the steps ran (gen.json's ``protocol.timing_s``)."""

    @property
    def device(self) -> torch.device:
        return torch.device(self.settings.device)

    def add_time(self, key: str, start: float) -> None:
        """Add the seconds since ``start`` (``time.perf_counter``) to ``timing[key]``."""
        self.timing[key] = self.timing.get(key, 0.0) + time.perf_counter() - start


@dataclass
class GenPlan:
    """Protocol steps 1 and 2: the class counts and one held-out patch per asset."""

    meta: dict
    """``gen_data.split_meta`` of the held-out split."""
    mix: dict[str, int]
    """Training class counts."""
    mix_source: str
    """Where the training counts come from."""
    dropped: list[str]
    """Training classes without a patch in the held-out split."""
    counts: dict[str, int]
    """Generated assets per class."""
    pools: dict[str, np.ndarray]
    """Per class, the patches that conditions, cameras and real images come from."""
    fallback: dict[str, bool]
    """Per class, whether its pool fell back to occluded patches."""
    assets: list[tuple[str, int]]
    """(class, patch index) of each asset, classes interleaved."""
    conditions: set[str]
    """The conditions the stage-2 model was trained with."""
    scale: float
    """Render resolution / patch resolution: the scale of the patches' intrinsics."""


@dataclass
class GenSamples:
    """Protocol step 2's output, one entry per asset in plan order."""

    images: list[torch.Tensor] = field(default_factory=list)
    """[3,R,R] straight-colour renders at the camera of the asset's patch."""
    masks: list[torch.Tensor] = field(default_factory=list)
    """[R,R] render opacity >= 0.5."""
    meshes: list = field(default_factory=list)
    """``assets.mesh.extract_mesh`` meshes (object frame, metres)."""
    render_fns: list = field(default_factory=list)
    """``triplane_render_fn`` per asset (geometry consistency)."""
    sizes: list[np.ndarray] = field(default_factory=list)
    """Box size [3] (metres) per asset."""
    rows: list[dict] = field(default_factory=list)
    """gen.json's ``assets[]``: class, patch_id, seed, conditions, mesh_faces."""


@dataclass
class RealSet:
    """Protocol step 3: the real images."""

    idx: np.ndarray
    """Patch indices (into ``GenPlan.meta``) of the images used."""
    num_pool: int
    """Patches in the pools before the ``max_real`` subset."""
    rgb: torch.Tensor
    """[M,3,R,R] colour in [0,1]."""
    mask: torch.Tensor
    """[M,R,R] visible object masks."""
