"""The runner against the real database: claim, fencing, retries, idempotent re-runs."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from campaign_analytics.db import Database
from campaign_analytics.jobs import runner, store
from campaign_analytics.jobs.catalog import KINDS
from campaign_analytics.jobs.context import JobContext
from campaign_analytics.jobs.errors import JobFailure
from campaign_analytics.jobs.kinds import JobKind, Queue
from campaign_analytics.settings import Settings
from tests.conftest import Tenant
from tests.jobs.helpers import load, set_job, submit, wait_until


def test_running_a_job_twice_has_its_effect_once(db: Database, settings: Settings,
                                                tenant: Tenant) -> None:
    job_id = submit(db, tenant.id, steps=2, step_seconds=0)
    first = runner.run(db, settings, job_id, worker="w1")
    finished = load(db, job_id)
    second = runner.run(db, settings, job_id, worker="w2")
    again = load(db, job_id)
    assert (first.status, second.status) == ("completed", "skipped")
    assert again.status == "completed" and again.attempts == 1
    assert again.finished_at == finished.finished_at
    assert again.result == {"steps": 2, "completed_by_attempt": 1}
    assert again.progress == {"done": 2, "total": 2, "percent": 100.0}


def test_a_superseded_attempt_cannot_write(db: Database, settings: Settings,
                                           tenant: Tenant) -> None:
    job_id = submit(db, tenant.id)
    with db.sessions() as session:
        old = store.claim(session, job_id, "w1", lease_seconds=30, max_attempts=5)
        assert old is not None
    set_job(db, job_id, lease_expires_at=None, status="queued")  # the sweeper took it back
    with db.sessions() as session:
        new = store.claim(session, job_id, "w2", lease_seconds=30, max_attempts=5)
        assert new is not None and new.attempt == old.attempt + 1
        assert not store.complete(session, job_id, old.attempt, {"by": "old"})
        assert store.heartbeat(session, job_id, old.attempt, 30) is store.Lease.LOST
        assert store.complete(session, job_id, new.attempt, {"by": "new"})
    assert load(db, job_id).result == {"by": "new"}


def test_claim_is_refused_while_another_attempt_holds_the_lease(
    db: Database, tenant: Tenant
) -> None:
    job_id = submit(db, tenant.id)
    with db.sessions() as session:
        assert store.claim(session, job_id, "w1", lease_seconds=30, max_attempts=5) is not None
        assert store.claim(session, job_id, "w2", lease_seconds=30, max_attempts=5) is None


@pytest.fixture
def flaky_kind(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A kind that fails with a recoverable error on its first two attempts."""
    calls: list[int] = []

    def handler(ctx: JobContext) -> dict[str, Any]:
        calls.append(ctx.attempt)
        if ctx.attempt < 3:
            raise JobFailure("STORAGE_UNAVAILABLE", "storage blinked", recoverable=True)
        return {"ok": True}

    monkeypatch.setitem(KINDS, "flaky", JobKind("flaky", Queue.MAINTENANCE, handler))
    return calls


def test_recoverable_failures_are_retried_with_backoff(
    db: Database, settings: Settings, tenant: Tenant, flaky_kind: list[int]
) -> None:
    job_id = submit(db, tenant.id, kind="flaky")
    outcome = runner.run(db, settings, job_id, worker="w")
    assert outcome.status == "queued" and outcome.retry_in is not None
    retrying = load(db, job_id)
    assert (retrying.status, retrying.error_code) == ("queued", "STORAGE_UNAVAILABLE")
    assert runner.run(db, settings, job_id, worker="w").retry_in is not None
    assert runner.run(db, settings, job_id, worker="w").status == "completed"
    done = load(db, job_id)
    assert (done.status, done.attempts, done.error_code) == ("completed", 3, None)
    assert flaky_kind == [1, 2, 3]


def test_recoverable_failures_stop_at_max_attempts(
    db: Database, settings: Settings, tenant: Tenant, flaky_kind: list[int]
) -> None:
    job_id = submit(db, tenant.id, kind="flaky")
    strict = settings.model_copy(update={"job_max_attempts": 2})
    runner.run(db, strict, job_id, worker="w")
    assert runner.run(db, strict, job_id, worker="w").status == "failed"
    job = load(db, job_id)
    assert (job.status, job.error_code, job.attempts) == ("failed", "STORAGE_UNAVAILABLE", 2)


