"""Fetch payload rows of a parquet file by row number while streaming it in batches.

Memory stays bounded by the batch size when rows are requested roughly in file order (the
usual case: WOD writes every component of a segment in the same key order). Rows read
ahead of their turn are kept (only those that will be asked for), so any order is correct;
``max_buffered`` in the counts shows how far out of order a file was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


class RowStream:
    """Rows of ``columns`` of one parquet file, handed out by row number.

    ``wanted``: the row numbers that will be requested, once per request (a row asked for
    twice, e.g. one LiDAR row shared by two camera rows, appears twice); other rows are
    dropped on read. ``get(i)`` returns ``(batch, j)``: row ``i`` is row ``j`` of the batch.
    """

    def __init__(
        self, path: Path, columns: list[str], wanted: Iterable[int], batch_rows: int = 64
    ) -> None:
        self.path = path
        self.columns = columns
        self.wanted = Counter(int(i) for i in wanted)
        self._batches = pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns)
        self._next_row = 0
        self._buffer: dict[int, tuple[pa.RecordBatch, int]] = {}
        self.max_buffered = 0

    def get(self, row: int) -> tuple[pa.RecordBatch, int]:
        while row not in self._buffer:
            batch = next(self._batches, None)
            if batch is None:
                raise KeyError(f"{self.path}: row {row} not found (file has {self._next_row})")
            start = self._next_row
            self._next_row += batch.num_rows
            for j in range(batch.num_rows):
                if self.wanted[start + j] > 0:
                    self._buffer[start + j] = (batch, j)
            self.max_buffered = max(self.max_buffered, len(self._buffer))
        self.wanted[row] -= 1
        if self.wanted[row] > 0:
            return self._buffer[row]
        del self.wanted[row]
        return self._buffer.pop(row)

    def close(self) -> None:
        self._buffer.clear()
        close = getattr(self._batches, "close", None)
        if close is not None:
            close()


def cell(batch: pa.RecordBatch, name: str) -> pa.Array | None:
    """A column of a record batch, or None when the file lacks it."""
    index = batch.schema.get_field_index(name)
    return None if index < 0 else batch.column(index)
