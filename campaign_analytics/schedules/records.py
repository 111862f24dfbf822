"""Export schedules as records: create, read, list, change, pause, resume, delete, and the
runs a schedule made (SPEC §10 "Reports that come to you").

The export parameters are validated with ``ExportRequest`` itself, as a single export's,
and stored as its ``fingerprint()``; the time range and campaigns are checked against the
workspace when the schedule is written, so a mistake shows at once rather than at the first
run. ``next_run_at`` is the first slot after the moment the cadence was set, changed or
resumed: a schedule never runs for slots before it existed or while it was paused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, literal_column, select
from sqlalchemy.orm import Session

from ..errors import ScheduleNotFound, ValidationFailed
from ..exports.requests import EXPORT_KIND, ExportRequest, check_campaigns
from ..fields import Changes, Text
from ..ids import new_id
from ..models import ExportSchedule, Job
from ..models.schedule import CadenceType, ScheduleStatus
from ..pagination import DEFAULT_LIMIT, Page, paginate
from ..workspaces import get_workspace, validate_timezone
from .cadence import Cadence, next_slot

Name = Annotated[Text, Field(min_length=1, max_length=200)]
Timezone = Annotated[Text, Field(min_length=1, max_length=64, examples=["Europe/Berlin"])]


class ScheduleFields(BaseModel):
    """The body of POST /export-schedules."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    export: ExportRequest = Field(description="The export parameters, as for a single export "
                                              "(POST /analytics/export)")
    schedule: Cadence
    timezone: Timezone | None = Field(
        None, description="IANA zone of the cadence's local times (and of the export's, when "
                          "it names none); default the workspace's")


class ScheduleChanges(Changes):
    """Only the fields present change; a new cadence or timezone moves ``next_run_at`` to
    its first slot from now."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    export: ExportRequest | None = None
    schedule: Cadence | None = None
    timezone: Timezone | None = None


def create_schedule(
    session: Session, workspace_id: str, fields: ScheduleFields, *, now: datetime | None = None
) -> ExportSchedule:
    now = now or datetime.now(UTC)
    workspace = get_workspace(session, workspace_id)
    timezone = validate_timezone(fields.timezone or workspace.timezone)
    schedule = ExportSchedule(
        id=new_id("sch"), workspace_id=workspace_id, name=fields.name,
        status=ScheduleStatus.ACTIVE.value, timezone=timezone,
        export=_checked_export(session, workspace_id, fields.export, timezone, now),
    )
    _set_cadence(schedule, fields.schedule, now)
    session.add(schedule)
    session.commit()
    session.refresh(schedule)
    return schedule


def get_schedule(session: Session, workspace_id: str, schedule_id: str) -> ExportSchedule:
    """Another workspace's schedule is not found."""
    schedule = session.scalar(select(ExportSchedule).where(
        ExportSchedule.id == schedule_id, ExportSchedule.workspace_id == workspace_id))
    if schedule is None:
        raise ScheduleNotFound(schedule_id)
    return schedule


