"""Sampling token grids from a trained stage-2 run (library API; the CLIs build on it).

    from gina3d.generation.sampler import load_stage2, sample_token_grids, variations

    model, stage1, configs = load_stage2("runs/s2")            # eval mode, on "cpu"
    tokens = sample_token_grids(                               # [16,T] long, on the CPU
        model, 16, seed=0,
        conditions={"class_name": "vehicle", "size": (4.6, 1.9, 1.6), "time": "night"},
        steps=12, temperature=1.0, guidance=2.0,
    )
    triplane = stage1.decode_indices(tokens)                   # [16,3,F,R,R]
    near = variations(model, tokens[0], n=8, strength=0.3, seed=1)   # [8,T]

``conditions`` keys, each optional (missing or None = that condition's null embedding):
``class_name`` (one of ``gina3d.data.dataset.CLASSES``), ``size`` (length, width, height
in metres, all > 0), ``time`` (one of ``TIMES_OF_DAY``), ``image`` (the input patch:
float tensor [3,H,W] in [0,1] or uint8 array [H,W,3]; resized to the model's
``image_size``). A condition the model was trained without, an unknown name or a
non-positive size raise ``Gina3dError`` naming the valid values.

``sample_token_grids`` decodes all-masked grids with MaskGIT's schedule
(``gina3d.models.mask_schedule.decode``): ``steps`` iterations, sampling ``temperature``
(0 = greedy), ``choice_temperature`` (confidence noise, annealed linearly to 0), optional
``top_k`` and classifier-free ``guidance`` s (logits = uncond + s (cond - uncond); 1 = the
plain conditional model, 0 = unconditional). ``variations`` masks a random fraction
``strength`` of a given grid in each of ``n`` copies and decodes only those tokens
(strength 0 returns the grid unchanged). Same seed and arguments, same tokens.

``load_stage2`` returns the newest stage-2 checkpoint, the stage-1 model it was trained
against (the copy pinned in ``RUN/stage1/``, not the stage-1 run's newest), and
``configs = {"stage2": ..., "stage1": ..., "stage1_step": ...}`` (plain dicts).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gina3d.data.dataset import CLASSES, TIMES_OF_DAY
from gina3d.errors import Gina3dError
from gina3d.models.mask_schedule import variation_mask
from gina3d.models.maskgit import Conditions, MaskGIT, MaskGITConfig, guided_decode
from gina3d.models.stage1 import Stage1Model

CONDITION_KEYS = ("class_name", "size", "time", "image")


def load_stage2(run_dir: str | os.PathLike, device: str = "cpu"):
    """(MaskGIT, Stage1Model, configs) of a stage-2 run, both in eval mode on ``device``."""
    from gina3d.training.checkpoint import latest_checkpoint

    run = Path(run_dir)
    if not run.exists():
        raise Gina3dError(f"{run}: no such run directory")
    path = latest_checkpoint(run)
    if path is None:
        raise Gina3dError(f"{run}: no checkpoint yet (train stage 2 first)")
    model, cfg = MaskGIT.from_checkpoint(path, device)
    stage1, s1cfg = Stage1Model.from_checkpoint(run / "stage1", device)
    configs = {"stage2": cfg, "stage1": s1cfg, "stage1_step": cfg.get("stage1_step")}
    return model, stage1, configs


def condition_flags(cfg: MaskGITConfig) -> dict[str, bool]:
    """Which keys of the conditions dict (``CONDITION_KEYS``) a model with ``cfg`` reads."""
    return {
        "class_name": cfg.use_class,
        "size": cfg.use_size,
        "time": cfg.use_time,
        "image": cfg.use_image,
    }


def make_conditions(model: MaskGIT, n: int, conditions: dict | None) -> Conditions | None:
    """Validate a ``conditions`` dict (see the module docstring) into a batch of n rows."""
    conditions = {k: v for k, v in (conditions or {}).items() if v is not None}
    unknown = sorted(set(conditions) - set(CONDITION_KEYS))
    if unknown:
        raise Gina3dError(f"unknown condition '{unknown[0]}' (known: {', '.join(CONDITION_KEYS)})")
    if not conditions:
        return None
    cfg, dev = model.cfg, next(model.parameters()).device
    flags = condition_flags(cfg)
    for key in conditions:
        if not flags[key]:
            raise Gina3dError(f"this stage-2 model was trained without the '{key}' condition")
    out = Conditions()
    if "class_name" in conditions:
        name = conditions["class_name"]
        if name not in CLASSES:
            raise Gina3dError(f"unknown class '{name}' (classes: {', '.join(CLASSES)})")
        out.class_idx = torch.full((n,), CLASSES.index(name), dtype=torch.long, device=dev)
    if "time" in conditions:
        name = conditions["time"]
        if name not in TIMES_OF_DAY:
            raise Gina3dError(f"unknown time of day '{name}' (times: {', '.join(TIMES_OF_DAY)})")
        out.time_idx = torch.full((n,), TIMES_OF_DAY.index(name), dtype=torch.long, device=dev)
    if "size" in conditions:
        size = [float(x) for x in conditions["size"]]
        if len(size) != 3 or not all(np.isfinite(size)) or min(size) <= 0:
            raise Gina3dError(
                f"size {conditions['size']!r}: need three positive box dimensions in metres "
                "(length, width, height)"
            )
        out.size = torch.tensor(size, device=dev).expand(n, 3).clone()  # [n,3]
    if "image" in conditions:
        out.image = _image(conditions["image"], cfg.image_size).to(dev).expand(n, -1, -1, -1)
    return out


def _image(image, size: int) -> torch.Tensor:
    """[1,3,S,S] float in [0,1] from a [3,H,W] float tensor or an [H,W,3] uint8 array."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[-1] != 3:
            raise Gina3dError(f"image: expected an [H,W,3] array, got shape {image.shape}")
        scale = 255.0 if image.dtype == np.uint8 else 1.0
        image = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / scale
    if not torch.is_tensor(image) or image.ndim != 3 or image.shape[0] != 3:
        raise Gina3dError("image: expected a [3,H,W] tensor in [0,1] or an [H,W,3] array")
    return F.interpolate(image.float()[None], size=(size, size), mode="area").clamp(0, 1)


