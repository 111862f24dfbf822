"""Beat's tick: every due schedule makes its run, exactly once (docs/schedules.md).

For each active schedule whose ``next_run_at`` has come, taken ``FOR UPDATE SKIP LOCKED``
so two ticks at once (two beats, or a redelivered tick) never work on the same one:

1. the run's slot is the **latest** slot due: a schedule that missed several (the system
   was down) makes one catch-up run, not one per missed slot;
2. the export is submitted with the Idempotency-Key ``schedule:{id}:{slot}`` and
   ``now=slot``: its time range is the one it would have had on time, and a second
   attempt at the same slot (a tick that died after submitting, before advancing) returns
   the same export instead of making another;
3. ``next_run_at`` moves to the first slot after now, with ``last_run_at`` (the slot),
   ``last_export_id`` and ``last_error``.

The row lock is held by ``session`` from the scan to step 3; the export is submitted in a
session of its own, because ``submit_export`` commits (the outbox) and a commit in
``session`` would release the lock halfway.

A run the export rules refuse (its campaign was deleted, a stored request no longer valid)
records the refusal in ``last_error``, without an export, and the schedule still advances:
it does not retry a refusal every tick, and the API shows why the run is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DomainError
from ..exports.requests import submit_export
from ..jobs import outbox
from ..models import ExportSchedule
from ..models.schedule import ScheduleStatus
from ..settings import Settings
from ..timestamps import utc_iso
from .cadence import latest_slot, next_slot
from .records import export_request

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickReport:
    runs: dict[str, str] = field(default_factory=dict)  # schedule id -> export id
    refused: dict[str, str] = field(default_factory=dict)  # schedule id -> why

    def as_dict(self) -> dict[str, int]:
        return {"runs": len(self.runs), "refused": len(self.refused)}


# Idempotency-Keys with this prefix are the schedules' own: the API refuses them from clients.
SLOT_KEY_PREFIX = "schedule:"


def slot_key(schedule_id: str, slot: datetime) -> str:
    """The Idempotency-Key of a schedule's run at ``slot``."""
    return f"{SLOT_KEY_PREFIX}{schedule_id}:{utc_iso(slot)}"


def run_due_schedules(
    session: Session, publisher: outbox.Publisher, settings: Settings,
    now: datetime | None = None,
) -> TickReport:
    """Make the run of every due schedule; see the module's docstring."""
    now = now or datetime.now(UTC)
    report = TickReport()
    while (schedule := _next_due(session, now)) is not None:
        _run(session, publisher, settings, schedule, now, report)
        session.commit()  # releases the row; it is no longer due
    session.commit()
    if report.runs or report.refused:
        log.info("export schedules: %d runs made, %d refused", len(report.runs),
                 len(report.refused))
    return report


def _next_due(session: Session, now: datetime) -> ExportSchedule | None:
    return session.scalar(
        select(ExportSchedule)
        .where(ExportSchedule.status == ScheduleStatus.ACTIVE.value,
               ExportSchedule.next_run_at <= now)
        .order_by(ExportSchedule.next_run_at, ExportSchedule.id)
        .limit(1)
        .with_for_update(skip_locked=True))


def _run(
    session: Session, publisher: outbox.Publisher, settings: Settings,
    schedule: ExportSchedule, now: datetime, report: TickReport,
) -> None:
    assert schedule.next_run_at is not None  # due, so active and set
    slot = latest_slot(schedule.cron, schedule.timezone, schedule.next_run_at, now)
    schedule.last_run_at = slot
    try:
        with Session(bind=session.get_bind(), expire_on_commit=False) as submitting:
            job = submit_export(
                submitting, publisher, settings, schedule.workspace_id,
                export_request(schedule), slot_key(schedule.id, slot), now=slot,
                schedule={"id": schedule.id, "slot": utc_iso(slot)})
    except (DomainError, ValidationError) as exc:
        why = f"{exc.code}: {exc.message}" if isinstance(exc, DomainError) else (
            f"VALIDATION_ERROR: the stored export parameters are no longer valid: {exc}")
        log.warning("export schedule %s: the run of %s was refused: %s", schedule.id,
                    utc_iso(slot), why)
        schedule.last_export_id, schedule.last_error = None, why
        report.refused[schedule.id] = why
    else:
        schedule.last_export_id, schedule.last_error = job.id, None
        report.runs[schedule.id] = job.id
    schedule.next_run_at = next_slot(schedule.cron, schedule.timezone, now)
