"""Asking for an export: the request a client sends, its validation against the workspace,
and the job it becomes (SPEC §8, §11.27-28).

The job's ``params`` are ``ExportParams.to_params()`` (what the run reads back) plus two
keys the run ignores:

* ``request``: the request as validated, defaults filled in. An ``Idempotency-Key`` reused
  with a different ``request`` is ``IDEMPOTENCY_KEY_REUSED``; comparing the request, not the
  resolved params, keeps a retry the same request even after the event sequence moved or
  ``30d`` rolled over to the next day.
* ``estimate``: ``{"rows", "completion"}`` made at submission (see ``estimate``), so the
  202 and a replay of it answer the same ``estimated_completion``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from ..analytics.bodies import WindowBody, distinct
from ..analytics.windows import Window, resolve_window
from ..errors import CampaignNotFound, ExportNotFound
from ..fields import Text
from ..jobs import outbox
from ..locks import lock_ingest
from ..models import Campaign, EmailEvent, Job, Lead, Message, Reply
from ..models.vocabulary import JobStatus
from ..pagination import DEFAULT_LIMIT, Page, paginate
from ..settings import Settings
from ..workspaces import get_workspace
from . import dispatch
from .spec import (
    GZIP_FORMATS,
    Compression,
    ExportFormat,
    ExportParams,
    ExportType,
    selected_columns,
)

EXPORT_KIND = dispatch.EXPORT_KIND
MAX_CAMPAIGN_IDS = 1000
# Throughput of a format until enough of its exports have been measured (PITFALLS: COPY-based
# CSV runs at several hundred thousand rows a second; gzip, JSON Lines and parquet are slower;
# openpyxl writes xlsx at about 5,800 rows a second, docs/benchmarks.md).
DEFAULT_ROWS_PER_SECOND: dict[ExportFormat, float] = {
    **dict.fromkeys(ExportFormat, 100_000.0), ExportFormat.XLSX: 5_000.0}
# Exports smaller than this are all start-up cost and say nothing about throughput.
MIN_MEASURED_ROWS = 10_000
MEASURED_EXPORTS = 20
# Claiming, opening storage and finishing the file: paid by every export, however small.
OVERHEAD_SECONDS = 2.0


class ExportRequest(WindowBody):
    """The body of POST /analytics/export; the time range reads like compare's."""

    export_type: ExportType = Field(description="Which rows: one fixed column list per type")
    format: ExportFormat = Field(
        ExportFormat.CSV, description="csv (default), csv_excel (UTF-8 BOM, CRLF), jsonl, xlsx "
                                      "or parquet")
    campaign_ids: Annotated[
        list[Text] | None, Field(min_length=1, max_length=MAX_CAMPAIGN_IDS),
        AfterValidator(distinct),
    ] = Field(None, description="Only these campaigns; default every campaign")
    include_time_series: bool = Field(
        False, description="campaign_performance only: one row per campaign per local day")
    compression: Compression = Field(
        Compression.NONE, description="none (default) or gzip (a .gz file, application/gzip); "
                                      "gzip only for csv, csv_excel and jsonl")
    columns: Annotated[list[Text] | None, Field(min_length=1, max_length=100)] = Field(
        None, description="A subset of the type's columns, in the order given; default all")

    @field_validator("compression")
    @classmethod
    def _gzip_for_text_only(cls, value: Compression, info: ValidationInfo) -> Compression:
        fmt = info.data.get("format")
        if value is Compression.GZIP and fmt is not None and fmt not in GZIP_FORMATS:
            raise ValueError(f"gzip applies to csv, csv_excel and jsonl only; {fmt.value} is "
                             "compressed already")
        return value

    @field_validator("columns")
    @classmethod
    def _documented_columns(cls, value: list[str] | None,
                            info: ValidationInfo) -> list[str] | None:
        export_type = info.data.get("export_type")
        if value is not None and export_type is not None:
            selected_columns(export_type, bool(info.data.get("include_time_series")), value)
        return value

    @model_validator(mode="after")
    def _time_series_needs_performance(self) -> ExportRequest:
        if self.include_time_series and self.export_type is not ExportType.CAMPAIGN_PERFORMANCE:
            raise ValueError("include_time_series applies to campaign_performance exports only")
        return self

    def window(self, timezone: str, now: datetime) -> Window:
        """``INVALID_TIME_RANGE`` (or ``VALIDATION_ERROR`` for the timezone) when it cannot.
        Only ``campaign_performance`` reads the rollups' quarter hours; the raw types take
        any instant (SPEC §11.3)."""
        return resolve_window(
            self.time_range, self.start_date, self.end_date, self.timezone or timezone, now,
            on_grain=self.export_type is ExportType.CAMPAIGN_PERFORMANCE)

    def fingerprint(self) -> dict[str, Any]:
        """The request with its defaults: what an Idempotency-Key is bound to."""
        return self.model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class Estimate:
    rows: int
    completion: datetime