def test_an_unexpected_error_fails_at_once_without_leaking(
    db: Database, settings: Settings, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    def handler(ctx: JobContext) -> None:
        raise ValueError("password=hunter2 in some internal detail")

    monkeypatch.setitem(KINDS, "broken", JobKind("broken", Queue.MAINTENANCE, handler))
    job_id = submit(db, tenant.id, kind="broken")
    assert runner.run(db, settings, job_id, worker="w").status == "failed"
    job = load(db, job_id)
    assert job.error_code == "INTERNAL_ERROR"
    assert "hunter2" not in (job.error_message or "")
    assert job.finished_at is not None


def test_time_limit_error_fails_the_job(
    db: Database, settings: Settings, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Deadline(Exception):
        pass

    def handler(ctx: JobContext) -> None:
        raise Deadline

    monkeypatch.setitem(KINDS, "slow", JobKind("slow", Queue.MAINTENANCE, handler))
    job_id = submit(db, tenant.id, kind="slow")
    runner.run(db, settings, job_id, worker="w", time_limit_errors=(Deadline,))
    assert load(db, job_id).error_code == "TIME_LIMIT_EXCEEDED"


def test_progress_stops_a_canceled_job(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    job_id = submit(db, tenant.id, steps=50, step_seconds=0.05)
    import threading

    def cancel_soon() -> None:
        set_job(db, job_id, status="canceled")

    timer = threading.Timer(1.0, cancel_soon)
    timer.start()
    outcome = runner.run(db, settings, job_id, worker="w")
    timer.join()
    job = load(db, job_id)
    assert outcome.status == "canceled"
    assert job.status == "canceled" and job.result is None


def test_a_job_out_of_attempts_cannot_be_claimed(db: Database, tenant: Tenant) -> None:
    job_id = submit(db, tenant.id)
    set_job(db, job_id, attempts=3)
    with db.sessions() as session:
        assert store.claim(session, job_id, "w", lease_seconds=30, max_attempts=3) is None
        assert store.claim(session, job_id, "w", lease_seconds=30, max_attempts=4) is not None


def test_a_canceled_job_blocked_in_one_statement_is_interrupted(
    db: Database, settings: Settings, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler stuck in a long statement (an export's count or sort) stops within a
    heartbeat of its cancel, not when the statement would have ended."""
    def sleeper(ctx: JobContext) -> dict[str, Any]:
        raw = ctx.db.engine.raw_connection()
        try:
            ctx.interrupt = raw.driver_connection.cancel  # type: ignore[union-attr]
            raw.driver_connection.execute("SELECT pg_sleep(60)")  # type: ignore[union-attr]
        finally:
            ctx.interrupt = None
            raw.close()
        return {"slept": True}

    monkeypatch.setitem(KINDS, "diagnostic", JobKind("diagnostic", Queue.MAINTENANCE, sleeper))
    job_id = submit(db, tenant.id)
    outcome: list[runner.Outcome] = []
    thread = threading.Thread(
        target=lambda: outcome.append(runner.run(db, settings, job_id, worker="w1")))
    started = time.monotonic()
    thread.start()
    wait_until(lambda: load(db, job_id).status == "processing", 10, "the job to start")
    set_job(db, job_id, status="canceled")
    thread.join(timeout=30)
    assert not thread.is_alive(), "the statement was not interrupted"
    assert time.monotonic() - started < 2 * settings.job_lease_seconds + 5
    after = load(db, job_id)
    assert after.status == "canceled" and after.result is None
    assert outcome and outcome[0].status == "canceled"


def test_a_hand_back_stops_the_attempt_and_requeues_the_job_unspent(
    db: Database, settings: Settings, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker shutting down asks for its jobs back: the handler stops at its next progress
    report (or, blocked in a statement, through the interrupt), the job is ``queued`` with
    the attempt refunded, and the task is told to publish it again at once."""
    def slow(ctx: JobContext) -> dict[str, Any]:
        for step in range(200):
            time.sleep(0.05)
            ctx.report_progress(force=True, done=step)
        return {"finished": True}

    monkeypatch.setitem(KINDS, "diagnostic", JobKind("diagnostic", Queue.MAINTENANCE, slow))
    job_id = submit(db, tenant.id)
    outcome: list[runner.Outcome] = []
    thread = threading.Thread(
        target=lambda: outcome.append(runner.run(db, settings, job_id, worker="leaving@h")))
    thread.start()
    wait_until(lambda: (load(db, job_id).progress or {}).get("done", 0) >= 2, 10, "progress")
    with db.sessions() as session:
        assert store.request_hand_back(session, "someone-else@h") == []
        assert store.request_hand_back(session, "leaving@h") == [job_id]
    thread.join(timeout=10)
    assert outcome and (outcome[0].status, outcome[0].retry_in) == ("handed_back", 0.0)
    job = load(db, job_id)
    assert (job.status, job.attempts, job.result) == ("queued", 0, None)
    assert job.claimed_by is None and job.release_requested_at is None
    with db.sessions() as session:
        taken = store.claim(session, job_id, "w2", 30, settings.job_max_attempts)
    assert taken is not None and taken.attempt == 1  # the next worker's, as the first
