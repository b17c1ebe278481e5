"""The training loop shared by both stages: data order, logging, checkpoints, budgets.

A ``Task`` owns its modules, optimizers and one step's maths; the loop owns everything
around it: resume from the newest checkpoint, a seeded block-shuffled data order that
survives resumes mid-epoch, a progress bar, metrics, sample grids, periodic and final
checkpoints, a wall-clock budget, and skipping (and counting) steps whose loss is not
finite, stopping with a clear message when they persist.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from gina3d.data.sampler import BlockShuffleSampler
from gina3d.errors import Gina3dError
from gina3d.training import checkpoint as ckpt
from gina3d.training.distributed import DistInfo, any_rank, barrier, mean_across_ranks
from gina3d.training.run_log import RunLog


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping of a training run."""

    batch_size: int = 8
    """Patches per step on each process."""
    lr: float = 3e-4
    """Learning rate of the main model (AdamW)."""
    lr_disc: float = 1e-4
    """Learning rate of the discriminator."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    warmup_steps: int = 200
    """Linear learning-rate warm-up."""
    max_steps: int = 1_000_000
    """Stop after this many optimiser steps (a time budget usually ends runs first)."""
    grad_clip: float = 1.0
    """Clip the gradient norm to this (0: off)."""
    num_workers: int = 1
    """DataLoader worker processes."""
    seed: int = 0
    """Seed of the data order, ray sampling and initialisation."""
    log_every: int = 10
    """Write metrics every this many steps."""
    sample_every: int = 500
    """Write a sample grid every this many steps."""
    checkpoint_every: int = 500
    """Checkpoint every this many steps..."""
    checkpoint_minutes: float = 5.0
    """...and at least this often in wall-clock minutes."""
    keep_checkpoints: int = 3
    """Newest checkpoints kept."""
    max_nonfinite_streak: int = 25
    """Stop when this many consecutive steps have a non-finite loss."""
    cpu_bf16: bool = False
    """bf16 autocast around the transformers (and, in stage 1, the field MLP and the style
    generator's convolutions) when training on a CPU that multiplies bf16 natively
    (AVX512-BF16, AMX; ignored elsewhere; CUDA always uses it around the transformers).
    Compositing, losses and weights stay fp32. docs/performance.md has the measurements."""

    def validate(self) -> None:
        """Raise ValueError naming the first field out of its range."""
        at_least = {
            "batch_size": 1,
            "warmup_steps": 0,
            "max_steps": 1,
            "num_workers": 0,
            "seed": 0,
            "log_every": 1,
            "sample_every": 1,
            "checkpoint_every": 1,
            "keep_checkpoints": 1,
            "max_nonfinite_streak": 1,
        }
        for name, low in at_least.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"train.{name} must be an integer >= {low}, got {value!r}")
        for name in ("lr", "lr_disc", "checkpoint_minutes"):
            if not getattr(self, name) > 0:
                raise ValueError(f"train.{name} must be positive, got {getattr(self, name)!r}")
        for name in ("weight_decay", "grad_clip"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"train.{name} must be >= 0, got {getattr(self, name)!r}")


class Task(Protocol):
    modules: dict[str, torch.nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]

    def model_config(self) -> dict: ...

    def train_step(self, batch: dict, step: int, generator: torch.Generator) -> dict[str, float]:
        """One optimisation step; returns scalars, with ``nonfinite`` = 1 if it was skipped."""

    def sample_grid(self, batch: dict) -> np.ndarray: ...


class _Progress:
    """The training progress bar: steps towards ``max_steps``, or, under a time budget, the
    seconds spent of it (so the bar and its ETA say when training ends) with the step shown."""

    def __init__(self, max_steps: int, step: int, budget_min: float | None, show: bool) -> None:
        self.timed = budget_min is not None
        common = {"desc": "train", "disable": not show, "dynamic_ncols": True}
        if self.timed:
            fmt = "{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]"
            self.bar = tqdm(total=round(budget_min * 60), unit="s", bar_format=fmt, **common)
        else:
            self.bar = tqdm(total=max_steps, initial=step, unit="step", **common)
        self.step, self.fields = step, {}

    def advance(self, step: int, elapsed_s: float) -> None:
        self.step = step
        if self.timed:
            self.bar.n = min(elapsed_s, self.bar.total)
            self.bar.set_postfix({"step": step, **self.fields}, refresh=False)
            self.bar.refresh()
        else:
            self.bar.update(step - self.bar.n)

    def postfix(self, fields: dict) -> None:
        self.fields = fields
        extra = {"step": self.step} if self.timed else {}
        self.bar.set_postfix({**extra, **fields})

    def close(self) -> None:
        self.bar.close()


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler pre-empting the job, ``kill``), handled like Ctrl-C."""


def _raise_interrupt(signum, frame) -> None:
    raise Terminated


def _to(batch: dict, device: torch.device) -> dict:
    return {
        k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()
    }


def set_lr(task: Task, cfg: TrainConfig, step: int) -> None:
    scale = min(1.0, (step + 1) / max(cfg.warmup_steps, 1))
    for name, opt in task.optimizers.items():
        base = cfg.lr_disc if name == "disc" else cfg.lr
        for group in opt.param_groups:
            group["lr"] = base * scale


def train(
    task: Task,
    dataset,
    cfg: TrainConfig,
    run_dir: str | Path,
    info: DistInfo,
    time_budget_min: float | None = None,
) -> dict:
    """Train until ``max_steps`` or the time budget; returns the final state dict."""
    run_dir = Path(run_dir)
    gen = torch.Generator().manual_seed(cfg.seed * 7919 + info.rank)
    state = {
        "step": 0,
        "epoch": 0,
        "batches_in_epoch": 0,
        "train_seconds": 0.0,
        "images_seen": 0,
        "nonfinite_skipped": 0,
    }
    latest = ckpt.latest_checkpoint(run_dir, quarantine=info.is_main)
    if latest is not None:
        ckpt.load_weights(latest, task.modules)
        resume = ckpt.load_resume(latest)
        for name, opt in task.optimizers.items():
            opt.load_state_dict(resume["optimizers"][name])
        gen.set_state(resume["generator"])
        state.update(ckpt.load_state(latest))
        state.pop("signal", None)  # of the interruption this run resumes from
        if info.is_main:
            print(f"resuming from {latest} (step {state['step']})")
    log = RunLog(run_dir, enabled=info.is_main, resume_step=state["step"])

    sampler = BlockShuffleSampler(dataset.row_groups(), cfg.seed, info.rank, info.world_size)
    if len(sampler) < cfg.batch_size:
        raise Gina3dError(
            f"{len(sampler)} training patches per process, fewer than batch size {cfg.batch_size}"
        )

    def save(final: bool = False) -> None:
        if info.is_main:
            resume = {
                "optimizers": {k: o.state_dict() for k, o in task.optimizers.items()},
                "generator": gen.get_state(),
            }
            ckpt.save_checkpoint(
                run_dir,
                state["step"],
                task.modules,
                task.model_config(),
                resume,
                {**state, "final": final},
                cfg.keep_checkpoints,
            )
        barrier(info)

    start = time.time()
    began = start  # the time budget counts from here (``start`` restarts at checkpoints)
    last_ckpt = time.time()
    acc: dict[str, list[float]] = defaultdict(list)
    streak = 0
    t_log, imgs_log = time.time(), 0
    bar = _Progress(cfg.max_steps, state["step"], time_budget_min, info.is_main)
    stop_reason = "max_steps"
    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a scheduler pre-empting the job, ``kill``) stops cleanly like Ctrl-C
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        while state["step"] < cfg.max_steps:
            sampler.set_epoch(state["epoch"], state["batches_in_epoch"] * cfg.batch_size)
            if hasattr(dataset, "set_epoch"):  # e.g. cross-view items draw other views per epoch
                dataset.set_epoch(state["epoch"])
            loader = DataLoader(
                dataset,
                batch_size=cfg.batch_size,
                sampler=sampler,
                num_workers=cfg.num_workers,
                drop_last=True,
                persistent_workers=False,
            )
            for batch in loader:
                batch = _to(batch, info.device)
                set_lr(task, cfg, state["step"])
                logs = task.train_step(batch, state["step"], gen)
                state["batches_in_epoch"] += 1
                if any_rank(bool(logs.get("nonfinite", 0.0)), info):
                    streak += 1
                    state["nonfinite_skipped"] += 1
                    if streak >= cfg.max_nonfinite_streak:
                        raise Gina3dError(
                            f"training diverged: {streak} consecutive steps with non-finite "
                            f"losses at step {state['step']}; lower the learning rate "
                            f"(--set train.lr=...) and resume from the last checkpoint"
                        )
                    continue
                streak = 0
                state["step"] += 1
                state["images_seen"] += cfg.batch_size * info.world_size
                imgs_log += cfg.batch_size * info.world_size
                for k, v in logs.items():
                    acc[k].append(float(v))
                step = state["step"]
                bar.advance(step, time.time() - began)
                if step % cfg.log_every == 0:
                    now = time.time()
                    means = mean_across_ranks({k: float(np.mean(v)) for k, v in acc.items()}, info)
                    means["images_per_s"] = imgs_log / max(now - t_log, 1e-9)
                    means["nonfinite_skipped"] = state["nonfinite_skipped"]
                    log.scalars(step, means)
                    bar.postfix({k: f"{v:.3g}" for k, v in list(means.items())[:4]})
                    acc.clear()
                    t_log, imgs_log = now, 0
                if step % cfg.sample_every == 0 and info.is_main:
                    log.image(step, "stage_sample", task.sample_grid(batch))
                elapsed = time.time() - began
                over = time_budget_min is not None and elapsed >= time_budget_min * 60
                if any_rank(over, info):
                    stop_reason = "time_budget"
                    break
                due = time.time() - last_ckpt >= cfg.checkpoint_minutes * 60
                if step % cfg.checkpoint_every == 0 or any_rank(due, info):
                    state["train_seconds"] += time.time() - start
                    start = time.time()
                    save()
                    last_ckpt = time.time()
                if step >= cfg.max_steps:
                    break
            else:
                state["epoch"] += 1
                state["batches_in_epoch"] = 0
                continue
            break
    except KeyboardInterrupt as e:
        stop_reason = "interrupted"
        state["signal"] = "SIGTERM" if isinstance(e, Terminated) else "SIGINT"
    finally:
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    state["train_seconds"] += time.time() - start
    state["stop_reason"] = stop_reason
    save(final=True)
    if info.is_main and "batch" in locals():
        log.image(state["step"], "stage_sample", task.sample_grid(batch))
    log.close()
    return state
