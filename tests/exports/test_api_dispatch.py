"""The per-workspace cap (SPEC §8: at most 3 exports processing at once per workspace, the
others wait queued) as the dispatcher, the sweeper and DELETE apply it, against the real
database with a recording publisher. tests/exports/test_api_workers.py proves it with
real workers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from campaign_analytics.db import Database
from campaign_analytics.exports import dispatch, retention
from campaign_analytics.exports.requests import ExportRequest, submit_export
from campaign_analytics.exports.spec import ExportFormat
from campaign_analytics.exports.storage import LocalStorage
from campaign_analytics.jobs import store, sweeper
from campaign_analytics.models import Job
from campaign_analytics.settings import Settings
from tests.conftest import Tenant
from tests.jobs.helpers import RecordingPublisher, load, set_job


def request(db: Database, settings: Settings, workspace_id: str,
            publisher: RecordingPublisher, key: str | None = None) -> str:
    with db.sessions() as session:
        job = submit_export(session, publisher, settings, workspace_id,
                            ExportRequest(export_type="events"), key)
        return job.id


def published(db: Database, ids: list[str]) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(select(Job.id).where(
            Job.id.in_(ids), Job.published_at.is_not(None)).order_by(Job.created_at, Job.id)))


def finish(db: Database, job_id: str) -> None:
    with db.sessions() as session:
        claimed = store.claim(session, job_id, "w", 30, 5)
        assert claimed is not None
        assert store.complete(session, job_id, claimed.attempt, {})


def test_a_workspace_gets_three_slots_and_another_is_not_delayed(
    db: Database, settings: Settings, make_tenant: Any
) -> None:
    busy, quiet = make_tenant("Busy"), make_tenant("Quiet")
    publisher = RecordingPublisher()
    mine = [request(db, settings, busy.id, publisher) for _ in range(5)]
    theirs = request(db, settings, quiet.id, publisher)
    assert published(db, mine) == mine[:3]
    assert [job_id for job_id, _ in publisher.sent] == [*mine[:3], theirs]
    assert {queue for _, queue in publisher.sent} == {"exports"}
    assert load(db, mine[3]).status == "queued"

    finish(db, mine[0])
    with db.sessions() as session:
        dispatch.after_run(session, publisher, settings, mine[0])
    assert published(db, mine) == mine[:4]  # the oldest waiting one, and only it


def test_the_sweeper_respects_the_cap(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    publisher = RecordingPublisher()
    ids = [request(db, settings, tenant.id, publisher) for _ in range(5)]
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    for job_id in ids:
        set_job(db, job_id, created_at=long_ago)
    with db.sessions() as session:
        sweeper.sweep(session, publisher, settings)
    assert published(db, ids) == ids[:3]

    # A worker died holding one: handed back, it waits its turn again (it is the oldest).
    with db.sessions() as session:
        assert store.claim(session, ids[0], "dead", 30, 5) is not None
    set_job(db, ids[0], lease_expires_at=long_ago)
    with db.sessions() as session:
        sweeper.sweep(session, publisher, settings)
    assert load(db, ids[0]).status == "queued"
    assert published(db, ids) == ids[:3]

    finish(db, ids[1])
    with db.sessions() as session:
        sweeper.sweep(session, publisher, settings)
    assert published(db, ids) == ids[:4]


def test_a_broker_outage_leaves_exports_waiting_for_the_sweeper(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    down = RecordingPublisher(fail=True)
    ids = [request(db, settings, tenant.id, down) for _ in range(2)]
    assert published(db, ids) == []
    up = RecordingPublisher()
    with db.sessions() as session:
        sweeper.sweep(session, up, settings)
    assert published(db, ids) == ids


def test_canceling_frees_the_slot(
    db: Database, settings: Settings, tenant: Tenant, tmp_path: Any
) -> None:
    publisher = RecordingPublisher()
    ids = [request(db, settings, tenant.id, publisher) for _ in range(4)]
    with db.sessions() as session:
        job = retention.delete_export(session, LocalStorage(tmp_path), publisher, settings,
                                      tenant.id, ids[1])
    assert job.status == "canceled"
    assert published(db, ids) == [ids[0], ids[1], ids[2], ids[3]]
    assert ids[3] in [job_id for job_id, _ in publisher.sent]


def test_concurrent_dispatchers_never_exceed_the_cap(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    down = RecordingPublisher(fail=True)
    ids = [request(db, settings, tenant.id, down) for _ in range(8)]
    with db.sessions() as session:  # all waiting, none published
        session.execute(update(Job).where(Job.id.in_(ids)).values(published_at=None))
        session.commit()
    publisher = RecordingPublisher()
    start = threading.Barrier(6)

    def race() -> None:
        start.wait()
        with db.sessions() as session:
            dispatch.dispatch(session, publisher, settings, tenant.id)

    threads = [threading.Thread(target=race) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(publisher.sent) == 3
    assert published(db, ids) == ids[:3]


def test_the_estimate_uses_measured_throughput_of_the_same_format(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    from campaign_analytics.exports import requests

    with db.sessions() as session:
        default = requests.rows_per_second(session, ExportFormat.CSV)
        xlsx_default = requests.rows_per_second(session, ExportFormat.XLSX)
    assert default > xlsx_default > 0  # openpyxl is far slower than COPY
    export_id = request(db, settings, tenant.id, RecordingPublisher())  # a csv export
    now = datetime.now(UTC)
    set_job(db, export_id, status="completed", row_count=10_000_000,
            started_at=now - timedelta(seconds=1000), finished_at=now)
    with db.sessions() as session:
        measured = requests.rows_per_second(session, ExportFormat.CSV)
        xlsx = requests.rows_per_second(session, ExportFormat.XLSX)
    assert measured < default  # 10,000 rows/s measured, among the recent ones
    assert xlsx == xlsx_default  # a csv export says nothing about xlsx


def test_the_row_estimate_is_the_planners(
    db: Database, settings: Settings, world: Any
) -> None:
    """No count inside the request: the estimate comes from EXPLAIN of the export's query."""
    lead = world.lead()
    world.post([world.sent("big-1", lead), world.event("opened", "big-1", 1),
                world.event("clicked", "big-1", 2)])
    with db.sessions() as session:
        job = submit_export(session, RecordingPublisher(), settings, world.tenant.id,
                            ExportRequest(export_type="events", time_range="90d"))
    assert job.params["estimate"]["rows"] >= 1  # the planner never estimates zero rows
    assert datetime.fromisoformat(job.params["estimate"]["completion"]) > job.created_at
