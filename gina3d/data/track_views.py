"""Training items from tracks: a source patch plus up to K other observations of its object.

``CrossViewDataset`` wraps a ``PatchDataset``. Item ``i`` is the source patch ``i`` exactly as
``PatchDataset`` gives it (the encoder reads only these keys) plus the other observations
under ``view_*`` keys, each with a leading K axis (shapes as in PatchDataset):

    view_rgb [K,3,H,W]; view_object_mask, view_occluder_mask, view_background_mask,
    view_lidar_depth [K,H,W]; view_ray_origin, view_ray_direction [K,H,W,3];
    view_cam_from_obj [K,4,4]; view_intrinsics [K,4]; view_valid [K] bool (False: padding,
    the track had fewer other observations); view_index [K] (dataset indices, -1 padding).

The others are drawn without replacement from the source's track, seeded by (seed, epoch,
index), so an epoch is reproducible and each epoch pairs the source with other views. For
articulated classes (pedestrians, cyclists: their pose changes) only observations within
``max_gap_s`` seconds of the source are used.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from gina3d.data.dataset import PatchDataset
from gina3d.data.shards import read_columns
from gina3d.data.tracks import group_tracks, track_keys

ARTICULATED = ("pedestrian", "cyclist")
VIEW_KEYS = (
    "rgb",
    "object_mask",
    "occluder_mask",
    "background_mask",
    "lidar_depth",
    "ray_origin",
    "ray_direction",
    "cam_from_obj",
    "intrinsics",
)
WAYMO_FRAME_SECONDS = 0.1  # the Waymo Open Dataset logs at 10 Hz


def frame_seconds(manifest: dict) -> float | None:
    """Seconds between consecutive ``frame_index`` values of a dataset, or None if unknown."""
    settings = manifest.get("settings", {}).get("source_settings") or {}
    if "frame_interval" in settings:
        return float(settings["frame_interval"])
    if str(manifest.get("source", "")).startswith("waymo"):
        return WAYMO_FRAME_SECONDS
    return None


class TrackIndex:
    """The tracks of one ``PatchDataset`` split, from its shards' metadata columns: which
    dataset indices show the same object (``tracks``, ``track_of``), their classes and frame
    indices, and the seconds between frames (``frame_seconds``)."""

    def __init__(self, ds: PatchDataset) -> None:
        cols = read_columns(ds.root, ["scene_id", "object_id", "cls", "frame_index"], ds.split)
        cols = cols.to_pydict()
        if len(cols["cls"]) != len(ds):
            raise ValueError("dataset index and shard columns disagree")
        self.cls: list[str] = cols["cls"]
        self.frame = np.asarray(cols["frame_index"], dtype=np.int64)
        self.seconds = frame_seconds(ds.manifest)
        self.track_of = np.empty(len(ds), dtype=np.int64)
        self.tracks: list[np.ndarray] = []
        keys = track_keys(cols["scene_id"], cols["object_id"])
        for t, members in enumerate(group_tracks(keys).values()):
            self.tracks.append(np.asarray(members, dtype=np.int64))
            self.track_of[members] = t

    def others(self, index: int, max_gap_s: float) -> np.ndarray:
        """The other observations of ``index``'s track (dataset order); for articulated
        classes only those within ``max_gap_s`` seconds of it."""
        members = self.tracks[self.track_of[index]]
        others = members[members != index]
        if self.cls[index] in ARTICULATED and self.seconds is not None:
            gap = np.abs(self.frame[others] - self.frame[index]) * self.seconds
            others = others[gap <= max_gap_s + 1e-9]
        return others


class CrossViewDataset(Dataset):
    """Source patches with up to ``k`` other observations of their track (module doc)."""

    def __init__(self, base: PatchDataset, k: int, max_gap_s: float = 2.0, seed: int = 0) -> None:
        if k < 1:
            raise ValueError(f"cross-view datasets need k >= 1, got {k}")
        self.base, self.k, self.max_gap_s, self.seed = base, k, max_gap_s, seed
        self.epoch = 0
        self.index = TrackIndex(base)
        # a source's other views may sit in any row group of its scenes' shard
        base.cache_row_groups = max(base.cache_row_groups, 128)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def row_groups(self) -> list[list[int]]:
        return self.base.row_groups()

    def __len__(self) -> int:
        return len(self.base)

    def candidates(self, index: int) -> np.ndarray:
        """Dataset indices of the observations that may score the asset of ``index``."""
        return self.index.others(index, self.max_gap_s)

    def chosen(self, index: int) -> np.ndarray:
        """The (at most k) other observations drawn for ``index`` in this epoch."""
        others = self.candidates(index)
        if len(others) <= self.k:
            return others
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return np.sort(rng.choice(others, self.k, replace=False))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.base[index]
        picks = self.chosen(index)
        views = [self.base[int(j)] for j in picks]
        for key in VIEW_KEYS:
            like = item[key]
            stack = torch.zeros((self.k, *like.shape), dtype=like.dtype)
            for v, view in enumerate(views):
                stack[v] = view[key]
            item[f"view_{key}"] = stack
        valid = torch.zeros(self.k, dtype=torch.bool)
        valid[: len(views)] = True
        index_t = torch.full((self.k,), -1, dtype=torch.long)
        index_t[: len(views)] = torch.as_tensor(picks, dtype=torch.long)
        item["view_valid"], item["view_index"] = valid, index_t
        return item