def submit_export(
    session: Session,
    publisher: outbox.Publisher,
    settings: Settings,
    workspace_id: str,
    request: ExportRequest,
    idempotency_key: str | None = None,
    *,
    now: datetime | None = None,
    schedule: dict[str, str] | None = None,
) -> Job:
    """Validate the request against the workspace, create the export job and let the
    dispatcher publish it when the workspace has room (SPEC §8: at most
    ``EXPORT_MAX_PROCESSING_PER_WORKSPACE`` at once).

    With an ``idempotency_key`` seen for this workspace within
    ``EXPORT_IDEMPOTENCY_HOURS``, the export made then is returned (whatever its status);
    the same key with a different request is ``IDEMPOTENCY_KEY_REUSED``.
    """
    now = now or datetime.now(UTC)
    workspace = get_workspace(session, workspace_id)
    window = request.window(workspace.timezone, now)
    campaign_ids = check_campaigns(session, workspace_id, request.campaign_ids)
    export = ExportParams(
        export_type=request.export_type, format=request.format,
        compression=request.compression, start=window.start.astimezone(UTC),
        end=window.end.astimezone(UTC), period=window.period, timezone=window.timezone,
        campaign_ids=campaign_ids, include_time_series=request.include_time_series,
        max_event_id=current_event_id(session, workspace_id),
        columns=tuple(request.columns) if request.columns else None,
    )
    guess = estimate(session, settings, workspace_id, export, now)
    params = {
        **export.to_params(),
        "request": request.fingerprint(),
        "estimate": {"rows": guess.rows, "completion": guess.completion.isoformat()},
        # A scheduled run names its schedule and slot (docs/schedules.md).
        **({"schedule": schedule} if schedule else {}),
    }
    job = outbox.submit(
        session, publisher, kind=EXPORT_KIND, workspace_id=workspace_id, params=params,
        idempotency_key=idempotency_key,
        idempotency_window=timedelta(hours=settings.export_idempotency_hours),
        request_of=lambda stored: stored.get("request"), publish=False,
    )
    dispatch.dispatch(session, publisher, settings, workspace_id)
    session.refresh(job)
    return job


def get_export(session: Session, workspace_id: str, export_id: str) -> Job:
    """Another workspace's export, or any other kind of job, is not found."""
    job = session.scalar(select(Job).where(Job.id == export_id, Job.workspace_id == workspace_id,
                                           Job.kind == EXPORT_KIND))
    if job is None:
        raise ExportNotFound(export_id)
    return job


def list_exports(
    session: Session, workspace_id: str, *, status: str | None = None,
    limit: int = DEFAULT_LIMIT, cursor: str | None = None,
) -> Page[Job]:
    """Newest first."""
    query = select(Job).where(Job.workspace_id == workspace_id, Job.kind == EXPORT_KIND)
    if status:
        query = query.where(Job.status == status)
    return paginate(session, query, Job.created_at, Job.id, limit=limit, cursor=cursor)


def estimated_completion(job: Job) -> datetime | None:
    """The estimate made when the export was submitted."""
    stored = (job.params or {}).get("estimate") or {}
    return datetime.fromisoformat(stored["completion"]) if stored.get("completion") else None


def check_campaigns(
    session: Session, workspace_id: str, campaign_ids: list[str] | None
) -> tuple[str, ...] | None:
    """The ids as given; any unknown, deleted or other workspace's one is not found."""
    if not campaign_ids:
        return None
    found = set(session.scalars(select(Campaign.id).where(
        Campaign.workspace_id == workspace_id, Campaign.deleted_at.is_(None),
        Campaign.id.in_(campaign_ids))))
    missing = [campaign_id for campaign_id in campaign_ids if campaign_id not in found]
    if missing:
        raise CampaignNotFound(missing[0])
    return tuple(campaign_ids)


def current_event_id(session: Session, workspace_id: str) -> int:
    """The event id sequence now, read under the workspace's ingest lock (as refresh reads
    its watermark): every event of the workspace with a smaller id is committed, so a
    re-run writes the same events and never picks up ones ingested after the request."""
    lock_ingest(session, workspace_id)
    value = session.scalar(text(
        "SELECT pg_sequence_last_value(pg_get_serial_sequence('email_events', 'id'))"))
    session.commit()  # releases the lock at once; nothing was written
    return int(value or 0)


