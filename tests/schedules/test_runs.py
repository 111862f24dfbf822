"""Beat's tick, ``run_due_schedules``, on the real database (docs/schedules.md): exactly one
export per slot however many ticks run at once, one catch-up run after missed slots, the
export's time range as of its slot, refusals recorded, runs linked to their schedule."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from campaign_analytics.db import Database
from campaign_analytics.exports.requests import EXPORT_KIND
from campaign_analytics.models import ExportSchedule, Job
from campaign_analytics.schedules.runs import TickReport, run_due_schedules
from campaign_analytics.settings import Settings
from tests.conftest import Tenant
from tests.jobs.helpers import RecordingPublisher
from tests.world import World

SCHEDULES = "/export-schedules"
EVERY_MINUTE = {"type": "cron", "cron": "* * * * *"}
TICKS_AT_ONCE = 4


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def create(tenant: Tenant, schedule: dict[str, Any], **export: Any) -> str:
    response = tenant.post(SCHEDULES, json={
        "name": "Tick test", "schedule": schedule, "timezone": "UTC",
        "export": {"export_type": "events", **export}})
    assert response.status_code == 201, response.get_data(as_text=True)
    return str(response.get_json()["data"]["id"])


def set_next_run(db: Database, schedule_id: str, when: datetime) -> None:
    with db.sessions() as session:
        session.execute(update(ExportSchedule).where(ExportSchedule.id == schedule_id)
                        .values(next_run_at=when))
        session.commit()


def stored(db: Database, schedule_id: str) -> ExportSchedule:
    with db.sessions() as session:
        schedule = session.get(ExportSchedule, schedule_id)
        assert schedule is not None
        return schedule


def runs(db: Database, schedule_id: str) -> list[Job]:
    """The schedule's export jobs, oldest first."""
    with db.sessions() as session:
        return list(session.scalars(
            select(Job).where(Job.kind == EXPORT_KIND,
                              Job.params["schedule"]["id"].astext == schedule_id)
            .order_by(Job.created_at)))


def tick(db: Database, settings: Settings, now: datetime) -> TickReport:
    with db.sessions() as session:
        return run_due_schedules(session, RecordingPublisher(), settings, now)


