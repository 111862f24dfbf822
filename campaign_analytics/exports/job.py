"""The ``export`` job: read the params from the job row, stream the file to storage, record
it on the row (fenced by attempt).

The key is deterministic per export (``exports/<workspace>/<export>/<file name>``), so a
re-run after a crash overwrites the same key atomically, and a canceled run leaves nothing:
the writer discards its temp file when ``JobCanceled`` (or anything else) interrupts it (a
SIGKILLed writer's temp file is removed by retention once stale). The failures this module
recognises carry ``EXPORT_FAILED``, transient ones (database or storage away) marked
recoverable for the runner to retry, a format's limit (an xlsx sheet's rows) before anything
is written; the API shows every failed export as
``EXPORT_FAILED`` with the underlying code as ``reason``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg

from ..db import is_unavailable
from ..jobs import store
from ..jobs.context import JobContext
from ..jobs.errors import JobCanceled, JobFailure, JobHandedBack
from ..models.vocabulary import JobStatus
from ..settings import get_settings
from .queries import performance_row_total, performance_rows, select_query
from .spec import ExportFormat, ExportParams, ExportType
from .storage import Storage, StorageRefused, StorageUnavailable, export_key, storage_from_settings
from .writers import (
    CsvExcelFormat,
    CsvFormat,
    Format,
    FormatLimit,
    JsonlFormat,
    Progress,
    Sink,
    TextFormat,
    batched_rows,
    compressed,
    copy_rows,
    count_statement,
    typed_batches,
    write_rows,
)

log = logging.getLogger(__name__)

EXPORT_FAILED = "EXPORT_FAILED"
# A run that loses the job to a cancel removes its committed file; one that lost it to a
# newer attempt must not (that attempt owns the same key now).
_ABANDONED = frozenset({JobStatus.CANCELED, JobStatus.FAILED, JobStatus.EXPIRED})
TEXT_FORMATS: dict[ExportFormat, TextFormat] = {
    ExportFormat.CSV: CsvFormat(), ExportFormat.CSV_EXCEL: CsvExcelFormat(),
    ExportFormat.JSONL: JsonlFormat(),
}


def format_of(export_format: ExportFormat) -> Format:
    """The format's writer. xlsx and parquet import openpyxl and pyarrow (about 50 MB of
    RSS together) on first use only: the API and workers that never write them don't
    carry them."""
    if export_format is ExportFormat.XLSX:
        from .spreadsheets import XlsxFormat

        return XlsxFormat()
    if export_format is ExportFormat.PARQUET:
        from .parquet import ParquetFormat

        return ParquetFormat()
    return TEXT_FORMATS[export_format]


def export_failed(message: str, *, recoverable: bool = False) -> JobFailure:
    return JobFailure(EXPORT_FAILED, message, recoverable=recoverable)


def run_export(ctx: JobContext) -> dict[str, Any]:
    """The handler in ``jobs.catalog``: storage from the process settings (STORAGE_URL)."""
    return export(ctx, storage_from_settings(get_settings()))


def export(ctx: JobContext, storage: Storage) -> dict[str, Any]:
    """Write the export of ``ctx.params`` to ``storage`` and record it on the job row."""
    params = load_params(ctx)
    workspace_id = str(ctx.workspace_id)
    file_name = params.file_name(ctx.job_id)
    key = export_key(workspace_id, ctx.job_id, file_name)
    progress = Progress(ctx.report_progress)
    try:
        with storage.writer(key, content_type=params.content_type()) as out:
            sink, finish = compressed(out, params.compression)
            rows = SOURCES[params.export_type](ctx, workspace_id, params, sink, progress)
            finish()
            # The last ownership check before the file appears under its key. A worker that
            # is shutting down still lets a finished file through: the job is still ours.
            with contextlib.suppress(JobHandedBack):
                progress.update(rows, force=True)
    except (JobCanceled, JobFailure):
        raise
    except Exception as exc:
        raise _mapped(exc) from exc
    with ctx.db.sessions() as session:
        recorded = store.record_file(session, ctx.job_id, ctx.attempt, key=key, size=out.size,
                                     sha256=out.sha256, row_count=rows)
        status = None if recorded else store.status_of(session, ctx.job_id)
    if not recorded:
        if status in _ABANDONED:
            storage.delete(key)
        raise JobCanceled(ctx.job_id)
    return {"file_key": key, "file_name": file_name, "content_type": params.content_type(),
            "file_size": out.size, "sha256": out.sha256, "row_count": rows,
            "export_type": params.export_type.value, "format": params.format.value,
            "compression": params.compression.value}


def load_params(ctx: JobContext) -> ExportParams:
    """The params as the API stored them; anything unusable fails at once (not retried)."""
    if ctx.workspace_id is None:
        raise export_failed("The export belongs to no workspace; request it again")
    try:
        params = ExportParams.from_params(ctx.params)
        ZoneInfo(params.timezone)
        params.output_columns()  # the stored columns are the type's
    except (KeyError, ValueError, TypeError, ZoneInfoNotFoundError) as exc:
        raise export_failed(
            f"The export's parameters are invalid ({type(exc).__name__}: {exc}); "
            "request a new export") from exc
    if params.start.utcoffset() is None or params.end.utcoffset() is None:
        raise export_failed("The export's time range has no time zone; request a new export")
    if params.start >= params.end:
        raise export_failed("The export's time range is empty: start must be before end")
    if params.end - params.start > timedelta(days=367):
        raise export_failed("The export's time range spans more than 366 days")
    return params


def _mapped(exc: Exception) -> Exception:
    """Low-level errors at the domain's edge: transient ones are retried, others fail."""
    if isinstance(exc, psycopg.OperationalError) or is_unavailable(exc):
        return export_failed("The database was unreachable while writing the export; "
                             "it will be retried", recoverable=True)
    if isinstance(exc, StorageUnavailable):
        return export_failed(f"Export storage was unavailable ({exc}); it will be retried",
                             recoverable=True)
    if isinstance(exc, FormatLimit):
        return export_failed(str(exc))
    if isinstance(exc, StorageRefused):
        return export_failed(f"Export storage refused the file ({exc}): check STORAGE_URL "
                             "and its permissions, then request the export again")
    return exc  # the runner logs it and fails the job (INTERNAL_ERROR) or its time limit


