"""Reading a model out of a checkpoint directory: its config and its weights.

A checkpoint directory (``RUN/checkpoints/step-N``, a stage-2 run's pinned ``RUN/stage1``)
holds ``model_config.json`` (``kind`` "stage1" or "stage2", and the ``model`` config) and
``<module>.safetensors`` per module. ``Stage1Model.from_checkpoint`` and
``MaskGIT.from_checkpoint`` build a model with these; ``gina3d.training.checkpoint`` writes
the directories (and finds a run's newest one). Every failure is a one-line Gina3dError
naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file

from gina3d.errors import Gina3dError


def read_model_config(ckpt: str | os.PathLike, kind: str) -> dict:
    """The saved config dict (``model_config.json``) of a checkpoint directory of ``kind``."""
    path = Path(ckpt)
    stage = {"stage1": "stage-1", "stage2": "stage-2"}.get(kind, kind)
    if not (path / "model_config.json").exists():
        raise Gina3dError(f"{path}: no {stage} model here (model_config.json missing)")
    try:
        cfg = json.loads((path / "model_config.json").read_text())
    except (OSError, ValueError):
        raise Gina3dError(f"{path}: unreadable model_config.json") from None
    if not isinstance(cfg, dict) or cfg.get("kind") != kind:
        found = cfg.get("kind") if isinstance(cfg, dict) else None
        raise Gina3dError(f"{path}: not a {stage} checkpoint (kind {found!r})")
    return cfg


def load_weights(path: Path, modules: dict[str, torch.nn.Module], strict: bool = True) -> None:
    """Load ``path/<name>.safetensors`` into each module (all of them required if strict)."""
    for key, module in modules.items():
        f = Path(path) / f"{key}.safetensors"
        if not f.exists():
            if strict:
                raise Gina3dError(f"{f}: missing from checkpoint")
            continue
        try:
            tensors = load_file(str(f))
        except Exception as e:  # safetensors raises its own error types
            raise Gina3dError(f"{f}: unreadable weights ({e})") from None
        try:
            module.load_state_dict(tensors, strict=True)
        except RuntimeError as e:  # missing / unexpected keys, shape mismatches
            lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
            detail = lines[1] if len(lines) > 1 else lines[0] if lines else ""
            raise Gina3dError(
                f"{f}: the weights do not fit this model ({detail[:200]}); the checkpoint was "
                "written by a different model version or configuration"
            ) from None