def list_schedules(
    session: Session, workspace_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[ExportSchedule]:
    """Newest first."""
    query = select(ExportSchedule).where(ExportSchedule.workspace_id == workspace_id)
    return paginate(session, query, ExportSchedule.created_at, ExportSchedule.id,
                    limit=limit, cursor=cursor)


def update_schedule(
    session: Session, workspace_id: str, schedule_id: str, changes: ScheduleChanges,
    *, now: datetime | None = None,
) -> ExportSchedule:
    now = now or datetime.now(UTC)
    schedule = get_schedule(session, workspace_id, schedule_id)
    if changes.name is not None:
        schedule.name = changes.name
    if changes.timezone is not None:
        schedule.timezone = validate_timezone(changes.timezone)
    if changes.export is not None or changes.timezone is not None:
        request = changes.export or ExportRequest.model_validate(schedule.export)
        schedule.export = _checked_export(session, workspace_id, request, schedule.timezone,
                                          now)
    if changes.schedule is not None or changes.timezone is not None:
        _set_cadence(schedule, changes.schedule or _cadence_of(schedule), now)
    session.commit()
    session.refresh(schedule)
    return schedule


def pause_schedule(session: Session, workspace_id: str, schedule_id: str) -> ExportSchedule:
    """No runs until resumed; pausing a paused schedule changes nothing."""
    schedule = get_schedule(session, workspace_id, schedule_id)
    if schedule.status != ScheduleStatus.PAUSED:
        schedule.status, schedule.next_run_at = ScheduleStatus.PAUSED.value, None
        session.commit()
        session.refresh(schedule)
    return schedule


def resume_schedule(
    session: Session, workspace_id: str, schedule_id: str, *, now: datetime | None = None
) -> ExportSchedule:
    """Runs again from the first slot after now: the slots missed while paused are not
    made (no burst of runs). Resuming an active schedule changes nothing."""
    schedule = get_schedule(session, workspace_id, schedule_id)
    if schedule.status != ScheduleStatus.ACTIVE:
        schedule.status = ScheduleStatus.ACTIVE.value
        schedule.next_run_at = next_slot(schedule.cron, schedule.timezone, now or datetime.now(UTC))
        session.commit()
        session.refresh(schedule)
    return schedule


def delete_schedule(session: Session, workspace_id: str, schedule_id: str) -> None:
    """The runs already made stay, as ordinary exports."""
    session.delete(get_schedule(session, workspace_id, schedule_id))
    session.commit()


def list_runs(
    session: Session, workspace_id: str, schedule_id: str, *, limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Job]:
    """The schedule's exports, newest first (index ix_jobs_schedule_runs)."""
    get_schedule(session, workspace_id, schedule_id)
    query = select(Job).where(Job.workspace_id == workspace_id, Job.kind == EXPORT_KIND,
                              *_made_by(schedule_id))
    return paginate(session, query, Job.created_at, Job.id, limit=limit, cursor=cursor)


def _made_by(schedule_id: str) -> tuple[ColumnElement[bool], ...]:
    """ix_jobs_schedule_runs's predicate and expression, written with literals (not
    parameters) so that the planner matches them to the index in every plan."""
    schedule = Job.params.op("->")(literal_column("'schedule'"))
    return (Job.params.op("?")(literal_column("'schedule'")),
            schedule.op("->>")(literal_column("'id'")) == schedule_id)


def run_statuses(session: Session, schedules: list[ExportSchedule]) -> dict[str, str]:
    """The status of each schedule's last export, by export id, in one query."""
    ids = [schedule.last_export_id for schedule in schedules if schedule.last_export_id]
    if not ids:
        return {}
    rows = session.execute(select(Job.id, Job.status).where(Job.id.in_(ids)))
    return {job_id: status for job_id, status in rows}


def export_request(schedule: ExportSchedule) -> ExportRequest:
    """The stored request, its timezone the schedule's unless it names its own."""
    request = ExportRequest.model_validate(schedule.export)
    if request.timezone is None:
        request = request.model_copy(update={"timezone": schedule.timezone})
    return request


def _checked_export(
    session: Session, workspace_id: str, request: ExportRequest, timezone: str, now: datetime
) -> dict[str, object]:
    """What submitting it would refuse, refused now: the time range (in the export's
    timezone, else the schedule's) and the campaigns (submit_export's own check, reused)."""
    try:
        request.window(timezone, now)
    except ValidationFailed as exc:  # its timezone: a field of the export, not the schedule's
        raise ValidationFailed(exc.message, {f"export.{field}": messages
                                             for field, messages in exc.details.items()}) from exc
    check_campaigns(session, workspace_id, request.campaign_ids)
    return request.fingerprint()


def _set_cadence(schedule: ExportSchedule, cadence: Cadence, now: datetime) -> None:
    schedule.cadence, schedule.time = cadence.type.value, cadence.time
    schedule.weekday = cadence.weekday.value if cadence.weekday else None
    schedule.cron = cadence.expression()
    if schedule.status == ScheduleStatus.ACTIVE:
        schedule.next_run_at = next_slot(schedule.cron, schedule.timezone, now)


def _cadence_of(schedule: ExportSchedule) -> Cadence:
    return Cadence.model_validate({"type": schedule.cadence, "time": schedule.time,
                                   "weekday": schedule.weekday, "cron": schedule.cron
                                   if schedule.cadence == CadenceType.CRON else None})