def _check(steps: int, n: int) -> None:
    if n < 1:
        raise Gina3dError(f"n must be >= 1, got {n}")
    if steps < 1:
        raise Gina3dError(f"steps must be >= 1, got {steps}")


def asset_seed(seed: int, index: int) -> int:
    """The seed of asset ``index`` of a batch sampled with ``seed`` (``gina3d sample``,
    ``gina3d eval gen``)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _decode(
    model: MaskGIT, start, cond, gen, steps, temperature, guidance, top_k, choice_temperature
) -> torch.Tensor:
    """Iterative MaskGIT decoding of ``start`` [n,T] with guided logits; CPU long [n,T]."""
    out = guided_decode(
        model,
        start,
        cond,
        guidance,
        steps,
        gen,
        temperature=temperature,
        choice_temperature=choice_temperature,
        top_k=top_k,
    )
    return out.cpu()


@torch.no_grad()
def sample_token_grids(
    model: MaskGIT,
    n: int,
    seed: int = 0,
    conditions: dict | None = None,
    steps: int = 12,
    temperature: float = 1.0,
    guidance: float = 2.0,
    top_k: int | None = None,
    choice_temperature: float = 4.5,
) -> torch.Tensor:
    """``n`` new token grids [n,T] (long, CPU); see the module docstring."""
    _check(steps, n)
    cond = make_conditions(model, n, conditions)
    cfg, dev = model.cfg, next(model.parameters()).device
    start = torch.full((n, cfg.num_tokens), cfg.mask_id, dtype=torch.long, device=dev)
    gen = torch.Generator().manual_seed(int(seed))
    return _decode(model, start, cond, gen, steps, temperature, guidance, top_k, choice_temperature)


@torch.no_grad()
def variations(
    model: MaskGIT,
    tokens: torch.Tensor,
    n: int,
    strength: float,
    seed: int = 0,
    conditions: dict | None = None,
    steps: int = 12,
    temperature: float = 1.0,
    guidance: float = 2.0,
    top_k: int | None = None,
    choice_temperature: float = 4.5,
) -> torch.Tensor:
    """``n`` variations [n,T] of one grid ``tokens`` [T]: a fraction ``strength`` resampled."""
    _check(steps, n)
    cfg, dev = model.cfg, next(model.parameters()).device
    tokens = torch.as_tensor(tokens).long().reshape(-1)
    if tokens.numel() != cfg.num_tokens:
        raise Gina3dError(
            f"token grid has {tokens.numel()} tokens, the model takes {cfg.num_tokens}"
        )
    if tokens.min() < 0 or tokens.max() >= cfg.codebook_size:
        raise Gina3dError(f"token ids must be in [0, {cfg.codebook_size})")
    if not 0.0 <= float(strength) <= 1.0:
        raise Gina3dError(f"strength {strength}: must be in [0, 1]")
    cond = make_conditions(model, n, conditions)
    gen = torch.Generator().manual_seed(int(seed))
    mask = variation_mask(n, cfg.num_tokens, float(strength), gen, dev)  # [n,T]
    start = torch.where(mask, cfg.mask_id, tokens.to(dev)[None].expand(n, -1))  # [n,T]
    return _decode(model, start, cond, gen, steps, temperature, guidance, top_k, choice_temperature)
