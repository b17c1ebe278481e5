"""Checkpoints: safetensors weights + JSON configs, and a plain-typed resume state.

Layout under ``RUN/checkpoints``::

    step-00001200/<module>.safetensors   weights of each module (model, disc, ...)
    step-00001200/model_config.json      the model's config (enough to rebuild it)
    step-00001200/resume.pt              optimizers, step, epoch, RNG: tensors and plain
                                         types only, loaded with weights_only=True
    step-00001200/state.json             step, epoch, seconds trained, loss summary
    latest                               name of the newest complete checkpoint

A checkpoint is written into ``step-N.tmp`` and renamed when complete, then ``latest`` is
replaced atomically: a process killed mid-write leaves a ``.tmp`` directory that is never
loaded (and is removed by the next save). A checkpoint damaged later (a truncated file, a
``latest`` naming a missing one) is skipped for the newest readable one, and kept.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from gina3d.atomic import atomic_write_bytes
from gina3d.errors import Gina3dError
from gina3d.models.io import load_weights, read_model_config

__all__ = [
    "checkpoint_problem",
    "latest_checkpoint",
    "load_resume",
    "load_stage1",
    "load_stage1_checkpoint",
    "load_state",
    "load_weights",
    "save_checkpoint",
    "stage1_config",
]


def save_checkpoint(
    run_dir: str | os.PathLike,
    step: int,
    modules: dict[str, torch.nn.Module],
    model_config: dict,
    resume: dict,
    state: dict,
    keep: int = 3,
) -> Path:
    """Write a complete checkpoint and point ``latest`` at it; keep the newest ``keep``."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob("*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    name = f"step-{step:08d}"
    tmp = root / f"{name}.tmp"
    tmp.mkdir()
    for key, module in modules.items():
        tensors = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
        save_file(tensors, str(tmp / f"{key}.safetensors"))
    (tmp / "model_config.json").write_text(json.dumps(model_config, indent=2))
    torch.save(resume, tmp / "resume.pt")
    (tmp / "state.json").write_text(json.dumps(state, indent=2))
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    final = root / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    atomic_write_bytes(root / "latest", (name + "\n").encode())
    done = sorted(p for p in root.glob("step-*") if p.is_dir() and p.suffix == "")
    for old in done[:-keep] if keep > 0 else []:
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoint_problem(path: Path) -> str | None:
    """Why the checkpoint directory ``path`` cannot be loaded, or None when it can: its
    state.json and model_config.json must parse, its resume.pt open and every weights file
    have a readable header."""
    if not path.is_dir():
        return "missing"
    try:
        state = json.loads((path / "state.json").read_text())
        if not isinstance(state, dict) or not isinstance(state.get("step"), int):
            return "state.json has no step"
        json.loads((path / "model_config.json").read_text())
    except FileNotFoundError as e:
        return f"{Path(e.filename).name} missing"
    except (OSError, ValueError):
        return "unreadable state.json or model_config.json"
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        return "no weights"
    try:
        for f in weights:
            with safe_open(str(f), framework="pt") as fh:
                fh.keys()
        torch.load(path / "resume.pt", weights_only=True, map_location="cpu", mmap=True)
    except FileNotFoundError as e:
        return f"{Path(e.filename).name} missing"
    except Exception as e:  # safetensors, zip and unpickler errors of a truncated file
        return f"damaged ({str(e).splitlines()[0][:80] if str(e) else type(e).__name__})"
    return None


def latest_checkpoint(run_dir: str | os.PathLike, quarantine: bool = False) -> Path | None:
    """The newest complete, readable checkpoint directory, or None when there is none.

    ``latest`` names it; when that one is missing or damaged (``checkpoint_problem``), the
    newest readable ``step-*`` directory is used instead and a line on stderr says which and
    why. With ``quarantine`` (a run about to resume and write checkpoints) each damaged one
    is renamed ``step-N.damaged`` so that no later save replaces or rotates it away; nothing
    is ever deleted. Raises Gina3dError when checkpoints exist but none is readable.
    """
    root = Path(run_dir) / "checkpoints"
    pointer = root / "latest"
    named = None
    if pointer.exists():
        named = root / pointer.read_text().strip()
        if checkpoint_problem(named) is None:
            return named
    candidates = sorted(
        (p for p in root.glob("step-*") if p.is_dir() and p.suffix == ""), reverse=True
    )
    if named is None and not candidates:
        return None
    bad = []
    if named is not None:
        bad.append((named, checkpoint_problem(named)))
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            skipped = ", ".join(f"{p.name} ({why})" for p, why in bad)
            print(f"{root}: skipping {skipped}; using {path.name}", file=sys.stderr)
            if quarantine:
                _quarantine([p for p, why in bad if why != "missing"])
            return path
        if path != named:
            bad.append((path, problem))
    listed = ", ".join(f"{p.name} ({why})" for p, why in bad)
    raise Gina3dError(f"{root}: no readable checkpoint ({listed})")


def _quarantine(paths: list[Path]) -> None:
    """Rename damaged checkpoints to ``NAME.damaged`` (``.damaged2``, ... if taken)."""
    for path in paths:
        target, n = path.with_name(path.name + ".damaged"), 1
        while target.exists():
            n += 1
            target = path.with_name(f"{path.name}.damaged{n}")
        os.replace(path, target)
        print(f"{path}: kept as {target.name}", file=sys.stderr)


def load_resume(path: Path) -> dict:
    try:
        return torch.load(path / "resume.pt", weights_only=True, map_location="cpu")
    except Exception as e:  # a truncated or foreign file
        raise Gina3dError(f"{path / 'resume.pt'}: unreadable ({type(e).__name__})") from None


def load_state(path: Path) -> dict:
    try:
        state = json.loads((path / "state.json").read_text())
    except (OSError, ValueError):
        raise Gina3dError(f"{path / 'state.json'}: missing or not valid JSON") from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise Gina3dError(f"{path / 'state.json'}: has no step")
    return state


def stage1_config(ckpt: str | os.PathLike) -> dict:
    """The saved config dict of a stage-1 checkpoint directory (``model_config.json``)."""
    return read_model_config(ckpt, "stage1")


def load_stage1_checkpoint(ckpt: str | os.PathLike, device: str = "cpu", cfg: dict | None = None):
    """The stage-1 model of one checkpoint directory, in eval mode, and its config dict
    (``Stage1Model.from_checkpoint``)."""
    from gina3d.models.stage1 import Stage1Model

    return Stage1Model.from_checkpoint(ckpt, device, cfg)


def load_stage1(run_dir: str | os.PathLike, device: str = "cpu"):
    """The newest stage-1 model of a run, in eval mode, and its saved config dict."""
    if not Path(run_dir).exists():
        raise Gina3dError(f"{run_dir}: no such run directory")
    path = latest_checkpoint(run_dir)
    if path is None:
        raise Gina3dError(f"{run_dir}: no checkpoint yet (train stage 1 first)")
    return load_stage1_checkpoint(path, device)
