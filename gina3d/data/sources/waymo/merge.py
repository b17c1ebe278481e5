"""Joins of WOD components on their key columns, as ``v2.merge`` does, with counts.

``v2.merge(left, right)`` joins on the intersection of the two tables' ``key.*`` columns;
with no nullable flag it is an inner join. Here the join runs on the key columns only (read
from the file footers' column chunks, never the payload), each side carrying its row number
``_row.<component>``; payload rows are fetched later, batch by batch (``stream.py``). Rows
that find no partner are counted per component instead of vanishing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gina3d.data.sources.waymo.columns import key_columns, normalise_keys

ROW = "_row."


@dataclass
class JoinCounts:
    """Per component: rows read, and rows left without a partner by each inner join."""

    rows: dict[str, int] = field(default_factory=dict)
    unmatched: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"rows": dict(self.rows), "unmatched": dict(self.unmatched)}


def read_keys(path: Path, name: str, counts: JoinCounts | None = None) -> pa.Table:
    """The normalised key columns of a component file plus its row numbers ``_row.<name>``."""
    pf = pq.ParquetFile(path)
    keys = key_columns(pf.schema_arrow)
    table = normalise_keys(pf.read(columns=keys))
    table = table.append_column(ROW + name, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    if counts is not None:
        counts.rows[name] = table.num_rows
    return table


def row_columns(table: pa.Table) -> list[str]:
    return [n for n in table.schema.names if n.startswith(ROW)]


def merge(left: pa.Table, right: pa.Table, counts: JoinCounts) -> pa.Table:
    """Inner join on the shared ``key.*`` columns; unmatched rows are added to ``counts``.

    Each side's unmatched count is attributed to the component(s) whose row numbers it
    carries (the first one of a side that is itself a join). Rows with a null key never
    match, as in pandas.
    """
    shared = [k for k in key_columns(left.schema) if k in set(key_columns(right.schema))]
    if not shared:
        raise ValueError("tables share no key.* column")
    right = right.select(shared + row_columns(right))  # right's other keys are implied
    joined = left.join(right, keys=shared, join_type="inner", coalesce_keys=True)
    for side in (left, right):
        name = row_columns(side)[0]
        kept = pc.is_in(side[name], value_set=joined[name].combine_chunks().unique())
        missing = side.num_rows - int(pc.sum(kept).as_py() or 0)
        if missing:
            label = name[len(ROW) :]
            counts.unmatched[label] = counts.unmatched.get(label, 0) + missing
    order = pc.sort_indices(joined, sort_keys=[(row_columns(left)[0], "ascending")])
    return joined.take(order)


def left_join(left: pa.Table, right: pa.Table, counts: JoinCounts) -> pa.Table:
    """Left join (``v2.merge(..., right_nullable=True)``): right row numbers may be null.

    Used for optional partners (lidar_box, refined pose, stats): a left row without one is
    kept and counted under ``unmatched['<right>']``; right rows without a left partner are
    not counted (an optional table holds rows for objects or frames without patches).
    """
    shared = [k for k in key_columns(left.schema) if k in set(key_columns(right.schema))]
    right = right.select(shared + row_columns(right))
    joined = left.join(right, keys=shared, join_type="left outer", coalesce_keys=True)
    name = row_columns(right)[0]
    missing = joined[name].null_count
    if missing:
        label = name[len(ROW) :]
        counts.unmatched[label] = counts.unmatched.get(label, 0) + missing
    order = pc.sort_indices(joined, sort_keys=[(row_columns(left)[0], "ascending")])
    return joined.take(order)