def ticks_at_once(db: Database, settings: Settings, now: datetime) -> list[TickReport]:
    """``TICKS_AT_ONCE`` ticks started together, each on its own connection, as two beats
    (or a tick and its redelivery) would."""
    barrier = threading.Barrier(TICKS_AT_ONCE)
    reports: list[TickReport] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            barrier.wait(timeout=30)
            reports.append(tick(db, settings, now))
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(TICKS_AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return reports


def test_ticks_at_once_make_exactly_one_export_per_slot(
    world: World, db: Database, settings: Settings,
) -> None:
    schedule_id = create(world.tenant, EVERY_MINUTE)
    first = stored(db, schedule_id).next_run_at
    assert first is not None
    for minute in range(3):
        slot = first + timedelta(minutes=minute)
        reports = ticks_at_once(db, settings, slot + timedelta(seconds=20))
        made = [r.runs[schedule_id] for r in reports if schedule_id in r.runs]
        assert len(made) == 1, reports  # one tick ran it; the others found it taken or done
        assert [job.params["schedule"] for job in runs(db, schedule_id)][minute] == {
            "id": schedule_id, "slot": iso(slot)}
    assert len(runs(db, schedule_id)) == 3
    schedule = stored(db, schedule_id)
    assert schedule.next_run_at == first + timedelta(minutes=3)
    assert schedule.last_export_id == runs(db, schedule_id)[-1].id


def test_a_tick_repeated_before_the_schedule_advanced_returns_the_same_export(
    world: World, db: Database, settings: Settings,
) -> None:
    """A tick that died after submitting and before advancing: the next attempt at the same
    slot finds the export by its Idempotency-Key instead of making a second."""
    schedule_id = create(world.tenant, EVERY_MINUTE)
    slot = stored(db, schedule_id).next_run_at
    assert slot is not None
    now = slot + timedelta(seconds=5)
    made = tick(db, settings, now).runs[schedule_id]
    set_next_run(db, schedule_id, slot)  # as if the advance had never committed
    assert tick(db, settings, now + timedelta(seconds=30)).runs[schedule_id] == made
    assert [job.id for job in runs(db, schedule_id)] == [made]


def test_three_missed_slots_make_one_catch_up_run_for_the_latest(
    world: World, db: Database, settings: Settings,
) -> None:
    schedule_id = create(world.tenant, EVERY_MINUTE)
    now = datetime.now(UTC).replace(microsecond=0)
    latest = now.replace(second=0)
    set_next_run(db, schedule_id, latest - timedelta(minutes=3))  # 4 slots due, 3 missed
    report = tick(db, settings, now)
    [run] = runs(db, schedule_id)
    assert report.runs[schedule_id] == run.id
    assert run.params["schedule"]["slot"] == iso(latest)
    schedule = stored(db, schedule_id)
    assert schedule.last_run_at == latest
    assert schedule.next_run_at == latest + timedelta(minutes=1)
    assert schedule.next_run_at is not None and schedule.next_run_at > now
    assert schedule_id not in tick(db, settings, now).runs  # nothing due any more


def test_a_late_catch_up_exports_the_window_it_would_have_had_on_time(
    world: World, db: Database, settings: Settings,
) -> None:
    schedule_id = create(world.tenant, {"type": "daily", "time": "09:00"}, time_range="7d")
    set_next_run(db, schedule_id, utc("2026-11-20T09:00:00Z"))
    # Back on 24 November at 08:00, before that day's 09:00: the run is the 23rd's.
    tick(db, settings, utc("2026-11-24T08:00:00Z"))
    [run] = runs(db, schedule_id)
    assert run.params["schedule"]["slot"] == "2026-11-23T09:00:00Z"
    assert (run.params["start"], run.params["end"]) == (
        "2026-11-17T00:00:00+00:00", "2026-11-24T00:00:00+00:00")
    assert stored(db, schedule_id).next_run_at == utc("2026-11-24T09:00:00Z")


def test_runs_are_listed_newest_first_and_their_status_names_the_schedule(
    world: World, db: Database, settings: Settings,
) -> None:
    tenant = world.tenant
    schedule_id = create(tenant, EVERY_MINUTE)
    first = stored(db, schedule_id).next_run_at
    assert first is not None
    for minute in range(2):
        tick(db, settings, first + timedelta(minutes=minute, seconds=1))
    made = [job.id for job in runs(db, schedule_id)]
    listed = tenant.get(f"{SCHEDULES}/{schedule_id}/runs").get_json()
    assert [run["export_id"] for run in listed["data"]] == made[::-1]
    assert {run["schedule_id"] for run in listed["data"]} == {schedule_id}
    page = tenant.get(f"{SCHEDULES}/{schedule_id}/runs", query_string={"limit": 1}).get_json()
    assert [run["export_id"] for run in page["data"]] == made[-1:] and page["next_cursor"]
    status = tenant.get(f"/analytics/exports/{made[0]}").get_json()["data"]
    assert status["schedule_id"] == schedule_id
    shown = tenant.get(f"{SCHEDULES}/{schedule_id}").get_json()["data"]
    assert shown["last_run"] == {"export_id": made[-1], "status": "queued"}
    assert shown["last_run_at"] == iso(first + timedelta(minutes=1))
    # A single export of the workspace names no schedule; deleting the schedule keeps its runs.
    single = tenant.post("/analytics/export", json={"export_type": "leads"}).get_json()["data"]
    assert tenant.get(f"/analytics/exports/{single['export_id']}").get_json()["data"][
        "schedule_id"] is None
    tenant.client.delete(f"{tenant.prefix}{SCHEDULES}/{schedule_id}", headers=tenant.headers)
    assert tenant.get(f"/analytics/exports/{made[0]}").status_code == 200


def test_a_run_the_export_rules_refuse_is_recorded_and_the_schedule_moves_on(
    world: World, db: Database, settings: Settings,
) -> None:
    tenant = world.tenant
    schedule_id = create(tenant, EVERY_MINUTE, campaign_ids=[world.campaign])
    first = stored(db, schedule_id).next_run_at
    assert first is not None
    tenant.client.delete(f"{tenant.prefix}/campaigns/{world.campaign}", headers=tenant.headers)
    report = tick(db, settings, first + timedelta(seconds=1))
    assert report.refused[schedule_id].startswith("CAMPAIGN_NOT_FOUND")
    assert runs(db, schedule_id) == []
    shown = tenant.get(f"{SCHEDULES}/{schedule_id}").get_json()["data"]
    assert shown["last_error"].startswith("CAMPAIGN_NOT_FOUND")
    assert shown["last_run"] is None
    assert shown["last_run_at"] == iso(first)
    assert shown["next_run_at"] == iso(first + timedelta(minutes=1))


def test_a_paused_schedule_makes_no_run(world: World, db: Database, settings: Settings) -> None:
    schedule_id = create(world.tenant, EVERY_MINUTE)
    first = stored(db, schedule_id).next_run_at
    assert first is not None
    world.tenant.post(f"{SCHEDULES}/{schedule_id}/pause")
    assert schedule_id not in tick(db, settings, first + timedelta(minutes=5)).runs
    assert runs(db, schedule_id) == []
