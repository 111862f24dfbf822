"""``campaign-analytics schedule …``: export schedules, through the same domain functions as
``/export-schedules`` (campaign_analytics/schedules/records.py): same validation, same
records. Beat makes the runs; a worker runs them (`campaign-analytics up`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.orm import Session

from campaign_analytics.models import ExportSchedule
from campaign_analytics.models.schedule import CadenceType
from campaign_analytics.schedules import records
from campaign_analytics.schedules.cadence import Weekday, describe
from campaign_analytics.timestamps import utc_iso

from .database import command_database
from .errors import UsageProblem

EVERY = ["day", *(day.value for day in Weekday)]
RUNS_SHOWN = 5

workspace_option = click.option("--workspace", "workspace_id", required=True,
                                help="Workspace id (ws_...).")
schedule_argument = click.argument("schedule_id")


@click.group()
def schedule() -> None:
    """Export schedules: exports made daily, weekly or on a cron expression, in a timezone.

    The database is DATABASE_URL, else the running dev stack's.
    """


@schedule.command("create")
@workspace_option
@click.option("--name", required=True, help="1-200 characters.")
@click.option("--export", "export_json", required=True,
              help='The export parameters as JSON, as for POST /analytics/export, e.g. '
                   '\'{"export_type": "events", "time_range": "7d"}\'.')
@click.option("--every", type=click.Choice(EVERY),
              help="day (daily) or a weekday (weekly); with --at.")
@click.option("--at", "at_time", help="HH:MM local time, with --every.")
@click.option("--cron", help="Instead of --every/--at: minute hour day-of-month month "
                             "day-of-week.")
@click.option("--timezone", default=None, help="IANA zone.  [default: the workspace's]")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"schedule_id": ..., "next_run_at": ...} as JSON.')
def create(workspace_id: str, name: str, export_json: str, every: str | None,
           at_time: str | None, cron: str | None, timezone: str | None, as_json: bool) -> None:
    """Create a schedule; prints its id, cadence and next run."""
    try:
        fields = records.ScheduleFields.model_validate({
            "name": name, "export": json.loads(export_json), "timezone": timezone,
            "schedule": _cadence(every, at_time, cron)})
    except json.JSONDecodeError as exc:
        raise UsageProblem(f"--export is not JSON: {exc}") from exc
    except ValidationError as exc:
        raise UsageProblem("; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'schedule'}: {error['msg']}"
            for error in exc.errors())) from exc
    with command_database() as db, db.sessions() as session:
        made = records.create_schedule(session, workspace_id, fields)
        if as_json:
            click.echo(json.dumps({"schedule_id": made.id,
                                   "next_run_at": _instant(made.next_run_at)}))
        else:
            click.echo(_line(made))


@schedule.command("list")
@workspace_option
def list_(workspace_id: str) -> None:
    """Every schedule of the workspace, newest first, one a line."""
    with command_database() as db, db.sessions() as session:
        cursor: str | None = None
        while True:
            page = records.list_schedules(session, workspace_id, cursor=cursor)
            for item in page.items:
                click.echo(_line(item))
            if page.next_cursor is None:
                return
            cursor = page.next_cursor


@schedule.command("show")
@workspace_option
@schedule_argument
def show(workspace_id: str, schedule_id: str) -> None:
    """One schedule, its last error and its latest runs."""
    with command_database() as db, db.sessions() as session:
        item = records.get_schedule(session, workspace_id, schedule_id)
        click.echo(_line(item))
        click.echo(f"export: {json.dumps(item.export)}")
        if item.last_error:
            click.echo(f"last error: {item.last_error}")
        runs = records.list_runs(session, workspace_id, schedule_id, limit=RUNS_SHOWN)
        for job in runs.items:
            click.echo(f"run {job.id} {job.status} slot {job.params['schedule']['slot']}")


def _status_command(name: str, change: Callable[[Session, str, str], ExportSchedule],
                    summary: str) -> None:
    """``pause`` and ``resume``: change the status, print the schedule."""

    @schedule.command(name, help=summary)
    @workspace_option
    @schedule_argument
    def command(workspace_id: str, schedule_id: str) -> None:
        with command_database() as db, db.sessions() as session:
            click.echo(_line(change(session, workspace_id, schedule_id)))


_status_command("pause", records.pause_schedule, "No runs until resumed.")
_status_command("resume", records.resume_schedule,
                "Runs again from the next slot (the slots missed while paused are not made).")


@schedule.command("delete")
@workspace_option
@schedule_argument
def delete(workspace_id: str, schedule_id: str) -> None:
    """No more runs; the runs already made stay as exports."""
    with command_database() as db, db.sessions() as session:
        records.delete_schedule(session, workspace_id, schedule_id)
        click.echo(f"{schedule_id} deleted")


def _cadence(every: str | None, at_time: str | None, cron: str | None) -> dict[str, Any]:
    """The API's ``schedule`` object from the options (Cadence validates it)."""
    if cron is not None:
        if every or at_time:
            raise UsageProblem("give either --cron or --every with --at, not both")
        return {"type": CadenceType.CRON.value, "cron": cron}
    if every is None or at_time is None:
        raise UsageProblem("give --every (day or a weekday) with --at HH:MM, or --cron")
    if every == "day":
        return {"type": CadenceType.DAILY.value, "time": at_time}
    return {"type": CadenceType.WEEKLY.value, "weekday": every, "time": at_time}


def _line(item: ExportSchedule) -> str:
    last = f", last run {item.last_export_id}" if item.last_export_id else ""
    return (f"{item.id} {item.status} {item.name!r}: {describe(item.cron)} ({item.timezone}), "
            f"next {_instant(item.next_run_at) or '-'}{last}")


def _instant(value: datetime | None) -> str | None:
    return utc_iso(value) if value else None
