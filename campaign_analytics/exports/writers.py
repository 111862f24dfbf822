"""Streaming rows into export files in constant memory.

Every format writes the rows of one query (``queries``): the text formats (csv, csv_excel,
jsonl) straight from PostgreSQL with ``COPY (query) TO STDOUT``, the values formatted by
the server (CSV quoting, the formula-injection prefix, ISO datetimes, JSON) and Python only
moving bytes, in blocks, to the sink; the typed formats (xlsx in ``spreadsheets``, parquet
in ``parquet``) from batches of Python values. ``campaign_performance`` rows come from the
rollups in Python and go through each format's ``RowWriter``, with the same rules.

Decisions (docs/exports.md):
* datetimes: ISO 8601 with microseconds in the export's time zone with its offset, e.g.
  ``2026-11-02T04:15:00.000000-05:00``; in UTC with ``Z``, ``2026-11-02T09:15:00.000000Z``
  (fixed width, lossless);
* dates: ``YYYY-MM-DD``; integers and numbers as PostgreSQL / Python print them (shortest
  exact form, ``0.85``, ``-1``, ``45.5``); booleans ``true``/``false``;
* CSV: RFC 4180 quoting, ``\\n`` line ends, a header row, NULL as an empty cell (an empty
  string is ``""``); a TEXT cell starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF
  gets a leading ``'``; other kinds are never altered. csv_excel: the same with a UTF-8
  BOM and ``\\r\\n`` after each record (newlines inside quoted cells are left as they are);
* JSON Lines: one compact object per line, keys in column order, numbers as numbers,
  NULL as ``null``, text unaltered (formula injection is a spreadsheet concern);
* gzip (text formats only): one gzip member, level ``GZIP_LEVEL``, no name and mtime 0 in
  the header, so the same rows always give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import psycopg

from .queries import SelectQuery, typed_statement
from .spec import UTC_ZONES, Column, Compression, Kind

FORMULA_PREFIX = "'"
FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r", "\n")
DATETIME_SQL_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
LOCAL_DATETIME_SQL_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM'  # the session's time zone
UTF8_BOM = b"\xef\xbb\xbf"
GZIP_LEVEL = 1  # ~2x the throughput of level 6 on CSV for a somewhat larger file
FLUSH_BYTES = 256 * 1024
BATCH_ROWS = 10_000  # rows per fetch from the cursor, and per write to a typed format
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


class FormatLimit(Exception):
    """The rows do not fit the format (an xlsx sheet's row limit): nothing was written."""


class SinkFile(io.RawIOBase):
    """A write-only, unseekable file object over a sink, for libraries that write to a
    file (pyarrow's ParquetWriter): ``tell`` counts the bytes written."""

    def __init__(self, sink: Sink) -> None:
        super().__init__()
        self._sink = sink
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._sink.write(view)
        self._position += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self._position


def guard_text(value: str) -> str:
    """The CSV formula-injection rule (OWASP) for one TEXT cell."""
    return FORMULA_PREFIX + value if value.startswith(FORMULA_CHARS) else value


def iso_datetime(value: datetime, zone: ZoneInfo | None) -> str:
    """The text formats' datetime: ``Z`` in UTC (``zone`` None), else the zone's offset."""
    if zone is None:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.astimezone(zone).isoformat(timespec="microseconds")


def output_zone(timezone: str) -> ZoneInfo | None:
    """The zone datetimes are written in; None for the ``Z`` spelling of UTC."""
    return None if timezone in UTC_ZONES else ZoneInfo(timezone)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class RowWriter(ABC):
    """Writes one file from batches of rows (Python values in column order)."""

    @abstractmethod
    def write(self, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Finish the file (everything is in the sink afterwards)."""

    def abort(self) -> None:  # noqa: B027 (most writers hold nothing outside the sink)
        """Drop what the writer holds outside the sink (temp files) after a failure."""


class Format(ABC):
    """One output format: how it writes rows, and what it cannot hold."""

    def check_rows(self, rows: int) -> None:  # noqa: B027 (most formats have no limit)
        """``FormatLimit`` when ``rows`` data rows cannot be written; checked before any."""

    @abstractmethod
    def writer(self, sink: Sink, columns: Sequence[Column], timezone: str) -> RowWriter: ...


class TextFormat(Format):
    """A format PostgreSQL can spell (COPY, the raw types' fast path) and Python can spell
    the same way (encode)."""

    copy_has_header: bool = False
    preamble: bytes = b""
    line_end: bytes = b"\n"  # after each record; COPY's records end with b"\n"

    def expression(self, column: Column, sql: str, utc: bool) -> str:
        """A column's SQL as the format writes it: dates and datetimes as ISO 8601 text."""
        if column.kind is Kind.DATETIME and utc:
            return f"to_char({sql} AT TIME ZONE 'UTC', '{DATETIME_SQL_FORMAT}')"
        if column.kind is Kind.DATETIME:  # in the session's time zone, set by the caller
            return f"to_char({sql}, '{LOCAL_DATETIME_SQL_FORMAT}')"
        if column.kind is Kind.DATE:
            return f"to_char({sql}, 'YYYY-MM-DD')"
        return sql

    def select_list(self, query: SelectQuery) -> str:
        return ", ".join(f"{self.expression(column, sql, query.utc)} AS {_quoted(column.name)}"
                         for column, sql in zip(query.columns, query.expressions, strict=True))

    @abstractmethod
    def copy_statement(self, query: SelectQuery) -> str: ...

    @abstractmethod
    def header(self, columns: Sequence[Column]) -> bytes: ...

    @abstractmethod
    def encode(self, columns: Sequence[Column], row: Sequence[Any],
               zone: ZoneInfo | None) -> str: ...

    def writer(self, sink: Sink, columns: Sequence[Column], timezone: str) -> RowWriter:
        return _TextWriter(self, sink, columns, output_zone(timezone))


class _TextWriter(RowWriter):
    def __init__(self, fmt: TextFormat, sink: Sink, columns: Sequence[Column],
                 zone: ZoneInfo | None) -> None:
        self._fmt, self._sink, self._columns, self._zone = fmt, sink, columns, zone
        self._pending = bytearray(fmt.preamble + fmt.header(columns))

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self._pending += self._fmt.encode(self._columns, row, self._zone).encode()
            if len(self._pending) >= FLUSH_BYTES:
                self._sink.write(self._pending)
                self._pending.clear()

    def close(self) -> None:
        self._sink.write(self._pending)
        self._pending.clear()


class CsvFormat(TextFormat):
    copy_has_header = True

    def expression(self, column: Column, sql: str, utc: bool) -> str:
        """Text cells get the formula-injection prefix; booleans read true/false."""
        if column.kind is Kind.TEXT:
            return f"CASE WHEN ascii({sql}) IN ({_FORMULA_CODES}) " \
                   f"THEN '{FORMULA_PREFIX * 2}' || {sql} ELSE {sql} END"
        if column.kind is Kind.BOOLEAN:
            return f"CASE WHEN {sql} THEN 'true' WHEN NOT {sql} THEN 'false' END"
        return super().expression(column, sql, utc)

    def copy_statement(self, query: SelectQuery) -> str:
        return (f"COPY (SELECT {self.select_list(query)} {query.body} ORDER BY {query.order_by}) "
                "TO STDOUT WITH (FORMAT csv, HEADER)")

    def header(self, columns: Sequence[Column]) -> bytes:
        return self.encode(columns, [column.name for column in columns], None).encode()

    def encode(self, columns: Sequence[Column], row: Sequence[Any],
               zone: ZoneInfo | None) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=self.line_end.decode()).writerow(
            [_csv_cell(column, value, zone) for column, value in zip(columns, row, strict=True)])
        return buffer.getvalue()


class CsvExcelFormat(CsvFormat):
    """CSV as Excel opens it by double-click: a UTF-8 BOM (else non-ASCII text is read as
    the ANSI code page) and CRLF record ends."""

    preamble = UTF8_BOM
    line_end = b"\r\n"


def _csv_cell(column: Column, value: Any, zone: ZoneInfo | None) -> str:
    if value is None:
        return ""
    if column.kind is Kind.TEXT:
        return guard_text(str(value))
    if column.kind is Kind.BOOLEAN:
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_datetime(value, zone)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class JsonlFormat(TextFormat):
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

    def encode(self, columns: Sequence[Column], row: Sequence[Any],
               zone: ZoneInfo | None) -> str:
        return json.dumps(
            {column.name: _json_value(value, zone)
             for column, value in zip(columns, row, strict=True)},
            ensure_ascii=False, separators=(",", ":"), allow_nan=False,
        ) + "\n"


def _json_value(value: Any, zone: ZoneInfo | None) -> Any:
    if isinstance(value, datetime):
        return iso_datetime(value, zone)
    return value.isoformat() if isinstance(value, date) else value


def count_statement(query: SelectQuery) -> str:
    return f"SELECT count(*) {query.body}"


def copy_rows(conn: psycopg.Connection[Any], query: SelectQuery, fmt: TextFormat,
              sink: Sink, progress: Progress) -> int:
    """COPY the query's rows into ``sink``; the number of data rows written.

    PostgreSQL sends one COPY message per row, so counting messages counts rows exactly
    (whatever newlines the cells hold), and a format with other record ends swaps each
    message's final ``\\n``. Bytes are handed on in ~256 KiB blocks. Datetimes outside UTC
    take the session's time zone: the caller sets it for the transaction.
    """
    rows = -1 if fmt.copy_has_header else 0
    pending = bytearray(fmt.preamble)
    swap = fmt.line_end != b"\n"
    with conn.cursor() as cursor, cursor.copy(fmt.copy_statement(query), query.params) as copy:
        for data in copy:
            if swap:
                pending += data[:-1]
                pending += fmt.line_end
            else:
                pending += data
            rows += 1
            if len(pending) >= FLUSH_BYTES:
                sink.write(pending)
                pending.clear()
                progress.update(max(rows, 0))
    sink.write(pending)
    return max(rows, 0)


def typed_batches(conn: psycopg.Connection[Any], query: SelectQuery,
                  ) -> Iterator[list[tuple[Any, ...]]]:
    """The query's rows as Python values, ``BATCH_ROWS`` at a time, from a server-side
    cursor in the caller's transaction (never the whole result in memory)."""
    with conn.cursor(name="export_rows") as cursor:
        cursor.itersize = BATCH_ROWS
        cursor.execute(typed_statement(query), query.params)
        while batch := cursor.fetchmany(BATCH_ROWS):
            yield batch


def write_rows(batches: Iterable[Sequence[Sequence[Any]]], writer: RowWriter,
               progress: Progress) -> int:
    """Hand each batch to ``writer``, reporting progress after each; the rows written."""
    count = 0
    try:
        for batch in batches:
            writer.write(batch)
            count += len(batch)
            progress.update(count)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return count


def batched_rows(rows: Iterable[tuple[Any, ...]], size: int = BATCH_ROWS,
                 ) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def compressed(sink: Sink, compression: Compression) -> tuple[Sink, Callable[[], None]]:
    """The sink to write rows to, and what to call once they are all written."""
    if compression is Compression.GZIP:
        gzip_sink = GzipSink(sink)
        return gzip_sink, gzip_sink.close
    return sink, lambda: None
