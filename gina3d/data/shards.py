"""Sharded Parquet storage of patch records, with a manifest and strict validation.

Layout of a dataset directory::

    manifest.json                 schema version, source, seed, shards, counts, filter counts
    shards/<split>-<NNNNN>.parquet records (row groups of ROW_GROUP rows)
    shards/<split>-<NNNNN>.json   sidecar written after its shard: rows, bytes, counts
    meshes/<object_id>.ply        ground-truth meshes (synthetic sources only)

Every file is written atomically. A shard counts as done once its sidecar exists and agrees
with the file, so a killed build resumes where it stopped and never reads a half shard.
The manifest is written last; readers only accept datasets that have one.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gina3d.atomic import atomic_write, atomic_write_json
from gina3d.data.filters import FilterCounts
from gina3d.data.schema import ARROW_SCHEMA, SCHEMA_VERSION, PatchRecord, encode_record
from gina3d.errors import Gina3dError

ROW_GROUP = 32
FORMAT = "gina3d-patches"


def shard_name(split: str, index: int) -> str:
    return f"shards/{split}-{index:05d}"


def write_shard(
    root: Path,
    name: str,
    records: Iterable[PatchRecord],
    split: str,
    scenes: list[str],
    filters: FilterCounts,
    extra: dict | None = None,
    before_sidecar: Callable[[dict], None] | None = None,
) -> dict:
    """Write ``root/name.parquet`` from ``records`` and then its sidecar; return the sidecar.

    Records are given ``split``, encoded and written one row group at a time as they come
    (a generator keeps memory bounded). The sidecar holds the row, byte, class, subtype,
    time-of-day and occlusion counts, ``scenes``, ``filters`` (read after the records are
    exhausted, so a producer may fill it as it goes) and ``extra``.
    ``before_sidecar(info)`` runs once the shard is complete, before the sidecar marks it
    finished (for files that must exist whenever the shard counts as done).
    """
    path = root / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    per_class, per_subtype, per_tod = Counter(), Counter(), Counter()
    totals = {"rows": 0, "occluded": 0}

    def flush(writer: pq.ParquetWriter, rows: list[dict]) -> None:
        writer.write_table(pa.Table.from_pylist(rows, schema=ARROW_SCHEMA), ROW_GROUP)

    def write(tmp: str) -> None:
        with pq.ParquetWriter(tmp, ARROW_SCHEMA, compression="zstd") as writer:
            rows: list[dict] = []
            for rec in records:
                rec.split = split
                per_class[rec.cls] += 1
                per_subtype[f"{rec.cls}/{rec.subtype}"] += 1
                per_tod[rec.time_of_day] += 1
                totals["rows"] += 1
                totals["occluded"] += int(rec.occluded_pixels > 0)
                rows.append(encode_record(rec))
                if len(rows) == ROW_GROUP:
                    flush(writer, rows)
                    rows = []
            if rows or totals["rows"] == 0:
                flush(writer, rows)

    atomic_write(path, write)
    info = {
        "path": f"{name}.parquet",
        "num_rows": totals["rows"],
        "bytes": path.stat().st_size,
        "per_class": dict(per_class),
        "split": split,
        "scenes": scenes,
        "filters": filters.to_dict(),
        "per_subtype": dict(per_subtype),
        "per_time_of_day": dict(per_tod),
        "occluded": totals["occluded"],
        **(extra or {}),
    }
    if before_sidecar is not None:
        before_sidecar(info)
    atomic_write_json(root / f"{name}.json", info)
    return info


def remove_stale_temporaries(root: Path) -> int:
    """Delete the half-written ``shards/.*.tmp`` files a killed build left (a resumed build
    writes those shards again); returns how many."""
    stale = list((Path(root) / "shards").glob(".*.tmp"))
    for f in stale:
        f.unlink(missing_ok=True)
    return len(stale)


def finished_shard(root: Path, name: str) -> dict | None:
    """The sidecar of a completely written shard, or None if it must be (re)built."""
    side, path = root / f"{name}.json", root / f"{name}.parquet"
    if not side.exists() or not path.exists():
        return None
    try:
        info = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if info.get("bytes") != path.stat().st_size:
        return None
    return info


def load_manifest(root: str | os.PathLike) -> dict:
    """Read and validate ``root/manifest.json``; raise a one-line Gina3dError if unusable."""
    root = Path(root)
    if not root.exists():
        raise Gina3dError(f"{root}: no such dataset directory")
    path = root / "manifest.json"
    if not path.exists():
        if not root.is_dir():
            raise Gina3dError(f"{root}: not a directory")
        if not (root / "shards").is_dir():
            raise Gina3dError(
                f"{root}: not a gina3d dataset (no manifest.json); build one with "
                "gina3d synth --out DIR or gina3d waymo --out DIR"
            )
        raise Gina3dError(
            f"{path}: missing; the build did not finish (re-run the same command to resume)"
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise Gina3dError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Gina3dError(f"{path}: not a gina3d patch dataset manifest")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise Gina3dError(
            f"{path}: schema version {version}, this gina3d reads version {SCHEMA_VERSION}"
        )
    shards = manifest.get("shards")
    fields = {"path": str, "split": str, "num_rows": int, "bytes": int}
    if not isinstance(shards, list) or not all(
        isinstance(info, dict) and all(isinstance(info.get(k), t) for k, t in fields.items())
        for info in shards
    ):
        raise Gina3dError(
            f"{path}: damaged (needs a 'shards' list of objects with "
            f"{', '.join(fields)}); rebuild the dataset"
        )
    if not isinstance(manifest.get("resolution"), int):
        raise Gina3dError(f"{path}: damaged (no integer 'resolution'); rebuild the dataset")
    return manifest


def check_shard(root: Path, info: dict) -> Path:
    """The shard's path after checking it exists and has the size the manifest records."""
    path = root / info["path"]
    if not path.exists():
        raise Gina3dError(f"{path}: shard listed in manifest.json is missing")
    if path.stat().st_size != info["bytes"]:
        raise Gina3dError(
            f"{path}: corrupt shard ({path.stat().st_size} bytes, manifest says {info['bytes']})"
        )
    return path


def open_shard(root: Path, info: dict) -> pq.ParquetFile:
    """Open a shard for reading, turning any Parquet failure into a one-line error."""
    path = check_shard(root, info)
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as e:
        raise Gina3dError(f"{path}: corrupt shard ({str(e).splitlines()[0]})") from None
    if pf.metadata.num_rows != info["num_rows"]:
        raise Gina3dError(
            f"{path}: corrupt shard ({pf.metadata.num_rows} rows, manifest says {info['num_rows']})"
        )
    return pf


def read_columns(root: str | os.PathLike, columns: list[str], split: str | None = None) -> pa.Table:
    """The given columns of every shard (of one split, if given) as one table."""
    root = Path(root)
    manifest = load_manifest(root)
    tables = []
    for info in manifest["shards"]:
        if split is not None and info["split"] != split:
            continue
        pf = open_shard(root, info)
        try:
            tables.append(pf.read(columns=columns))
        except (OSError, pa.ArrowException) as e:
            msg = str(e).splitlines()[0]
            raise Gina3dError(f"{root / info['path']}: corrupt shard ({msg})") from None
    if not tables:
        return pa.table({c: [] for c in columns})
    return pa.concat_tables(tables)
