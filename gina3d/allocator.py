"""Keep freed memory for reuse instead of handing it back to the system (glibc only).

glibc's ``malloc`` serves large blocks (from 128 KiB, growing as blocks are freed, up to
32 MiB) with fresh ``mmap`` pages and returns them on ``free``. A training step allocates
and frees many tensors of 1 to 30 MB, so every one of them pays page faults when it is
first written: at the stage-1 ``cpu`` preset 13,000 to 23,000 faults and 33 to 47 ms of
system time (CPU) a step. With the mmap threshold at its 32 MiB maximum and the trim
threshold high, freed blocks stay in the heap and the next step reuses them: under 1,000
faults and 6 to 8 ms (docs/performance.md). The price is that the process keeps its peak
heap until it exits.

``keep_freed_memory`` is called once by every ``gina3d`` command (``cli/common.run``), not on
``import gina3d``: a library should not change the allocator of a program that imports it.
Elsewhere (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 1 << 30

_done: bool | None = None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (once per process); True where it applied."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _done
