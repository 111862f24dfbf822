"""Refresh as a job on real worker processes: numbers move, requests coalesce, incremental
equals full, concurrent runs agree, reclassifications follow, beat asks once per workspace."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text, update

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.analytics.scheduling import ScheduleReport, schedule_refreshes
from campaign_analytics.db import Database
from campaign_analytics.jobs import outbox, runner
from campaign_analytics.models import Job
from campaign_analytics.settings import Settings
from tests.analytics.rollup_rows import full_rebuild, rollups
from tests.conftest import Tenant
from tests.jobs.helpers import RecordingPublisher, load, set_job, wait_until
from tests.world import World, count, next_id

pytestmark = pytest.mark.slow

JOB_TIMEOUT = 60
FINISHED = ("completed", "failed", "canceled")
def request(tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = tenant.post("/analytics/refresh", json=body)
    assert response.status_code == 202, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


def job(tenant: Tenant, job_id: str) -> dict[str, Any]:
    return dict(tenant.get(f"/jobs/{job_id}").get_json()["data"])


def finish(tenant: Tenant, job_id: str) -> dict[str, Any]:
    wait_until(lambda: job(tenant, job_id)["status"] in FINISHED, JOB_TIMEOUT, job_id)
    done = job(tenant, job_id)
    assert done["status"] == "completed", done
    return done


def new_events(done: dict[str, Any]) -> int:
    """The job result's count of events past the previous watermark."""
    result = done["result"]
    return int(result["new_events"])


def refreshed(tenant: Tenant, **body: Any) -> dict[str, Any]:
    return finish(tenant, request(tenant, **body)["job_id"])


