"""The allocator setting every gina3d command makes (glibc: freed memory kept for reuse)."""

import subprocess
import sys

import pytest

from gina3d.allocator import keep_freed_memory

PROBE = """
import resource, torch
from gina3d.allocator import keep_freed_memory
applied = {apply} and keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def step():  # blocks of 3 to 25 MB, two alive at a time, as in a training step
    alive = []
    for mb in (3, 20, 7, 12, 25, 5):
        alive.append(torch.empty(mb << 18).fill_(1.0))
        if len(alive) > 2:
            alive.pop(0)
for _ in range(3):
    step()
before = faults()
for _ in range(10):
    step()
print(int(applied), faults() - before)
"""


def _faults(apply: bool) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(apply=apply)], capture_output=True, text=True,
        check=True,
    ).stdout.split()  # fmt: skip
    return int(out[0]), int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_freed_blocks_are_reused_without_page_faults():
    applied, kept = _faults(True)
    if not applied:
        pytest.skip("not glibc")
    _, default = _faults(False)
    # 60 blocks of 3 to 25 MB: thousands of page faults by default (fresh pages each
    # time, the exact count depends on the kernel's page sizes), none when blocks are reused
    assert kept < 100
    assert kept < default or default < 100


def test_second_call_is_a_no_op():
    assert keep_freed_memory() == keep_freed_memory()