Source = Callable[[JobContext, str, ExportParams, Sink, Progress], int]


def _raw_source(ctx: JobContext, workspace_id: str, params: ExportParams, sink: Sink,
                progress: Progress) -> int:
    """Raw types: a count, then the rows (COPY for the text formats, a server-side cursor
    for the typed ones), in one read-only snapshot (total matches rows) whose time zone is
    the export's (datetimes are written in it)."""
    query = select_query(workspace_id, params)
    fmt = format_of(params.format)
    raw = ctx.db.engine.raw_connection()
    try:
        conn: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute("SELECT set_config('TimeZone', %s, true)", (params.timezone,))
        ctx.interrupt = conn.cancel  # a cancel stops the (possibly long) count mid-statement
        counted = conn.execute(count_statement(query), query.params).fetchone()
        # While COPY streams, progress updates notice a cancel within a few hundred KiB;
        # cancelling the backend mid-COPY would leave the protocol to unwind.
        ctx.interrupt = None
        progress.rows_total = int(counted[0]) if counted else 0
        fmt.check_rows(progress.rows_total)
        progress.update(0, force=True)
        if isinstance(fmt, TextFormat):
            rows = copy_rows(conn, query, fmt, sink, progress)
        else:
            with contextlib.closing(typed_batches(conn, query)) as batches:
                rows = write_rows(batches, fmt.writer(sink, query.columns, params.timezone),
                                  progress)
        conn.rollback()
        return rows
    except BaseException:
        try:
            raw.rollback()
        except Exception:  # the connection is broken (server away): never pool it again
            with contextlib.suppress(Exception):
                raw.invalidate()
        raise
    finally:
        ctx.interrupt = None
        raw.close()


def _performance_source(ctx: JobContext, workspace_id: str, params: ExportParams, sink: Sink,
                        progress: Progress) -> int:
    """``campaign_performance``: the API's numbers from the rollups, one snapshot."""
    fmt = format_of(params.format)
    with ctx.db.sessions() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        progress.rows_total = performance_row_total(session, workspace_id, params)
        fmt.check_rows(progress.rows_total)
        progress.update(0, force=True)
        writer = fmt.writer(sink, params.output_columns(), params.timezone)
        return write_rows(batched_rows(performance_rows(session, workspace_id, params)),
                          writer, progress)


SOURCES: dict[ExportType, Source] = {
    ExportType.CAMPAIGN_PERFORMANCE: _performance_source,
    ExportType.LEADS: _raw_source,
    ExportType.ATTEMPTS: _raw_source,
    ExportType.REPLIES: _raw_source,
    ExportType.EVENTS: _raw_source,
}