def analytics(world: World) -> dict[str, Any]:
    response = world.tenant.get(f"/campaigns/{world.campaign}/analytics",
                                query_string={"timeRange": "90d"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


@pytest.fixture
def worker(process_env: dict[str, str], celery_processes: Any) -> Any:
    return celery_processes("worker", process_env)


class RefreshLock:
    """The workspace's refresh lock, held by the test so refresh jobs stay ``processing``."""

    def __init__(self, db: Database, workspace_id: str) -> None:
        self.conn = db.engine.connect()
        self.params = {"ws": workspace_id}

    def _call(self, function: str) -> None:
        self.conn.execute(text(f"SELECT {function}(hashtext('refresh:' || :ws))"), self.params)
        self.conn.commit()

    def hold(self) -> None:
        self._call("pg_advisory_lock")

    def release(self) -> None:
        self._call("pg_advisory_unlock")


@pytest.fixture
def refresh_lock(db: Database, tenant: Tenant) -> Iterator[RefreshLock]:
    lock = RefreshLock(db, tenant.id)
    yield lock
    lock.conn.close()  # ends the session: the lock goes if the test still held it


def test_a_refresh_job_moves_the_numbers_and_as_of(world: World, worker: Any) -> None:
    lead = world.lead()
    world.post([world.sent("rj-1", lead, 0), world.event("opened", "rj-1", 5)])
    before = analytics(world)
    assert before["summary"]["emails_sent"] == 0

    created = request(world.tenant)
    assert (created["status"], created["mode"], created["scope"]) == (
        "queued", "incremental", {"workspace": True})
    done = finish(world.tenant, created["job_id"])
    assert new_events(done) == 2
    first = analytics(world)
    assert (first["summary"]["emails_sent"], first["summary"]["emails_opened"]) == (1, 1)
    assert first["as_of"] is not None

    world.post([world.sent("rj-2", lead, 30), world.event("clicked", "rj-2", 40)])
    assert analytics(world)["summary"]["emails_sent"] == 1  # not before the next refresh
    refreshed(world.tenant)
    second = analytics(world)
    assert (second["summary"]["emails_sent"], second["summary"]["emails_clicked"]) == (2, 1)
    assert datetime.fromisoformat(second["as_of"]) > datetime.fromisoformat(first["as_of"])


def test_requests_join_a_queued_refresh_never_a_running_one(
    world: World, db: Database, refresh_lock: RefreshLock, worker: Any,
) -> None:
    world.post([world.sent("rc-1", world.lead())])
    refresh_lock.hold()
    first = request(world.tenant)["job_id"]  # runs, then waits for the lock we hold
    wait_until(lambda: load(db, first).status == "processing", JOB_TIMEOUT, "first running")
    second = request(world.tenant)["job_id"]
    assert second != first  # running: it may have read its watermark already
    assert request(world.tenant)["job_id"] == second  # queued: joined
    full = request(world.tenant, mode="full")["job_id"]
    assert full not in (first, second)  # another mode is another request
    assert request(world.tenant, mode="full")["job_id"] == full

    refresh_lock.release()
    for job_id in (first, second, full):
        finish(world.tenant, job_id)
    assert analytics(world)["summary"]["emails_sent"] == 1


def test_incremental_refreshes_equal_a_full_rebuild(
    world: World, db: Database, worker: Any
) -> None:
    leads = [world.lead() for _ in range(3)]
    world.post([
        world.sent("ri-1", leads[0], 0), world.event("delivered", "ri-1", 1),
        world.event("opened", "ri-1", 50),
        world.sent("ri-2", leads[1], 10),
        world.event("bounced", "ri-2", 11, bounce_type="hard", reason="mailbox full"),
    ])
    refreshed(world.tenant)
    world.post([
        world.event("opened", "ri-1", 20),  # late, and earlier than its first open
        world.event("opened", "ri-1", 60 * 30),  # a late open days later
        world.event("clicked", "ri-1", 60 * 30 + 1),
        world.event("opened", "ri-3", 70),  # before its message's sent arrives
        world.event("failed", "ri-4", 71, lead_id=leads[2], account_id=world.account,
                    recipient="ri-4@yahoo.com"),
        world.event("bounced", "ri-2", 80, bounce_type="soft", reason="try later"),
        world.event("replied", "ri-1", 90, body="Sounds great, tell me more!"),
    ])
    refreshed(world.tenant)
    world.post([world.sent("ri-3", leads[2], 65), world.event("opened", "ri-3", 100),
                world.event("spam_complaint", "ri-2", 120)])
    refreshed(world.tenant)

    incremental = rollups(db, world.tenant.id)
    assert incremental["campaign"] and incremental["delivery"] and incremental["reasons"]
    assert incremental == full_rebuild(db, world.tenant.id)
    summary = analytics(world)["summary"]
    assert (summary["emails_sent"], summary["emails_opened"], summary["total_opens"],
            summary["emails_failed"]) == (3, 2, 5, 1)


def test_two_refreshes_at_once_leave_the_rollups_of_one(
    app: Flask, world: World, db: Database, refresh_lock: RefreshLock,
    process_env: dict[str, str],
    celery_processes: Any,
) -> None:
    lead = world.lead()
    world.post([world.sent(f"rt-{n}", lead, n) for n in range(20)])
    refresh(db, world.tenant.id, RefreshMode.INCREMENTAL)
    world.post([world.event("opened", f"rt-{n}", 30 + n) for n in range(0, 20, 2)]
               + [world.sent(f"rt-{n}", lead, 40 + n) for n in range(20, 30)])
    # Two jobs of the same request (coalescing bypassed) on two workers and a refresh in
    # this process: all three start while we hold the lock, then run as soon as we let go.
    refresh_lock.hold()
    jobs = []
    for _ in range(2):
        with db.sessions() as session:
            jobs.append(outbox.submit(
                session, app.extensions["job_publisher"], kind="refresh",
                workspace_id=world.tenant.id,
                params={"mode": "incremental", "campaign_ids": []}).id)
    celery_processes("worker", process_env)
    celery_processes("worker", process_env)
    local = threading.Thread(target=refresh, args=(db, world.tenant.id, RefreshMode.INCREMENTAL))
    local.start()
    wait_until(lambda: all(load(db, job_id).status == "processing" for job_id in jobs),
               JOB_TIMEOUT, "both jobs running")
    refresh_lock.release()
    local.join(JOB_TIMEOUT)
    for job_id in jobs:
        finish(world.tenant, job_id)
    together = rollups(db, world.tenant.id)
    assert together == full_rebuild(db, world.tenant.id)
    assert count(db, "SELECT sum(sent) FROM rollup_campaign_buckets WHERE workspace_id = :w",
                 w=world.tenant.id) == 30


def test_a_reclassified_reply_moves_on_the_next_incremental_refresh(
    world: World, db: Database, worker: Any
) -> None:
    lead = world.lead()
    world.post([world.sent("rr-1", lead),
                world.event("replied", "rr-1", 9, body="Not interested, thanks.")])
    refreshed(world.tenant)
    assert analytics(world)["replies_by_classification"]["not_interested"] == 1
    reply_id = world.tenant.get(f"/campaigns/{world.campaign}/replies").get_json()["data"][0]["id"]
    patched = world.tenant.client.patch(
        f"{world.tenant.prefix}/replies/{reply_id}", headers=world.tenant.headers,
        json={"classification": "interested"})
    assert patched.status_code == 200
    assert analytics(world)["replies_by_classification"]["not_interested"] == 1

    done = refreshed(world.tenant)
    assert new_events(done) == 0
    classes = analytics(world)["replies_by_classification"]
    assert (classes["interested"], classes["not_interested"]) == (1, 0)
    assert rollups(db, world.tenant.id) == full_rebuild(db, world.tenant.id)


@pytest.fixture
def cancel_afterwards(db: Database) -> Iterator[list[str]]:
    """Jobs a test requested with a publisher that sends nothing: canceled at the end, so
    no other test's worker or sweeper picks them up."""
    job_ids: list[str] = []
    yield job_ids
    with db.sessions() as session:
        session.execute(update(Job).where(Job.id.in_(job_ids),
                                          Job.status.in_(["queued", "processing"]))
                        .values(status="canceled"))
        session.commit()


def test_a_beat_tick_asks_once_per_workspace(
    db: Database, make_tenant: Any, cancel_afterwards: list[str]
) -> None:
    worlds = []
    for name in ("A", "B"):
        tenant = make_tenant(name)
        campaign = tenant.post("/campaigns", json={"name": name}).get_json()["data"]["id"]
        account = tenant.post("/accounts", json={"email": f"beat-{name}-{next_id()}@s.io"})
        world = World(tenant, campaign, account.get_json()["data"]["id"])
        world.post([world.sent(f"rb-{name}", world.lead())])
        worlds.append(world)
    ours = {world.tenant.id for world in worlds}
    idle_ws, busy_ws = (world.tenant.id for world in worlds)
    publisher = RecordingPublisher()

    def tick(mode: RefreshMode) -> ScheduleReport:
        with db.sessions() as session:
            report = schedule_refreshes(session, publisher, mode)
        cancel_afterwards.extend(report.jobs.values())
        return report

    first = tick(RefreshMode.INCREMENTAL)
    mine = {ws: job_id for ws, job_id in first.jobs.items() if ws in ours}
    assert set(mine) == ours and len(set(mine.values())) == 2
    assert all(load(db, job_id).params == {"mode": "incremental", "campaign_ids": []}
               for job_id in mine.values())
    assert {job_id for job_id, _ in publisher.sent} >= set(mine.values())
    again = tick(RefreshMode.INCREMENTAL)
    assert {ws: again.jobs[ws] for ws in ours} == mine  # still queued: joined

    # Up to date and nothing new: an incremental tick leaves the workspace alone.
    refresh(db, idle_ws, RefreshMode.INCREMENTAL)
    idle = tick(RefreshMode.INCREMENTAL)
    assert idle_ws in idle.skipped
    assert idle.jobs[busy_ws] == mine[busy_ws]

    # A second full tick (a second beat) finds tonight's full refresh requested, even
    # once it has started, and asks for nothing more.
    nightly = tick(RefreshMode.FULL)
    assert ours <= set(nightly.jobs)
    set_job(db, nightly.jobs[idle_ws], status="processing")
    second_beat = tick(RefreshMode.FULL)
    assert ours <= set(second_beat.skipped)


def test_beat_refreshes_a_workspace_nobody_asked_for(
    world: World, db: Database, process_env: dict[str, str], celery_processes: Any
) -> None:
    world.post([world.sent("rbeat-1", world.lead())])
    env = {**process_env, "REFRESH_INCREMENTAL_SECONDS": "1"}
    worker = celery_processes("worker", env)
    beat = celery_processes("beat", env)
    try:
        wait_until(lambda: analytics(world)["summary"]["emails_sent"] == 1, JOB_TIMEOUT)
    except AssertionError:
        print(beat.log(), worker.log(), sep="\n---\n")
        raise
    assert "Sending due task refresh-incremental" in beat.log()
    assert count(db, "SELECT count(*) FROM jobs WHERE workspace_id = :w AND kind = 'refresh'",
                 w=world.tenant.id) >= 1


def test_a_purge_removes_the_rollups_after_a_running_refresh(
    world: World, db: Database, settings: Settings, refresh_lock: RefreshLock
) -> None:
    """A running refresh holds the purge back before it deletes an event (the refresh could
    store the event's verdict again after its deletion took the old one) or the campaign
    row; then everything of the campaign goes."""
    world.post([world.sent("rp-1", world.lead()), world.event("opened", "rp-1", 4)])
    refresh(db, world.tenant.id, RefreshMode.FULL)
    rows = "SELECT count(*) FROM {table} WHERE campaign_id = :c"
    tables = ("rollup_campaign_buckets", "rollup_delivery_buckets")
    assert all(count(db, rows.format(table=table), c=world.campaign) for table in tables)
    deleted = world.tenant.client.delete(f"{world.tenant.prefix}/campaigns/{world.campaign}",
                                         headers=world.tenant.headers)
    job_id = deleted.get_json()["data"]["purge_job_id"]

    refresh_lock.hold()  # a refresh is running: the events wait for it, and so the rest
    purge = threading.Thread(target=runner.run, args=(db, settings, job_id),
                             kwargs={"worker": "test"})
    purge.start()
    wait_until(lambda: load(db, job_id).status == "processing", JOB_TIMEOUT,
               "purge processing")
    purge.join(1)
    assert purge.is_alive()
    assert count(db, "SELECT count(*) FROM email_events WHERE campaign_id = :c",
                 c=world.campaign) == 2
    assert count(db, "SELECT count(*) FROM campaigns WHERE id = :c", c=world.campaign) == 1
    refresh_lock.release()
    purge.join(JOB_TIMEOUT)
    assert load(db, job_id).status == "completed"
    assert count(db, "SELECT count(*) FROM campaigns WHERE id = :c", c=world.campaign) == 0
    assert rollups(db, world.tenant.id) == {"campaign": [], "delivery": [], "reasons": [],
                                            "leads": []}
