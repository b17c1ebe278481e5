"""A torch ``Dataset`` over a patch dataset's shards, decoding records into tensors.

Random access reads one Parquet row group at a time and keeps the last few decoded per
process; ``BlockShuffleSampler`` orders indices so that each group is read once per epoch.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from gina3d.data.schema import BACKGROUND, OBJECT, OCCLUDER, PatchRecord, decode_row
from gina3d.data.shards import load_manifest, open_shard
from gina3d.errors import Gina3dError

CLASSES = ("vehicle", "pedestrian", "cyclist")
TIMES_OF_DAY = ("day", "dusk", "night")
CACHED_ROW_GROUPS = 16  # decoded row groups kept per process (see data/sampler.py)


class PatchDataset(Dataset):
    """Patches of one split as dicts of tensors (H = W = resolution, L = max_lidar_points).

    Keys: ``rgb`` [3,H,W] float in [0,1]; ``object_mask``, ``occluder_mask``,
    ``background_mask`` [H,W] float; ``ray_origin``, ``ray_direction`` [H,W,3];
    ``intrinsics`` [4]; ``cam_from_obj`` [4,4]; ``box_size`` [3]; ``lidar_depth`` [H,W];
    ``lidar_points`` [L,3] and ``lidar_valid`` [L] (padded / subsampled with a per-index
    seed); ``cls`` and ``time_of_day`` (indices into CLASSES, TIMES_OF_DAY); ``index``.
    The amodal mask is synthetic evaluation ground truth: only ``include_amodal=True``
    (evaluation code) adds ``amodal_mask`` [H,W].
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str | None = "train",
        max_lidar_points: int = 256,
        include_amodal: bool = False,
    ) -> None:
        self.root = Path(root)
        self.manifest = load_manifest(self.root)
        self.split = split
        self.max_lidar_points = max_lidar_points
        self.include_amodal = include_amodal
        self.shards = [s for s in self.manifest["shards"] if split is None or s["split"] == split]
        splits = sorted({s["split"] for s in self.manifest["shards"]})
        if split is not None and split not in splits:
            raise Gina3dError(f"{self.root}: no split '{split}' (splits: {', '.join(splits)})")
        self._index: list[tuple[int, int, int]] = []  # (shard, row group, row in group)
        for si, info in enumerate(self.shards):
            meta = open_shard(self.root, info).metadata
            for g in range(meta.num_row_groups):
                self._index += [(si, g, r) for r in range(meta.row_group(g).num_rows)]
        if not self._index:
            raise Gina3dError(f"{self.root}: dataset split '{split}' is empty")
        self.cache_row_groups = CACHED_ROW_GROUPS
        self._files: dict[int, object] = {}
        self._cache: OrderedDict[tuple[int, int], list[dict]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._index)

    def row_groups(self) -> list[list[int]]:
        """Dataset indices grouped by Parquet row group (the unit of reading)."""
        groups: dict[tuple[int, int], list[int]] = {}
        for i, (si, g, _) in enumerate(self._index):
            groups.setdefault((si, g), []).append(i)
        return list(groups.values())

    def record(self, index: int) -> PatchRecord:
        """The decoded record (numpy arrays) at ``index``."""
        si, g, r = self._index[index]
        rows = self._cache.get((si, g))
        if rows is not None:
            self._cache.move_to_end((si, g))
        else:
            if si not in self._files:
                self._files[si] = open_shard(self.root, self.shards[si])
            try:
                table = self._files[si].read_row_group(g)
            except Exception as e:  # any Arrow/IO failure is a corrupt shard for the user
                path = self.root / self.shards[si]["path"]
                raise Gina3dError(f"{path}: corrupt shard ({str(e).splitlines()[0]})") from None
            rows = table.to_pylist()
            self._cache[(si, g)] = rows
            if len(self._cache) > self.cache_row_groups:
                self._cache.popitem(last=False)
        return decode_row(rows[r])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rec = self.record(index)
        pts = rec.lidar_points
        n = self.max_lidar_points
        if len(pts) > n:
            pick = np.random.default_rng(index).choice(len(pts), n, replace=False)
            pts = pts[np.sort(pick)]
        padded = np.zeros((n, 3), dtype=np.float32)
        padded[: len(pts)] = pts
        valid = np.zeros(n, dtype=bool)
        valid[: len(pts)] = True
        out = {
            "rgb": torch.from_numpy(rec.rgb).permute(2, 0, 1).float() / 255.0,
            "object_mask": torch.from_numpy(rec.masks == OBJECT).float(),
            "occluder_mask": torch.from_numpy(rec.masks == OCCLUDER).float(),
            "background_mask": torch.from_numpy(rec.masks == BACKGROUND).float(),
            "ray_origin": torch.from_numpy(rec.ray_origin),
            "ray_direction": torch.from_numpy(rec.ray_direction),
            "intrinsics": torch.from_numpy(rec.intrinsics).float(),
            "cam_from_obj": torch.from_numpy(rec.cam_from_obj).float(),
            "box_size": torch.from_numpy(rec.box_size).float(),
            "lidar_depth": torch.from_numpy(rec.lidar_depth),
            "lidar_points": torch.from_numpy(padded),
            "lidar_valid": torch.from_numpy(valid),
            "cls": torch.tensor(_index_of(CLASSES, rec.cls)),
            "time_of_day": torch.tensor(_index_of(TIMES_OF_DAY, rec.time_of_day)),
            "index": torch.tensor(index),
        }
        if self.include_amodal:
            if rec.amodal_mask is None:
                raise Gina3dError(f"{rec.patch_id}: no amodal mask (only synthetic data has one)")
            out["amodal_mask"] = torch.from_numpy(rec.amodal_mask).float()
        return out

    def __getstate__(self) -> dict:  # open files are per process: DataLoader workers reopen
        state = dict(self.__dict__)
        state.update(_files={}, _cache=OrderedDict())
        return state


def check_class(name: str | None, option: str = "") -> str | None:
    """``name`` if it is one of CLASSES (or None); else a one-line Gina3dError, prefixed
    with the option that gave it (e.g. ``--class``)."""
    if name is not None and name not in CLASSES:
        where = f"{option}: " if option else ""
        raise Gina3dError(f"{where}unknown class '{name}' (classes: {', '.join(CLASSES)})")
    return name


def check_time(name: str | None, option: str = "") -> str | None:
    """``name`` if it is one of TIMES_OF_DAY (or None); else a one-line Gina3dError."""
    if name is not None and name not in TIMES_OF_DAY:
        where = f"{option}: " if option else ""
        raise Gina3dError(f"{where}unknown time of day '{name}' (times: {', '.join(TIMES_OF_DAY)})")
    return name


def _index_of(names: tuple[str, ...], name: str) -> int:
    return names.index(name) if name in names else -1
