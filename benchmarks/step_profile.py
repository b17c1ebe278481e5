"""What a training step costs: FLOPs, the machine's matmul peak, and time per part.

Shared by ``stage1_speed.py`` and ``stage2_speed.py``:

* ``count_flops(fn)``: floating-point operations of one call (forward + backward + optimiser
  when ``fn`` is a whole training step), counted by ``torch.utils.flop_counter``. It counts
  matrix products and convolutions; elementwise work, reductions, ``grid_sample``,
  ``embedding_bag``, other gathers and PyTorch's fused CPU attention kernel (counted as 0)
  are not (``UNCOUNTED`` says so in the JSON), so achieved GFLOP/s and MFU are lower
  bounds of the work the machine does.
* ``matmul_peak_gflops()``: the best of several large fp32 ``torch.mm`` products on the
  current threads and device, measured in the same process as the step (``dtype=bf16``:
  the same in bf16, what a step under ``train.cpu_bf16`` can reach in its products).
* ``PartTimer``: wall-clock time per named part of a step, by wrapping methods of the live
  objects (no change to the library). Parts nest: a part's time excludes the parts called
  inside it, so the parts and ``other`` add up to the step.
* ``keep_freed_memory()``: the allocator setting every ``gina3d`` command makes
  (``gina3d/allocator.py``), so a benchmark's step costs what training's does; nothing with
  a library that predates it (``speed_against.py --base``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

try:
    from gina3d.allocator import keep_freed_memory
except ImportError:  # an older library: its commands did not set the allocator either

    def keep_freed_memory() -> bool:
        return False


UNCOUNTED = (
    "elementwise ops, reductions, grid_sample, embedding_bag, gathers and scatters, "
    "fused CPU attention (scaled_dot_product_attention's CPU kernel counts 0)"
)


def count_flops(fn: Callable[[], object]) -> int:
    """Floating-point operations counted while ``fn()`` runs (see the module docstring)."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return int(counter.get_total_flops())


def matmul_peak_gflops(
    device: torch.device, size: int = 2048, repeats: int = 5, dtype: torch.dtype = torch.float32
) -> float:
    """Best ``size`` x ``size`` matmul rate in GFLOP/s on ``device`` and its threads (fp32
    unless ``dtype``)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.mm(a, b)
    sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        sync()
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best / 1e9


class PartTimer:
    """Exclusive wall-clock seconds per part, accumulated over the steps timed.

    ``wrap(obj, "name", "part")`` replaces ``obj.name`` (a method or a module's forward) by
    a timed call; ``step()`` marks the end of one step. On a GPU every boundary
    synchronises (parts then cost what they would alone, the step a little more).
    """

    def __init__(self, device: torch.device) -> None:
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        self.seconds: dict[str, float] = defaultdict(float)
        self.steps = 0
        self._stack: list[list] = []  # [part, start, seconds of nested parts]

    def wrap(self, obj: object, name: str, part: str) -> None:
        inner = getattr(obj, name)

        def timed(*args, **kwargs):
            self.sync()
            self._stack.append([part, time.perf_counter(), 0.0])
            try:
                return inner(*args, **kwargs)
            finally:
                self.sync()
                _, start, nested = self._stack.pop()
                spent = time.perf_counter() - start
                self.seconds[part] += spent - nested
                if self._stack:
                    self._stack[-1][2] += spent

        setattr(obj, name, timed)

    def time_step(self, fn: Callable[[], object]) -> None:
        """Run one step, adding the time outside every part to ``other``."""
        before = sum(self.seconds.values())
        self.sync()
        t0 = time.perf_counter()
        fn()
        self.sync()
        total = time.perf_counter() - t0
        self.seconds["other"] += total - (sum(self.seconds.values()) - before)
        self.steps += 1

    def table_ms(self) -> dict[str, float]:
        """Milliseconds per step of each part, largest first, and ``total``."""
        per = {k: 1e3 * v / max(self.steps, 1) for k, v in self.seconds.items()}
        out = {k: round(v, 1) for k, v in sorted(per.items(), key=lambda kv: -kv[1])}
        out["total"] = round(sum(per.values()), 1)
        return out
