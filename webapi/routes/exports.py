"""Exports: request one, follow it, list them, cancel or delete one (SPEC §8, §11.27-30).

Only ``POST /analytics/export`` counts against the ``exports`` budget (10 a minute);
polling and listing count as ``default``. Views are glue: the rules live in
campaign_analytics/exports/ (requests, dispatch, retention, downloads).
"""

from __future__ import annotations

from flask import Response, current_app

from campaign_analytics.exports import requests, retention
from campaign_analytics.jobs.outbox import Publisher
from campaign_analytics.models import Job

from ..auth import workspace_blueprint
from ..database import db_session
from ..limits import rate_limited
from ..openapi import operation
from ..responses import ok
from ..schemas.exports import (
    ExportAccepted,
    ExportHeaders,
    ExportListQuery,
    ExportOut,
    ExportRequest,
    columns_description,
)
from .downloads import download_link, export_storage, settings

bp = workspace_blueprint("exports", __name__)


def _publisher() -> Publisher:
    value: Publisher = current_app.extensions["job_publisher"]
    return value


def export_out(job: Job) -> ExportOut:
    url, expires_at = download_link(job)
    return ExportOut.of(job, estimated=requests.estimated_completion(job),
                        file_expires_at=retention.file_expires_at(job, settings()),
                        download_url=url, expires_at=expires_at)


@bp.post("/analytics/export")
@rate_limited("exports")
@operation(
    "Request an export file", response=ExportAccepted, body=ExportRequest,
    headers=ExportHeaders, status=202, tags=("exports",), errors=("409",),
    description=(
        "Answers 202 at once with status `queued`; follow it with `GET /analytics/exports/"
        "{export_id}`. At most `EXPORT_MAX_PROCESSING_PER_WORKSPACE` (3) exports of a "
        "workspace run at once; the others wait `queued`.\n\n"
        "Optional header `Idempotency-Key` (1-255 characters): the same key within 24 hours "
        "returns the same export (whatever its status now); the same key with a different "
        "body is 409 `IDEMPOTENCY_KEY_REUSED`.\n\n"
        "Formats: `csv`, `csv_excel` (UTF-8 BOM, CRLF: Excel opens it as is), `jsonl`, "
        "`xlsx` (one sheet, at most 1,048,575 data rows, else the export fails "
        "`EXPORT_FAILED` before writing) and `parquet` (typed columns, zstd). `gzip` applies "
        "to the text formats only. Datetimes are written in `timezone` (default the "
        "workspace's) with its offset, `Z` in UTC. `columns`: a subset of the type's "
        "columns, in the order given.\n\n"
        "Errors: `VALIDATION_ERROR` (unknown export_type, format or compression, gzip with "
        "xlsx or parquet, unknown or repeated `columns` (the details list the valid ones), "
        "bad timezone, with per-field details), `INVALID_TIME_RANGE`, `CAMPAIGN_NOT_FOUND` "
        "(an unknown, deleted or other workspace's campaign id).\n\n"
        "`estimated_completion`: queue wait + a fixed start-up cost + estimated rows / the "
        "throughput measured on recent exports (100,000 rows/s until measured).\n\n"
        + columns_description()
    ),
)
def request_export(workspace_id: str, body: ExportRequest, headers: ExportHeaders) -> Response:
    job = requests.submit_export(db_session(), _publisher(), settings(), workspace_id, body,
                                 headers.idempotency_key)
    url, _ = download_link(job)
    return ok(ExportAccepted(export_id=job.id, status=job.status,  # type: ignore[arg-type]
                             estimated_completion=requests.estimated_completion(job),
                             download_url=url), status=202)


@bp.get("/analytics/exports")
@operation("List exports, newest first", response=ExportOut, query=ExportListQuery,
           tags=("exports",), paginated=True)
def list_exports(workspace_id: str, query: ExportListQuery) -> Response:
    page = requests.list_exports(db_session(), workspace_id, status=query.status,
                                 limit=query.limit, cursor=query.cursor)
    return ok([export_out(job) for job in page.items], next_cursor=page.next_cursor)


@bp.get("/analytics/exports/<export_id>")
@operation(
    "One export's status, progress, file and download link", response=ExportOut,
    tags=("exports",),
    description=(
        "Statuses: `queued` → `processing` → `completed` | `failed` (error.code "
        "`EXPORT_FAILED`) | `canceled`; `completed` → `expired` when retention "
        "(`EXPORT_RETENTION_DAYS`, 7) deletes the file, or on DELETE. `download_url` is "
        "present only while completed and is issued afresh on every read; `expires_at` is "
        "when that link stops working, `file_expires_at` when the file is deleted. "
        "`parameters` are exactly what the job runs with (format, compression, timezone, "
        "the resolved columns and UTC window, filters); `schedule_id` names the export "
        "schedule that made a scheduled run. An unknown or other workspace's export id is "
        "404 `EXPORT_NOT_FOUND`."
    ),
)
def show_export(workspace_id: str, export_id: str) -> Response:
    return ok(export_out(requests.get_export(db_session(), workspace_id, export_id)))


@bp.delete("/analytics/exports/<export_id>")
@operation(
    "Cancel an unfinished export, or delete a finished one's file", response=ExportOut,
    tags=("exports",),
    description=(
        "`queued` / `processing` → `canceled`: the worker stops within seconds and leaves "
        "no file. `completed` → `expired`: the file is removed and links stop working at "
        "once. Other statuses are left as they are (repeating a DELETE is harmless)."
    ),
)
def delete_export(workspace_id: str, export_id: str) -> Response:
    job = retention.delete_export(db_session(), export_storage(), _publisher(), settings(),
                                  workspace_id, export_id)
    return ok(export_out(job))
