"""Build a patch dataset from any scene source: plan shards, run them, write the manifest.

A source hands out scenes (a driving log segment, a synthetic street); each shard holds
whole scenes of one split, so no object leaks between splits. Shards are built in worker
processes, each written atomically with its sidecar; re-running the same command skips
finished shards. ``build.json`` pins the settings, so a resume never mixes two configs.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from gina3d import __version__
from gina3d.atomic import atomic_write_json
from gina3d.data.filters import FilterConfig, FilterCounts
from gina3d.data.frame import Frame
from gina3d.data.frame_io import save_frame
from gina3d.data.patches import PatchConfig, extract_frame_patches
from gina3d.data.schema import SCHEMA_VERSION
from gina3d.data.shards import (
    FORMAT,
    finished_shard,
    remove_stale_temporaries,
    shard_name,
    write_shard,
)
from gina3d.errors import Gina3dError

SPLITS = ("train", "val", "test")


class SceneSource(Protocol):
    """What a log source provides to the builder (it must be picklable for workers)."""

    name: str

    def settings(self) -> dict:
        """Plain-typed settings that determine the output (pinned in build.json)."""

    def scene_ids(self) -> list[str]: ...

    def frames(self, scene_id: str) -> list[Frame]: ...

    def write_scene_extras(self, scene_id: str, root: Path) -> None:
        """Write per-scene files beside the shards (e.g. ground-truth meshes), atomically."""


@dataclass
class BuildConfig:
    """How scenes become shards."""

    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    """Fractions of scenes in train, val and test (whole scenes, never single patches)."""
    scenes_per_shard: int = 2
    """Scenes stored together in one shard file (the unit of resuming)."""
    workers: int = 2
    """Worker processes building shards in parallel."""
    save_frames: bool = False
    """Also keep every frame (images, depth, segmentation, LiDAR, boxes) under frames/."""
    patches: PatchConfig = field(default_factory=PatchConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)

    def validate(self) -> None:
        fr = self.split_fractions
        if len(fr) != 3 or min(fr) < 0 or abs(sum(fr) - 1.0) > 1e-6:
            raise Gina3dError(f"split fractions {fr} must be three non-negatives summing to 1")
        if self.scenes_per_shard < 1 or self.workers < 1:
            raise Gina3dError("scenes_per_shard and workers must be at least 1")
        try:
            self.patches.validate()
            self.filters.validate()
        except ValueError as e:
            raise Gina3dError(str(e)) from None


def assign_splits(scene_ids: list[str], fractions: tuple[float, ...], seed: int) -> dict:
    """Scene id -> split: a seeded permutation cut at exact counts (test and val >= 1 when
    there are at least 3 scenes and their fraction is positive)."""
    n = len(scene_ids)
    n_test = round(fractions[2] * n)
    n_val = round(fractions[1] * n)
    if n >= 3:
        n_test = max(n_test, 1 if fractions[2] > 0 else 0)
        n_val = max(n_val, 1 if fractions[1] > 0 else 0)
    order = np.random.default_rng(seed).permutation(n)
    out = {}
    for rank, i in enumerate(order):
        out[scene_ids[i]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return out


def plan_shards(splits: dict, scenes_per_shard: int) -> list[tuple[str, str, list[str]]]:
    """(shard name, split, scene ids) for every shard, in a stable order."""
    plan = []
    for split in SPLITS:
        scenes = sorted(s for s, sp in splits.items() if sp == split)
        for i in range(0, len(scenes), scenes_per_shard):
            plan.append(
                (shard_name(split, i // scenes_per_shard), split, scenes[i : i + scenes_per_shard])
            )
    return plan


def _build_shard(args: tuple) -> dict:
    source, cfg, root, name, split, scenes = args
    records, counts = [], FilterCounts()
    for scene_id in scenes:
        for frame in source.frames(scene_id):
            if cfg.save_frames:
                save_frame(root, frame)
            recs, c = extract_frame_patches(frame, cfg.patches, cfg.filters)
            counts.add(c)
            records += recs
        source.write_scene_extras(scene_id, root)
    return write_shard(root, name, records, split, scenes, counts)


def _check_writable(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise Gina3dError(f"{root}: output directory is not writable ({e.strerror})") from None


def build_dataset(source: SceneSource, out: str | os.PathLike, cfg: BuildConfig, seed: int) -> dict:
    """Build (or resume) the dataset at ``out``; returns the manifest."""
    cfg.validate()
    root = Path(out)
    _check_writable(root)
    settings = {
        "schema_version": SCHEMA_VERSION,
        "source": source.name,
        "source_settings": source.settings(),
        "seed": seed,
        "split_fractions": list(cfg.split_fractions),
        "scenes_per_shard": cfg.scenes_per_shard,
        "save_frames": cfg.save_frames,
        "patches": asdict(cfg.patches),
        "filters": asdict(cfg.filters),
    }
    pinned = root / "build.json"
    if pinned.exists():
        old = json.loads(pinned.read_text())
        if old != settings:
            diff = sorted(k for k in settings if old.get(k) != settings[k])
            raise Gina3dError(
                f"{root}: holds a dataset built with other settings (differ in: {', '.join(diff)});"
                " choose another --out or remove the directory"
            )
    else:
        atomic_write_json(pinned, settings)

    splits = assign_splits(source.scene_ids(), cfg.split_fractions, seed)
    plan = plan_shards(splits, cfg.scenes_per_shard)
    remove_stale_temporaries(root)  # of a killed build: the shards are written again
    done = {name: finished_shard(root, name) for name, _, _ in plan}
    todo = [(source, cfg, root, n, sp, sc) for n, sp, sc in plan if done[n] is None]
    start = time.time()
    n_scenes = sum(len(t[5]) for t in todo)
    with tqdm(total=n_scenes, desc=f"{source.name} scenes", unit="scene") as bar:
        if todo and cfg.workers > 1:
            with mp.get_context("spawn").Pool(min(cfg.workers, len(todo))) as pool:
                for info in pool.imap_unordered(_build_shard, todo):
                    done[info["path"][: -len(".parquet")]] = info
                    bar.update(len(info["scenes"]))
        else:
            for task in todo:
                info = _build_shard(task)
                done[info["path"][: -len(".parquet")]] = info
                bar.update(len(info["scenes"]))
    manifest = make_manifest(settings, [done[name] for name, _, _ in plan])
    manifest["build_seconds"] = round(time.time() - start, 3)
    atomic_write_json(root / "manifest.json", manifest)
    return manifest


def make_manifest(settings: dict, shards: list[dict]) -> dict:
    """Aggregate shard sidecars into the manifest."""
    per_split, per_class, per_subtype, per_tod = Counter(), Counter(), Counter(), Counter()
    filters, occluded = FilterCounts(), 0
    for s in shards:
        per_split[s["split"]] += s["num_rows"]
        per_class.update(s["per_class"])
        per_subtype.update(s["per_subtype"])
        per_tod.update(s["per_time_of_day"])
        filters.add(FilterCounts.from_dict(s["filters"]))
        occluded += s["occluded"]
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "gina3d_version": __version__,
        "source": settings["source"],
        "seed": settings["seed"],
        "resolution": settings["patches"]["resolution"],
        "settings": settings,
        "num_patches": sum(per_split.values()),
        "per_split": dict(per_split),
        "per_class": dict(per_class),
        "per_subtype": dict(per_subtype),
        "per_time_of_day": dict(per_tod),
        "occluded_patches": occluded,
        "filters": filters.to_dict(),
        "shards": shards,
    }
