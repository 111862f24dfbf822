"""Streaming rows into export files in constant memory, one class per format.

Raw types go straight from PostgreSQL with ``COPY (query) TO STDOUT``: the values are
formatted by the server (CSV quoting, the formula-injection prefix, ISO datetimes, JSON),
and Python only moves bytes, in blocks, to the sink. ``campaign_performance`` rows come
from the rollups in Python and are encoded by the same class with the same rules.

Decisions (docs/exports.md):
* datetimes: ISO 8601 in UTC with microseconds and ``Z``, e.g.
  ``2026-11-02T09:15:00.000000Z`` (fixed width, lossless, sorts as text);
* dates: ``YYYY-MM-DD``; integers and numbers as PostgreSQL / Python print them (shortest
  exact form, ``0.85``, ``-1``, ``45.5``); booleans ``true``/``false``;
* CSV: RFC 4180 quoting, ``\\n`` line ends, a header row, NULL as an empty cell (an empty
  string is ``""``); a TEXT cell starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF
  gets a leading ``'``; other kinds are never altered;
* JSON Lines: one compact object per line, keys in column order, numbers as numbers,
  NULL as ``null``, text unaltered (formula injection is a spreadsheet concern);
* gzip: one gzip member, level ``GZIP_LEVEL``, no name and mtime 0 in the header, so the
  same rows always give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import psycopg

from .queries import SelectQuery
from .spec import Column, Compression, ExportFormat, Kind

FORMULA_PREFIX = "'"
FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r", "\n")
DATETIME_SQL_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
GZIP_LEVEL = 1  # ~2x the throughput of level 6 on CSV for a somewhat larger file
FLUSH_BYTES = 256 * 1024
_FORMULA_CODES = ", ".join(str(ord(char)) for char in FORMULA_CHARS)


class Sink(Protocol):
    def write(self, data: bytes | bytearray | memoryview) -> None: ...


class GzipSink:
    """Compresses into another sink; ``close`` writes the gzip trailer."""

    def __init__(self, sink: Sink, level: int = GZIP_LEVEL) -> None:
        self._sink = sink
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: gzip wrapper

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if out := self._compressor.compress(data):
            self._sink.write(out)

    def close(self) -> None:
        self._sink.write(self._compressor.flush())


@dataclass
class Progress:
    """Rows written so far, passed to ``report`` (``JobContext.report_progress``, which
    throttles to once a second and raises ``JobCanceled`` when the job was canceled)."""

    report: Callable[..., None]
    rows_total: int | None = None
    rows_written: int = field(default=0)

    def update(self, rows_written: int, *, force: bool = False) -> None:
        self.rows_written = rows_written
        percent = None
        if self.rows_total is not None:
            percent = 100.0 if self.rows_total == 0 else \
                round(min(100.0, 100.0 * rows_written / self.rows_total), 1)
        self.report(force=force, rows_written=rows_written, rows_total=self.rows_total,
                    percent=percent)


def guard_text(value: str) -> str:
    """The CSV formula-injection rule (OWASP) for one TEXT cell."""
    return FORMULA_PREFIX + value if value.startswith(FORMULA_CHARS) else value


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Format(ABC):
    """How one output format spells rows, from SQL (COPY) and from Python values."""

    @staticmethod
    def expression(column: Column, sql: str) -> str:
        """A column's SQL as the format writes it: dates and datetimes as ISO 8601 text."""
        if column.kind is Kind.DATETIME:
            return f"to_char({sql} AT TIME ZONE 'UTC', '{DATETIME_SQL_FORMAT}')"
        if column.kind is Kind.DATE:
            return f"to_char({sql}, 'YYYY-MM-DD')"
        return sql

    def select_list(self, query: SelectQuery) -> str:
        return ", ".join(f"{self.expression(column, sql)} AS {_quoted(column.name)}"
                         for column, sql in zip(query.columns, query.expressions, strict=True))

    @abstractmethod
    def copy_statement(self, query: SelectQuery) -> str: ...

    @abstractmethod
    def header(self, columns: Sequence[Column]) -> bytes: ...

    @abstractmethod
    def encode(self, columns: Sequence[Column], row: Sequence[Any]) -> str: ...

    copy_has_header: bool = False