# --- the estimate ---------------------------------------------------------------------------

def estimate(
    session: Session, settings: Settings, workspace_id: str, export: ExportParams,
    now: datetime,
) -> Estimate:
    """When the export should be done: queue wait + overhead + rows / throughput.

    * rows: the planner's estimate of the export's query;
    * throughput: rows per second of the last ``MEASURED_EXPORTS`` exports of the same
      format that wrote at least ``MIN_MEASURED_ROWS`` rows (time from start to finish),
      else the format's ``DEFAULT_ROWS_PER_SECOND``;
    * queue wait: when the workspace already has ``EXPORT_MAX_PROCESSING_PER_WORKSPACE`` or
      more unfinished exports, their estimated rows shared across the allowed slots.

    It is a guide for a progress display, not a promise; the status's ``progress`` is the
    truth once the export runs.
    """
    rows = estimate_rows(session, workspace_id, export)
    speed = rows_per_second(session, export.format)
    ahead_count, ahead_rows = _ahead(session, workspace_id)
    cap = settings.export_max_processing_per_workspace
    wait = 0.0
    if ahead_count >= cap:
        wait = (ahead_count // cap) * OVERHEAD_SECONDS + ahead_rows / cap / speed
    seconds = wait + OVERHEAD_SECONDS + rows / speed
    return Estimate(rows, now + timedelta(seconds=round(seconds, 1)))


def estimate_rows(session: Session, workspace_id: str, export: ExportParams) -> int:
    if export.export_type is ExportType.CAMPAIGN_PERFORMANCE:
        query = select(Campaign.id).where(Campaign.workspace_id == workspace_id,
                                          Campaign.deleted_at.is_(None))
        if export.campaign_ids:
            query = query.where(Campaign.id.in_(export.campaign_ids))
        campaigns = _count(session, query)
        if not export.include_time_series:
            return campaigns
        window = Window(export.start, export.end, export.period, export.timezone)
        return campaigns * len(window.days())
    model, column = {
        ExportType.LEADS: (Lead, Lead.created_at),
        ExportType.ATTEMPTS: (Message, Message.sent_at),
        ExportType.REPLIES: (Reply, Reply.received_at),
        ExportType.EVENTS: (EmailEvent, EmailEvent.occurred_at),
    }[export.export_type]
    query = select(model.id).where(model.workspace_id == workspace_id, column >= export.start,
                                   column < export.end)
    if export.campaign_ids:
        query = query.where(model.campaign_id.in_(export.campaign_ids))
    if model is EmailEvent:
        query = query.where(EmailEvent.id <= export.max_event_id)
    return _count(session, query)


def _count(session: Session, query: Select[Any]) -> int:
    """The planner's estimate: an exact count of a workspace-wide window can scan millions
    of rows, too slow inside a request for a number that is only an estimate (the job
    counts exactly for its progress)."""
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = session.execute(text(f"EXPLAIN (FORMAT JSON) {compiled}")).scalar_one()
    return int(plan[0]["Plan"]["Plan Rows"])


def rows_per_second(session: Session, export_format: ExportFormat) -> float:
    recent = (
        select(Job.row_count.label("rows"),
               func.extract("epoch", Job.finished_at - Job.started_at).label("seconds"))
        .where(Job.kind == EXPORT_KIND,
               Job.status.in_([JobStatus.COMPLETED, JobStatus.EXPIRED]),
               Job.params["format"].astext == export_format.value,
               Job.row_count >= MIN_MEASURED_ROWS, Job.started_at.is_not(None),
               Job.finished_at.is_not(None))
        .order_by(Job.finished_at.desc())
        .limit(MEASURED_EXPORTS)
        .subquery()
    )
    rows, seconds = session.execute(
        select(func.sum(recent.c.rows), func.sum(recent.c.seconds))).one()
    if not rows or not seconds or float(seconds) <= 0:
        return DEFAULT_ROWS_PER_SECOND[export_format]
    return float(rows) / float(seconds)


def _ahead(session: Session, workspace_id: str) -> tuple[int, int]:
    """(count, estimated rows) of the workspace's unfinished exports."""
    unfinished = list(session.scalars(select(Job.params).where(
        Job.workspace_id == workspace_id, Job.kind == EXPORT_KIND,
        Job.status.in_([JobStatus.QUEUED, JobStatus.PROCESSING]))))
    rows = sum(int(((params or {}).get("estimate") or {}).get("rows") or 0)
               for params in unfinished)
    return len(unfinished), rows
