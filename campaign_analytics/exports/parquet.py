"""Parquet exports: typed columns, written by pyarrow into the sink one row group at a time.

One fixed Arrow type per column kind (``ARROW_TYPES``); datetimes are
``timestamp[us, tz=<the export's time zone>]`` (the instant, with the zone as metadata).
Identifiers keep their kind (``event_id`` is int64): parquet readers never reinterpret a
string. Batches of rows become Arrow record batches at once (compact), and every
``ROW_GROUP_ROWS`` rows, or ``ROW_GROUP_BYTES`` of Arrow data if that comes first (reply
bodies, long URLs), become one row group, so memory holds at most one bounded row group.
Pages are compressed with zstd (``COMPRESSION``), which is why gzip is refused for parquet.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .spec import Column, Kind
from .writers import Format, RowWriter, Sink, SinkFile

ROW_GROUP_ROWS = 65_536
ROW_GROUP_BYTES = 32 * 1024 * 1024
COMPRESSION = "zstd"
ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.TEXT: pa.string(), Kind.INTEGER: pa.int64(), Kind.NUMBER: pa.float64(),
    Kind.DATE: pa.date32(), Kind.BOOLEAN: pa.bool_(),
}


def schema_of(columns: Sequence[Column], timezone: str) -> pa.Schema:
    return pa.schema([
        pa.field(column.name, pa.timestamp("us", tz=timezone) if column.kind is Kind.DATETIME
                 else ARROW_TYPES[column.kind])
        for column in columns])


class ParquetFormat(Format):
    def writer(self, sink: Sink, columns: Sequence[Column], timezone: str) -> RowWriter:
        return _ParquetWriter(sink, schema_of(columns, timezone))


class _ParquetWriter(RowWriter):
    def __init__(self, sink: Sink, schema: pa.Schema) -> None:
        self._schema = schema
        self._writer = pq.ParquetWriter(SinkFile(sink), schema, compression=COMPRESSION)
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = self._pending_bytes = 0

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        arrays = [pa.array(values, type=field.type)
                  for values, field in zip(zip(*rows, strict=True), self._schema, strict=True)]
        batch = pa.RecordBatch.from_arrays(arrays, schema=self._schema)
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._pending_bytes += batch.nbytes
        if self._pending_rows >= ROW_GROUP_ROWS or self._pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self._schema)
            self._writer.write_table(table, row_group_size=table.num_rows)
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def abort(self) -> None:
        """Close now, while the sink still takes bytes (its temp file is then discarded)."""
        self._pending = []
        with suppress(Exception):
            self._writer.close()
