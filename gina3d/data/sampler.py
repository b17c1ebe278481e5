"""Shuffling that reads each Parquet row group once per epoch, split across ranks.

A full random permutation would make every item decode a fresh row group. Instead, each
epoch permutes the row groups, then takes them ``window`` at a time, pools their rows and
shuffles the pool: batches mix several groups (scenes) while a process keeps at most
``window`` decoded groups (``CACHED_ROW_GROUPS`` in dataset.py bounds it).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class BlockShuffleSampler(Sampler[int]):
    """Seeded, epoch-dependent, rank-aware order over a ``PatchDataset``.

    Every rank yields the same number of indices (the tail is dropped to make it divide),
    so DDP ranks stay in step. ``set_epoch`` changes the order; ``start`` skips indices
    already consumed in this epoch (used when resuming mid-epoch).
    """

    def __init__(
        self,
        groups: list[list[int]],
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        window: int = 8,
    ) -> None:
        if not groups or not any(groups):
            raise ValueError("BlockShuffleSampler needs at least one non-empty row group")
        self.groups, self.seed, self.rank, self.world = groups, seed, rank, world_size
        self.window = max(1, min(window, 16))
        self.epoch, self.start = 0, 0
        total = sum(len(g) for g in groups)
        self.per_rank = total // world_size

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def order(self) -> list[int]:
        """All indices of this epoch, before the split across ranks."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(len(self.groups), generator=g).tolist()
        out: list[int] = []
        for i in range(0, len(perm), self.window):
            pool = [x for gi in perm[i : i + self.window] for x in self.groups[gi]]
            out += [pool[j] for j in torch.randperm(len(pool), generator=g).tolist()]
        return out

    def __iter__(self) -> Iterator[int]:
        mine = self.order()[self.rank :: self.world][: self.per_rank]
        return iter(mine[self.start :])

    def __len__(self) -> int:
        return self.per_rank - self.start
