"""xlsx exports: one sheet streamed by openpyxl's write-only workbook, in constant memory.

* Text and identifier columns are string cells with their type set explicitly: a text
  ``=1+1`` stays the text ``=1+1`` (never a formula, so no ``'`` prefix is needed), ``#N/A``
  stays text (never an error value), and ``690000000000012345`` never becomes 6.9E+17.
  Characters XML cannot hold (C0 controls other than tab, LF, CR) become U+FFFD (a CR is
  kept: openpyxl writes through lxml, a dependency, which escapes it); a cell holds at most
  32,767 characters (Excel's limit; openpyxl cuts longer text there).
* Integers and numbers are numeric cells, dates date cells, booleans boolean cells.
* Datetimes are real Excel date-time cells holding the local time of the export's time
  zone (Excel has no time zones), number format ``yyyy-mm-dd h:mm:ss``, to the millisecond
  (Excel's precision); the zone is in the export's ``parameters``.
* A header row with the column names, frozen.
* A sheet holds ``SHEET_MAX_ROWS`` rows, header included: ``check_rows`` refuses more
  before anything is written.

openpyxl writes the sheet's XML to a temporary file as rows arrive, and zips it into the
workbook when saved; the workbook is saved into a temporary directory of its own, then
copied into the sink in ``COPY_BYTES`` blocks. The workbook's creation time and its zip
entries' dates are fixed (``FIXED_TIME``), so the same rows give the same bytes, as in
every other format.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from .spec import Column, Kind
from .writers import Format, FormatLimit, RowWriter, Sink

SHEET_MAX_ROWS = 1_048_576  # Excel's rows per sheet, the header row included
COPY_BYTES = 1024 * 1024
# The characters XML 1.0 cannot hold (openpyxl refuses them), as openpyxl defines them.
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

# The workbook's created/modified and its zip entries' date: the earliest a zip can carry.
FIXED_TIME = datetime(1980, 1, 1)
ZIP_DATE = FIXED_TIME.timetuple()[:6]

Convert = Callable[[Any], Any]


class XlsxFormat(Format):
    def check_rows(self, rows: int) -> None:
        if rows + 1 > SHEET_MAX_ROWS:
            raise FormatLimit(
                f"This export has {rows:,} rows, but an xlsx sheet holds at most "
                f"{SHEET_MAX_ROWS:,} rows including the header row ({SHEET_MAX_ROWS - 1:,} "
                "data rows). Request it as csv, csv_excel or parquet, or choose a narrower "
                "time range or fewer campaigns.")

    def writer(self, sink: Sink, columns: Sequence[Column], timezone: str) -> RowWriter:
        return _XlsxWriter(sink, columns, ZoneInfo(timezone))


class _XlsxWriter(RowWriter):
    def __init__(self, sink: Sink, columns: Sequence[Column], zone: ZoneInfo) -> None:
        self._sink = sink
        self._workbook = Workbook(write_only=True)
        self._workbook.properties.created = self._workbook.properties.modified = FIXED_TIME
        self._sheet: WriteOnlyWorksheet = self._workbook.create_sheet("export")
        self._sheet.freeze_panes = "A2"
        self._convert = [_converter(self._sheet, column, zone) for column in columns]
        text = _text(self._sheet)
        self._sheet.append([text(column.name) for column in columns])

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        convert, append = self._convert, self._sheet.append
        for row in rows:
            append([to_cell(value) for to_cell, value in zip(convert, row, strict=True)])

    def close(self) -> None:
        with tempfile.TemporaryDirectory(prefix="export-xlsx-") as directory:
            path = Path(directory) / "export.xlsx"
            # What Workbook.save does, without stamping the time (removes the sheet's
            # temporary file).
            with _ReproducibleZip(path, "w", ZIP_DEFLATED, allowZip64=True) as archive:
                ExcelWriter(self._workbook, archive).save()
            with path.open("rb") as workbook:
                while block := workbook.read(COPY_BYTES):
                    self._sink.write(block)

    def abort(self) -> None:
        """Close the sheet and remove its temporary file (openpyxl keeps it until saved)."""
        writer = self._sheet._writer  # openpyxl has no public way to drop an unsaved sheet
        if writer is None:
            return
        with suppress(Exception):
            self._sheet.close()
        with suppress(OSError, ValueError):
            writer.cleanup()


def _entry(name: str) -> ZipInfo:
    entry = ZipInfo(name, date_time=ZIP_DATE)
    entry.compress_type = ZIP_DEFLATED
    entry.external_attr = 0o600 << 16
    return entry


class _ReproducibleZip(ZipFile):
    """Every entry dated ``ZIP_DATE`` (``ZipFile`` dates them now, or the file's mtime)."""

    def writestr(self, zinfo_or_arcname: str | ZipInfo, data: str | bytes,
                 compress_type: int | None = None, compresslevel: int | None = None) -> None:
        if not isinstance(zinfo_or_arcname, ZipInfo):
            zinfo_or_arcname = _entry(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename: Any, arcname: Any = None, compress_type: int | None = None,
              compresslevel: int | None = None) -> None:
        entry = _entry(str(arcname or filename))
        entry.file_size = os.path.getsize(filename)  # lets zipfile choose zip64 by size
        with open(filename, "rb") as source, self.open(entry, "w") as target:
            shutil.copyfileobj(source, target, COPY_BYTES)


def _converter(sheet: WriteOnlyWorksheet, column: Column, zone: ZoneInfo) -> Convert:
    if column.kind is Kind.TEXT or column.identifier:
        return _text(sheet)
    if column.kind is Kind.DATETIME:
        return lambda value: _local(value, zone)
    return lambda value: value


def _local(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if value is None else value.astimezone(zone).replace(tzinfo=None)


def _text(sheet: WriteOnlyWorksheet) -> Convert:
    def text_cell(value: Any) -> Any:
        if value is None:
            return None
        text = value if isinstance(value, str) else str(value)
        if _ILLEGAL.search(text):
            text = _ILLEGAL.sub("\ufffd", text)
        if text.startswith("=") or text in ERROR_CODES:
            # openpyxl would store these as a formula or an error value: force a string.
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"
            return cell
        return text

    return text_cell
