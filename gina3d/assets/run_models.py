"""What the asset commands need from a run: models, the dataset, training sizes, samplers.

A ``--run`` is either a stage-1 run (encode and decode only: reconstructions and edits) or
a stage-2 run (also sampling and variations; its decoder is the stage-1 checkpoint pinned
in ``RUN/stage1/``, and its stage-1 run, recorded in its config, holds the token cache and
names the dataset). This module is the one place the asset commands touch the stage-2
sampler (``gina3d.generation.sampler``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gina3d.errors import Gina3dError

# Box sizes (length, width, height; metres) used when nothing else gives one.
DEFAULT_SIZES = {
    "vehicle": (4.6, 1.9, 1.6),
    "pedestrian": (0.7, 0.7, 1.75),
    "cyclist": (1.8, 0.7, 1.7),
}


@dataclass
class Models:
    """A run's models: ``stage1`` always, ``stage2`` (MaskGIT) for a stage-2 run."""

    run: Path
    kind: str  # "stage1" | "stage2"
    stage1: torch.nn.Module
    stage1_source: Path  # what assets record as their decoder (run or pinned checkpoint dir)
    stage1_run: Path | None  # the stage-1 run (dataset, token cache); None if unknown
    stage2: torch.nn.Module | None = None
    configs: dict = field(default_factory=dict)


def run_kind(run: str | os.PathLike) -> str:
    """ "stage1" or "stage2", from the newest checkpoint's model_config.json."""
    from gina3d.training.checkpoint import latest_checkpoint

    run = Path(run)
    if not run.is_dir():
        raise Gina3dError(f"{run}: no such run directory")
    ckpt = latest_checkpoint(run)
    if ckpt is None:
        raise Gina3dError(f"{run}: no checkpoint yet (train stage 1 first)")
    try:
        kind = json.loads((ckpt / "model_config.json").read_text()).get("kind")
    except (OSError, ValueError):
        raise Gina3dError(f"{ckpt}: unreadable model_config.json") from None
    if kind not in ("stage1", "stage2"):
        raise Gina3dError(f"{ckpt}: neither a stage-1 nor a stage-2 checkpoint (kind {kind!r})")
    return kind


def load_models(run: str | os.PathLike, device: str = "cpu") -> Models:
    """The models of a stage-1 or stage-2 run, in eval mode on ``device``."""
    run = Path(run)
    if run_kind(run) == "stage1":
        from gina3d.training.checkpoint import load_stage1

        stage1, cfg = load_stage1(run, device)
        return Models(run, "stage1", stage1, run, run, configs={"stage1": cfg})
    from gina3d.generation.sampler import load_stage2

    stage2, stage1, configs = load_stage2(run, device)
    s1_run = configs["stage2"].get("stage1_run") or None
    return Models(
        run,
        "stage2",
        stage1,
        run / "stage1",
        Path(s1_run) if s1_run else None,
        stage2=stage2,
        configs=configs,
    )


def require_stage2(models: Models, what: str) -> None:
    if models.stage2 is None:
        raise Gina3dError(
            f"{models.run}: a stage-1 run; {what} needs a stage-2 run (gina3d train stage2)"
        )


def stage2_conditions(models: Models) -> set[str]:
    """Condition names the stage-2 model takes (keys of the sampler's conditions dict)."""
    if models.stage2 is None:
        return set()
    from gina3d.generation.sampler import condition_flags

    return {k for k, on in condition_flags(models.stage2.cfg).items() if on}


def dataset_of(models: Models) -> Path | None:
    """The dataset the stage-1 run was trained on (its config.yaml ``data``), if known."""
    import yaml

    if models.stage1_run is None:
        return None
    path = models.stage1_run / "config.yaml"
    try:
        data = (yaml.safe_load(path.read_text()) or {}).get("data")
    except (OSError, yaml.YAMLError):
        return None
    return Path(data) if data else None


def training_sizes(models: Models, class_name: str | None) -> np.ndarray:
    """Box sizes [N,3] (metres) of the training patches of a class (all when None).

    From the stage-1 run's token cache (``gina3d encode``), else the dataset's metadata;
    Gina3dError when neither can be read or the class has no training patch.
    """
    from gina3d.data.dataset import CLASSES

    sizes, classes = None, None
    if models.stage1_run is not None:
        try:
            from gina3d.generation.token_cache import load_token_cache

            cache = load_token_cache(models.stage1_run, "train")
            sizes, classes = (
                cache.size.numpy(),
                [CLASSES[i] if 0 <= i < len(CLASSES) else "" for i in cache.class_idx.tolist()],
            )
        except Gina3dError:
            sizes = None
    if sizes is None:
        data = dataset_of(models)
        if data is None or not data.exists():
            raise Gina3dError(
                f"{models.run}: no token cache or dataset to take sizes from; pass --size"
            )
        from gina3d.data.shards import read_columns

        table = read_columns(data, ["cls", "box_size"], split="train").to_pydict()
        sizes = np.asarray(table["box_size"], dtype=np.float64).reshape(-1, 3)
        classes = table["cls"]
    keep = np.array([class_name is None or c == class_name for c in classes], dtype=bool)
    if not keep.any():
        raise Gina3dError(f"{models.run}: no training patch of class '{class_name}'; pass --size")
    return np.asarray(sizes, dtype=np.float64)[keep]


def sample_tokens(
    models: Models,
    seed: int,
    conditions: dict,
    steps: int = 12,
    temperature: float = 1.0,
    guidance: float = 2.0,
) -> torch.Tensor:
    """One new token grid [T] (long, CPU) from the stage-2 model."""
    from gina3d.generation.sampler import sample_token_grids

    require_stage2(models, "sampling")
    out = sample_token_grids(
        models.stage2, 1, seed, conditions, steps=steps, temperature=temperature, guidance=guidance
    )
    return out[0]


def variation_tokens(
    models: Models,
    tokens: torch.Tensor,
    n: int,
    strength: float,
    seed: int,
    conditions: dict,
    steps: int = 12,
    temperature: float = 1.0,
    guidance: float = 2.0,
) -> torch.Tensor:
    """``n`` variations [n,T] of ``tokens`` [T] with a fraction ``strength`` resampled."""
    from gina3d.generation.sampler import variations

    require_stage2(models, "--variations")
    return variations(
        models.stage2,
        tokens,
        n,
        strength,
        seed,
        conditions,
        steps=steps,
        temperature=temperature,
        guidance=guidance,
    )
