"""The token cache: every patch's stage-1 token grid and its conditions, stored beside the run.

Layout under the stage-1 run directory::

    tokens/index.json                       checkpoint (name, step), dataset path and
                                            fingerprint, T, K, and per split: rows, parts,
                                            complete
    tokens/<split>/part-NNNNN.safetensors   rows [start, start + PART_ROWS) of the split

A part holds ``tokens`` [n,T] int32, ``class_idx`` [n] int64 (-1: a class outside
CLASSES), ``size`` [n,3] float32 (box length, width, height in metres), ``time_idx`` [n]
int64, ``index`` [n] int64 (row in the split's ``PatchDataset``) and ``image`` [n,3,S,S]
uint8 (the input patch downscaled to S = IMAGE_SIZE, for image conditioning); its metadata
repeats the checkpoint step, fingerprint, split and start, and lists the patch ids.

Parts are written atomically and a part whose metadata matches is never recomputed, so a
killed ``gina3d encode`` resumes where it stopped. A cache made with another checkpoint or
another dataset (the fingerprint hashes the manifest's shard list) is stale: it is removed
and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor
from tqdm import tqdm

from gina3d.atomic import atomic_write, atomic_write_json
from gina3d.errors import Gina3dError

FORMAT = "gina3d-tokens"
PART_ROWS = 512
IMAGE_SIZE = 32
ENCODER_INPUTS = ("rgb", "ray_direction", "ray_origin", "box_size")


def dataset_fingerprint(manifest: dict) -> str:
    """Hash of a dataset's shard list (paths, sizes, rows, splits) and resolution."""
    shards = [(s["path"], s["bytes"], s["num_rows"], s["split"]) for s in manifest["shards"]]
    blob = json.dumps([manifest.get("resolution"), shards], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@torch.no_grad()
def encode_batch(stage1, batch: dict[str, Tensor]) -> Tensor:
    """Token grids [B,T] (long) of a PatchDataset batch (rgb, rays, box_size) on its device."""
    return stage1.quantize(stage1.encode_batch(batch)).indices


def cache_dir(run: str | os.PathLike) -> Path:
    return Path(run) / "tokens"


def read_index(run: str | os.PathLike) -> dict | None:
    path = cache_dir(run) / "index.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _part_done(path: Path, expect: dict) -> bool:
    if not path.exists():
        return False
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
    except Exception:  # a torn or foreign file: recompute it
        return False
    return all(meta.get(k) == str(v) for k, v in expect.items())


def encode_dataset(
    run: str | os.PathLike,
    data: str | os.PathLike | None = None,
    splits: list[str] | None = None,
    batch_size: int = 32,
    device: str = "cpu",
    progress: bool = True,
    log=print,
) -> dict:
    """Encode every patch of ``splits`` (default: all) with the run's newest stage-1 checkpoint.

    ``data`` defaults to the dataset the stage-1 run was trained on. Returns the index dict.
    """
    from gina3d.config import load_yaml
    from gina3d.data.dataset import PatchDataset
    from gina3d.data.shards import load_manifest, read_columns
    from gina3d.training.checkpoint import latest_checkpoint, load_stage1, load_state
    from gina3d.training.presets import Stage1Config

    run = Path(run)
    stage1, _ = load_stage1(run, device)
    ckpt = latest_checkpoint(run)
    step = int(load_state(ckpt)["step"])
    if data is None:
        if not (run / "config.yaml").exists():
            raise Gina3dError(f"{run}: no config.yaml to find the dataset; pass --data")
        data = load_yaml(Stage1Config, run / "config.yaml").data
    data = Path(data).resolve()
    manifest = load_manifest(data)
    if int(manifest["resolution"]) != stage1.cfg.image_size:
        raise Gina3dError(
            f"{data}: {manifest['resolution']}-pixel patches, the stage-1 model of {run} "
            f"takes {stage1.cfg.image_size}"
        )
    present = sorted({s["split"] for s in manifest["shards"]})
    splits = present if not splits else splits
    for s in splits:
        if s not in present:
            raise Gina3dError(f"{data}: no split '{s}' (splits: {', '.join(present)})")
    fp = dataset_fingerprint(manifest)
    root = cache_dir(run)
    index = read_index(run)
    if index is not None and (index.get("step") != step or index.get("fingerprint") != fp):
        log(
            f"{root}: made with step {index.get('step')} / data {index.get('fingerprint')}; "
            f"rebuilding for step {step} / data {fp}"
        )
        shutil.rmtree(root)
        index = None
    if index is None:
        index = {
            "format": FORMAT,
            "checkpoint": ckpt.name,
            "step": step,
            "data": str(data),
            "fingerprint": fp,
            "num_tokens": stage1.cfg.num_tokens,
            "plane_tokens": stage1.cfg.plane_tokens,
            "codebook_size": stage1.cfg.codebook_size,
            "image_size": IMAGE_SIZE,
            "part_rows": PART_ROWS,
            "splits": {},
        }
    root.mkdir(parents=True, exist_ok=True)
    for split in splits:
        ds = PatchDataset(data, split=split, max_lidar_points=1)
        ids = read_columns(data, ["patch_id"], split=split).column("patch_id").to_pylist()
        n = len(ds)
        parts = [(i, min(i + PART_ROWS, n)) for i in range(0, n, PART_ROWS)]
        (root / split).mkdir(exist_ok=True)
        bar = tqdm(total=n, desc=f"encode {split}", unit="patch", disable=not progress)
        names = []
        for k, (a, b) in enumerate(parts):
            name = f"part-{k:05d}.safetensors"
            names.append(name)
            meta = {"format": FORMAT, "step": step, "fingerprint": fp, "split": split}
            meta.update(start=a, rows=b - a)
            if not _part_done(root / split / name, meta):
                tensors = _encode_rows(stage1, ds, a, b, batch_size, device, bar)
                meta = {k: str(v) for k, v in meta.items()}
                meta["patch_ids"] = json.dumps(ids[a:b])
                _write_part(root / split / name, tensors, meta)
            else:
                bar.update(b - a)
        bar.close()
        index["splits"][split] = {"rows": n, "parts": names, "complete": True}
        atomic_write_json(root / "index.json", index)
    return index


def _write_part(path: Path, tensors: dict[str, Tensor], meta: dict[str, str]) -> None:
    atomic_write(path, lambda tmp: save_file(tensors, tmp, meta))


def _encode_rows(stage1, ds, a: int, b: int, batch_size: int, device: str, bar) -> dict:
    out: dict[str, list[Tensor]] = {k: [] for k in ("tokens", "class_idx", "size", "time_idx")}
    out.update(index=[], image=[])
    for start in range(a, b, batch_size):
        items = [ds[i] for i in range(start, min(start + batch_size, b))]
        batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
        inputs = {k: batch[k].to(device) for k in ENCODER_INPUTS}
        tokens = encode_batch(stage1, inputs)  # [B,T]
        small = F.interpolate(batch["rgb"], size=(IMAGE_SIZE, IMAGE_SIZE), mode="area")
        out["tokens"].append(tokens.cpu().int())
        out["class_idx"].append(batch["cls"].long())
        out["size"].append(batch["box_size"].float())
        out["time_idx"].append(batch["time_of_day"].long())
        out["index"].append(batch["index"].long())
        out["image"].append((small * 255).round().clamp(0, 255).to(torch.uint8))
        bar.update(len(items))
    return {k: torch.cat(v).contiguous() for k, v in out.items()}


def ensure_token_cache(
    run: str | os.PathLike, step: int, split: str = "train", device: str = "cpu"
) -> None:
    """Encode ``split`` now (with a message, on ``device``) unless the cache is complete for
    ``step``."""
    from gina3d.data.shards import load_manifest

    index = read_index(run)
    entry = (index or {}).get("splits", {}).get(split, {})
    current = index is not None and index.get("step") == step and entry.get("complete")
    if current:
        try:
            current = dataset_fingerprint(load_manifest(index["data"])) == index["fingerprint"]
        except Gina3dError:
            current = False
    if not current:
        print(f"no current token cache in {cache_dir(run)}: encoding split '{split}' now")
        encode_dataset(run, splits=[split], device=device)


@dataclass
class TokenCache:
    """One split's cached token grids and conditions (N rows)."""

    tokens: Tensor  # [N,T] long
    class_idx: Tensor  # [N] long
    size: Tensor  # [N,3] float32 metres
    time_idx: Tensor  # [N] long
    index: Tensor  # [N] long, row in the split's PatchDataset
    image: Tensor  # [N,3,S,S] uint8
    patch_ids: list[str]
    step: int
    """Stage-1 checkpoint step the tokens were made with."""
    fingerprint: str

    def __len__(self) -> int:
        return self.tokens.shape[0]


def load_token_cache(run: str | os.PathLike, split: str = "train") -> TokenCache:
    """Read a complete split of the cache (``gina3d encode`` writes it)."""
    from safetensors.torch import load_file

    index = read_index(run)
    entry = (index or {}).get("splits", {}).get(split)
    if index is None or entry is None or not entry.get("complete"):
        raise Gina3dError(
            f"{cache_dir(run)}: no complete token cache for split '{split}' "
            f"(run: gina3d encode --run {run})"
        )
    parts, ids = [], []
    for name in entry["parts"]:
        path = cache_dir(run) / split / name
        try:
            parts.append(load_file(str(path)))
            with safe_open(str(path), "pt") as f:
                ids += json.loads((f.metadata() or {}).get("patch_ids", "[]"))
        except Exception as e:
            raise Gina3dError(f"{path}: unreadable token part ({e})") from None
    cat = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    return TokenCache(
        tokens=cat["tokens"].long(),
        class_idx=cat["class_idx"].long(),
        size=cat["size"].float(),
        time_idx=cat["time_idx"].long(),
        index=cat["index"].long(),
        image=cat["image"],
        patch_ids=ids,
        step=int(index["step"]),
        fingerprint=str(index["fingerprint"]),
    )


class TokenDataset(torch.utils.data.Dataset):
    """A TokenCache as a dataset for the training loop (items: dicts of tensors)."""

    def __init__(self, cache: TokenCache) -> None:
        self.cache = cache

    def __len__(self) -> int:
        return len(self.cache)

    def row_groups(self) -> list[list[int]]:
        """Each row its own group: the cache is in memory, so shuffle fully."""
        return [[i] for i in range(len(self.cache))]

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        c = self.cache
        return {
            "tokens": c.tokens[i],
            "class_idx": c.class_idx[i],
            "size": c.size[i],
            "time_idx": c.time_idx[i],
            "image": c.image[i],
        }
