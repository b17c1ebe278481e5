"""What a run writes while it trains: metrics.jsonl, TensorBoard events, sample images.

Only the main rank writes. ``metrics.jsonl`` gets one JSON object per logging step
(``step``, ``time``, and every scalar); readers skip a torn last line after a crash. A run
that resumes from step S first drops the lines of steps after S (they are trained again),
so each step is logged once.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from gina3d.atomic import atomic_write_bytes


class RunLog:
    def __init__(
        self,
        run_dir: str | os.PathLike,
        enabled: bool = True,
        tensorboard: bool = True,
        resume_step: int | None = None,
    ):
        self.dir = Path(run_dir)
        self.enabled = enabled
        self._tb = None
        if not enabled:
            return
        (self.dir / "samples").mkdir(parents=True, exist_ok=True)
        if resume_step is not None:
            drop_after(self.dir / "metrics.jsonl", resume_step)
        self._metrics = open(self.dir / "metrics.jsonl", "a", buffering=1)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.dir / "tb"))
            except ImportError:  # tensorboard is a dependency; keep training if it is absent
                self._tb = None

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        row = {"step": step, "time": round(time.time(), 3)}
        row.update({k: float(v) for k, v in values.items()})
        self._metrics.write(json.dumps(row) + "\n")
        if self._tb is not None:
            for k, v in values.items():
                self._tb.add_scalar(k, float(v), step)

    def image(self, step: int, name: str, image: np.ndarray) -> Path | None:
        """Save a uint8 [H,W,3] image as samples/<name>-<step>.png (and to TensorBoard)."""
        if not self.enabled:
            return None
        path = self.dir / "samples" / f"{name}-{step:08d}.png"
        Image.fromarray(image).save(path)
        if self._tb is not None:
            self._tb.add_image(name, image, step, dataformats="HWC")
        return path

    def close(self) -> None:
        if self.enabled:
            self._metrics.close()
            if self._tb is not None:
                self._tb.close()


def drop_after(path: Path, step: int) -> None:
    """Keep only the lines of ``path`` (metrics.jsonl) logged at ``step`` or before; torn
    lines go too. Rewritten atomically, and only when something is dropped."""
    if not path.exists():
        return
    keep, dropped = [], False
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
            if int(row["step"]) <= step:
                keep.append(line)
                continue
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            pass
        dropped = True
    if dropped:
        atomic_write_bytes(path, "".join(f"{line}\n" for line in keep).encode())


def read_metrics(run_dir: str | os.PathLike) -> list[dict]:
    """Rows of metrics.jsonl (a torn last line is skipped)."""
    path = Path(run_dir) / "metrics.jsonl"
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows
