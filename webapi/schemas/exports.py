"""Export request and status models. The request body is the domain's ``ExportRequest``
(like compare's), so the API, the CLI and the OpenAPI document validate one model."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from campaign_analytics.analytics.windows import Window
from campaign_analytics.exports.requests import ExportRequest
from campaign_analytics.exports.spec import (
    COLUMNS,
    DATE_COLUMN,
    Compression,
    ExportFormat,
    ExportParams,
    ExportType,
)
from campaign_analytics.fields import Text
from campaign_analytics.models import Job
from campaign_analytics.models.vocabulary import JobStatus
from campaign_analytics.schedules.runs import SLOT_KEY_PREFIX

from .analytics import TimeRangeOut
from .common import PageQuery, UtcDatetime

__all__ = ["ExportRequest"]


class ExportHeaders(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    idempotency_key: Text | None = Field(
        None, alias="Idempotency-Key", min_length=1, max_length=255,
        description="The same key within 24 hours returns the same export; with a different "
                    f"body it is 409 IDEMPOTENCY_KEY_REUSED. Keys starting `{SLOT_KEY_PREFIX}` "
                    "are reserved for export schedules' runs")

    @field_validator("idempotency_key")
    @classmethod
    def _not_a_schedules_key(cls, value: str | None) -> str | None:
        if value is not None and value.startswith(SLOT_KEY_PREFIX):
            raise ValueError(f"keys starting {SLOT_KEY_PREFIX!r} are reserved for export "
                             "schedules")
        return value


class ExportProgress(BaseModel):
    rows_written: int = 0
    rows_total: int | None = Field(None, description="null until the run has counted them")
    percent: float = 0.0


class ExportError(BaseModel):
    code: str = Field(description="EXPORT_FAILED")
    message: str = Field(description="The cause, in words a user can act on")
    reason: str | None = Field(None, description="The underlying code (e.g. "
                                                 "TIME_LIMIT_EXCEEDED)")


class ExportParameters(BaseModel):
    """Exactly what the export ran with (or will run with): the job's stored parameters,
    so a re-run writes the same file."""

    export_type: ExportType
    format: ExportFormat
    compression: Compression
    timezone: str = Field(description="IANA zone of the file's datetimes and local days")
    columns: list[str] = Field(description="The file's columns, in file order (every "
                                           "documented column when none were requested)")
    start: UtcDatetime = Field(description="Resolved window start (inclusive), UTC")
    end: UtcDatetime = Field(description="Resolved window end (exclusive), UTC")
    period: str = Field(description="7d, 14d, 30d, 90d or custom")
    time_range: TimeRangeOut  # as every windowed response (SPEC §11.2)
    campaign_ids: list[str] | None
    include_time_series: bool

    @classmethod
    def of(cls, params: ExportParams) -> ExportParameters:
        return cls(
            export_type=params.export_type, format=params.format,
            compression=params.compression, timezone=params.timezone,
            columns=[column.name for column in params.output_columns()],
            start=params.start, end=params.end, period=params.period,
            time_range=TimeRangeOut.model_validate(_window(params).as_dict()),
            campaign_ids=list(params.campaign_ids) if params.campaign_ids else None,
            include_time_series=params.include_time_series,
        )


class ExportAccepted(BaseModel):
    export_id: str
    status: JobStatus
    estimated_completion: UtcDatetime | None
    download_url: str | None = Field(None, description="null until the export is completed")


class ExportOut(BaseModel):
    export_id: str
    export_type: ExportType
    status: JobStatus
    format: ExportFormat
    compression: Compression
    file_name: str
    content_type: str
    progress: ExportProgress
    row_count: int | None
    file_size_bytes: int | None
    sha256: str | None
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    completed_at: UtcDatetime | None
    finished_at: UtcDatetime | None = Field(
        description="When it completed, failed or was canceled")
    estimated_completion: UtcDatetime | None
    download_url: str | None = Field(description="Only while completed; a fresh link on "
                                                 "every read")
    expires_at: UtcDatetime | None = Field(description="When this download_url stops working")
    file_expires_at: UtcDatetime | None = Field(
        description="When retention deletes (or deleted) the file")
    error: ExportError | None
    parameters: ExportParameters
    schedule_id: str | None = Field(description="The export schedule that made this run; "
                                                "null for an export requested directly")

    @classmethod
    def of(cls, job: Job, *, estimated: datetime | None, file_expires_at: datetime | None,
           download_url: str | None = None, expires_at: datetime | None = None) -> ExportOut:
        params = ExportParams.from_params(job.params)
        status = JobStatus(job.status)
        done = status in (JobStatus.COMPLETED, JobStatus.EXPIRED)
        return cls(
            export_id=job.id, export_type=params.export_type, status=status,
            format=params.format, compression=params.compression,
            file_name=params.file_name(job.id), content_type=params.content_type(),
            progress=_progress(job, done), row_count=job.row_count,
            file_size_bytes=job.file_size, sha256=job.file_sha256,
            created_at=job.created_at, started_at=job.started_at,
            completed_at=job.finished_at if done else None, finished_at=job.finished_at,
            estimated_completion=estimated, download_url=download_url,
            expires_at=expires_at if download_url else None, file_expires_at=file_expires_at,
            error=_error(job), parameters=ExportParameters.of(params),
            schedule_id=_schedule_id(job),
        )


def _window(params: ExportParams) -> Window:
    zone = ZoneInfo(params.timezone)
    return Window(params.start.astimezone(zone), params.end.astimezone(zone), params.period,
                  params.timezone)


def _schedule_id(job: Job) -> str | None:
    """Scheduled runs carry ``params["schedule"] = {"id", "slot"}``."""
    schedule = (job.params or {}).get("schedule") or {}
    return str(schedule["id"]) if schedule.get("id") else None


def _progress(job: Job, done: bool) -> ExportProgress:
    stored: dict[str, Any] = job.progress or {}
    if done and job.row_count is not None:
        return ExportProgress(rows_written=job.row_count, rows_total=job.row_count,
                              percent=100.0)
    return ExportProgress(
        rows_written=int(stored.get("rows_written") or 0),
        rows_total=stored.get("rows_total"),
        percent=float(stored.get("percent") or 0.0),
    )


def _error(job: Job) -> ExportError | None:
    if job.status != JobStatus.FAILED:
        return None
    reason = job.error_code if job.error_code and job.error_code != "EXPORT_FAILED" else None
    return ExportError(code="EXPORT_FAILED", message=job.error_message or "The export failed",
                       reason=reason)


class ExportListQuery(PageQuery):
    status: JobStatus | None = Field(None, description="Only exports in this status")


def columns_description() -> str:
    """Markdown: every type's documented, ordered columns, from ``spec.COLUMNS``."""
    lines = ["Columns per `export_type`, in file order:", ""]
    for export_type, columns in COLUMNS.items():
        cells = ", ".join(
            f"`{column.name}` ({column.kind.value}"
            + (f": {column.description})" if column.description else ")")
            for column in columns)
        lines.append(f"* `{export_type.value}`: {cells}")
    lines.append(f"* with `include_time_series`, `campaign_performance` has `{DATE_COLUMN.name}` "
                 f"({DATE_COLUMN.kind.value}: {DATE_COLUMN.description}) after "
                 "`campaign_status`: one row per campaign per local day, zero days included.")
    return "\n".join(lines)