class CsvFormat(Format):
    copy_has_header = True

    @staticmethod
    def expression(column: Column, sql: str) -> str:
        """Text cells get the formula-injection prefix; booleans read true/false."""
        if column.kind is Kind.TEXT:
            return f"CASE WHEN ascii({sql}) IN ({_FORMULA_CODES}) " \
                   f"THEN '{FORMULA_PREFIX * 2}' || {sql} ELSE {sql} END"
        if column.kind is Kind.BOOLEAN:
            return f"CASE WHEN {sql} THEN 'true' WHEN NOT {sql} THEN 'false' END"
        return Format.expression(column, sql)

    def copy_statement(self, query: SelectQuery) -> str:
        return (f"COPY (SELECT {self.select_list(query)} {query.body} ORDER BY {query.order_by}) "
                "TO STDOUT WITH (FORMAT csv, HEADER)")

    def header(self, columns: Sequence[Column]) -> bytes:
        return self.encode(columns, [column.name for column in columns]).encode()

    def encode(self, columns: Sequence[Column], row: Sequence[Any]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(
            [_csv_cell(column, value) for column, value in zip(columns, row, strict=True)])
        return buffer.getvalue()


def _csv_cell(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind is Kind.TEXT:
        return guard_text(str(value))
    if column.kind is Kind.BOOLEAN:
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class JsonlFormat(Format):
    def copy_statement(self, query: SelectQuery) -> str:
        select_list = self.select_list(query)
        # row_to_json keeps the column order and prints compact JSON with every control
        # character escaped, so a CSV COPY whose delimiter and quote are \x01 and \x02 passes
        # each object through verbatim (the text format would double its backslashes). The
        # ORDER BY keeps the subquery from being flattened, so its order is the output's.
        return (f"COPY (SELECT row_to_json(t) FROM (SELECT {select_list} {query.body} "
                f"ORDER BY {query.order_by}) t) "
                "TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')")

    def header(self, columns: Sequence[Column]) -> bytes:
        return b""

    def encode(self, columns: Sequence[Column], row: Sequence[Any]) -> str:
        return json.dumps(
            {column.name: value.isoformat() if isinstance(value, date) else value
             for column, value in zip(columns, row, strict=True)},
            ensure_ascii=False, separators=(",", ":"), allow_nan=False,
        ) + "\n"


FORMATS: dict[ExportFormat, Format] = {ExportFormat.CSV: CsvFormat(),
                                       ExportFormat.JSONL: JsonlFormat()}


def count_statement(query: SelectQuery) -> str:
    return f"SELECT count(*) {query.body}"


def copy_rows(conn: psycopg.Connection[Any], query: SelectQuery, export_format: ExportFormat,
              sink: Sink, progress: Progress) -> int:
    """COPY the query's rows into ``sink``; the number of data rows written.

    PostgreSQL sends one COPY message per row, so counting messages counts rows exactly
    (whatever newlines the cells hold). Bytes are handed on in ~256 KiB blocks.
    """
    fmt = FORMATS[export_format]
    rows = -1 if fmt.copy_has_header else 0
    pending = bytearray()
    with conn.cursor() as cursor, cursor.copy(fmt.copy_statement(query), query.params) as copy:
        for data in copy:
            pending += data
            rows += 1
            if len(pending) >= FLUSH_BYTES:
                sink.write(pending)
                pending.clear()
                progress.update(max(rows, 0))
    sink.write(pending)
    return max(rows, 0)


def write_rows(rows: Iterable[Sequence[Any]], columns: Sequence[Column],
               export_format: ExportFormat, sink: Sink, progress: Progress) -> int:
    """Encode Python rows into ``sink`` with the same rules as ``copy_rows``."""
    fmt = FORMATS[export_format]
    pending = bytearray(fmt.header(columns))
    count = 0
    for row in rows:
        pending += fmt.encode(columns, row).encode()
        count += 1
        if len(pending) >= FLUSH_BYTES:
            sink.write(pending)
            pending.clear()
        if count % 1000 == 0:
            progress.update(count)
    sink.write(pending)
    return count


def compressed(sink: Sink, compression: Compression) -> tuple[Sink, Callable[[], None]]:
    """The sink to write rows to, and what to call once they are all written."""
    if compression is Compression.GZIP:
        gzip_sink = GzipSink(sink)
        return gzip_sink, gzip_sink.close
    return sink, lambda: None
