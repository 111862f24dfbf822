"""Export schedules: create, list, read, change, pause, resume, delete, and their runs
(SPEC §10; docs/schedules.md). Views are glue: the rules live in
campaign_analytics/schedules/. Every call counts against the ``default`` budget, as the
other writes do; a run itself is made by beat, not by a request.
"""

from __future__ import annotations

from flask import Response

from campaign_analytics.models import ExportSchedule
from campaign_analytics.schedules import records

from ..auth import workspace_blueprint
from ..database import db_session
from ..openapi import operation
from ..responses import ok
from ..schemas.common import Deleted, PageQuery
from ..schemas.export_schedules import ScheduleChanges, ScheduleFields, ScheduleOut
from ..schemas.exports import ExportOut
from .exports import export_out

bp = workspace_blueprint("export_schedules", __name__)

TAGS = ("export schedules",)
NOT_FOUND = "An unknown or other workspace's schedule id is 404 `SCHEDULE_NOT_FOUND`."


def _ok(schedule: ExportSchedule, status: int = 200) -> Response:
    statuses = records.run_statuses(db_session(), [schedule])
    return ok(ScheduleOut.of(schedule, statuses.get(schedule.last_export_id or "")),
              status=status)


@bp.post("/export-schedules")
@operation(
    "Create an export schedule", response=ScheduleOut, body=ScheduleFields, status=201,
    tags=TAGS,
    description=(
        "`export` takes the parameters of `POST /analytics/export`; `schedule` is "
        "`{\"type\": \"daily\", \"time\": \"HH:MM\"}`, `{\"type\": \"weekly\", \"weekday\": "
        "\"monday\", \"time\": \"HH:MM\"}` or `{\"type\": \"cron\", \"cron\": \"*/15 * * * *\"}` "
        "(minute hour day-of-month month day-of-week), in `timezone` (default the "
        "workspace's). Beat makes each run once, as an ordinary export whose `schedule_id` "
        "names this schedule; after downtime a schedule makes one catch-up run, not one per "
        "missed slot. Relative time ranges (`7d`) are resolved as of each run's slot.\n\n"
        "Errors: `VALIDATION_ERROR` (cadence, timezone or export parameters, with per-field "
        "details), `INVALID_TIME_RANGE`, `CAMPAIGN_NOT_FOUND`."
    ),
)
def create(workspace_id: str, body: ScheduleFields) -> Response:
    return _ok(records.create_schedule(db_session(), workspace_id, body), status=201)


@bp.get("/export-schedules")
@operation("List export schedules, newest first", response=ScheduleOut, query=PageQuery,
           tags=TAGS, paginated=True)
def index(workspace_id: str, query: PageQuery) -> Response:
    session = db_session()
    page = records.list_schedules(session, workspace_id, limit=query.limit, cursor=query.cursor)
    statuses = records.run_statuses(session, page.items)
    return ok([ScheduleOut.of(schedule, statuses.get(schedule.last_export_id or ""))
               for schedule in page.items], next_cursor=page.next_cursor)


@bp.get("/export-schedules/<schedule_id>")
@operation("One export schedule, with its next and last run", response=ScheduleOut,
           tags=TAGS, description=NOT_FOUND)
def show(workspace_id: str, schedule_id: str) -> Response:
    return _ok(records.get_schedule(db_session(), workspace_id, schedule_id))


@bp.patch("/export-schedules/<schedule_id>")
@operation(
    "Change an export schedule's name, export parameters, cadence or timezone",
    response=ScheduleOut, body=ScheduleChanges, tags=TAGS,
    description="Only the fields present change. A new `schedule` or `timezone` moves "
                "`next_run_at` to its first slot from now. " + NOT_FOUND,
)
def change(workspace_id: str, schedule_id: str, body: ScheduleChanges) -> Response:
    return _ok(records.update_schedule(db_session(), workspace_id, schedule_id, body))


@bp.delete("/export-schedules/<schedule_id>")
@operation(
    "Delete an export schedule", response=Deleted, tags=TAGS,
    description="No more runs. The runs already made stay, as ordinary exports. " + NOT_FOUND,
)
def destroy(workspace_id: str, schedule_id: str) -> Response:
    records.delete_schedule(db_session(), workspace_id, schedule_id)
    return ok(Deleted(id=schedule_id, deleted=True))


@bp.post("/export-schedules/<schedule_id>/pause")
@operation("Pause an export schedule: no runs until resumed", response=ScheduleOut,
           tags=TAGS, description="`next_run_at` becomes null. Pausing a paused schedule "
                                  "changes nothing. " + NOT_FOUND)
def pause(workspace_id: str, schedule_id: str) -> Response:
    return _ok(records.pause_schedule(db_session(), workspace_id, schedule_id))


@bp.post("/export-schedules/<schedule_id>/resume")
@operation(
    "Resume a paused export schedule", response=ScheduleOut, tags=TAGS,
    description="Runs again from the first slot after now: the slots missed while paused "
                "are not made. Resuming an active schedule changes nothing. " + NOT_FOUND,
)
def resume(workspace_id: str, schedule_id: str) -> Response:
    return _ok(records.resume_schedule(db_session(), workspace_id, schedule_id))


@bp.get("/export-schedules/<schedule_id>/runs")
@operation(
    "The exports a schedule made, newest first", response=ExportOut, query=PageQuery,
    tags=TAGS, paginated=True,
    description="Each in the shape of `GET /analytics/exports/{export_id}`. " + NOT_FOUND,
)
def runs(workspace_id: str, schedule_id: str, query: PageQuery) -> Response:
    page = records.list_runs(db_session(), workspace_id, schedule_id, limit=query.limit,
                             cursor=query.cursor)
    return ok([export_out(job) for job in page.items], next_cursor=page.next_cursor)
