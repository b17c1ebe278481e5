"""Write one segment's records to a shard as they come (bounded memory), with its sidecar.

The file and sidecar are those of ``gina3d.data.shards.write_shard`` plus the counts that
``gina3d.data.build`` adds, so ``make_manifest``, ``finished_shard`` and every reader
treat a Waymo shard like a synthetic one. Records are encoded and written one row group at
a time instead of being held for the whole segment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gina3d.atomic import atomic_write, atomic_write_json
from gina3d.data.filters import FilterCounts
from gina3d.data.schema import ARROW_SCHEMA, PatchRecord, encode_record
from gina3d.data.shards import ROW_GROUP


def write_shard_stream(
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

    ``filters`` is read after the records are exhausted (the producer fills it).
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
