"""The sweeper finds jobs that fell between the cracks, against the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from campaign_analytics.db import Database
from campaign_analytics.jobs import sweeper
from campaign_analytics.models import Job
from campaign_analytics.settings import Settings
from tests.conftest import Tenant
from tests.jobs.helpers import RecordingPublisher, load, set_job, submit


def _sweep(db: Database, settings: Settings, publisher: RecordingPublisher) -> None:
    with db.sessions() as session:
        sweeper.sweep(session, publisher, settings)


def _ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def test_a_job_never_published_is_published(db: Database, settings: Settings,
                                            tenant: Tenant) -> None:
    job_id = submit(db, tenant.id, publisher=RecordingPublisher(fail=True))
    assert load(db, job_id).published_at is None
    set_job(db, job_id, created_at=_ago(5))
    publisher = RecordingPublisher()
    _sweep(db, settings, publisher)
    assert (job_id, "maintenance") in publisher.sent
    assert load(db, job_id).published_at is not None


def test_a_fresh_job_is_left_to_its_own_publish(db: Database, settings: Settings,
                                               tenant: Tenant) -> None:
    job_id = submit(db, tenant.id, publisher=RecordingPublisher(fail=True))
    publisher = RecordingPublisher()
    _sweep(db, settings.model_copy(update={"job_republish_after_seconds": 60}), publisher)
    assert job_id not in {sent for sent, _ in publisher.sent}


def test_a_message_lost_in_the_broker_is_sent_again(db: Database, settings: Settings,
                                                   tenant: Tenant) -> None:
    job_id = submit(db, tenant.id)
    set_job(db, job_id, published_at=_ago(settings.job_redeliver_after_seconds + 1))
    publisher = RecordingPublisher()
    _sweep(db, settings, publisher)
    assert job_id in {sent for sent, _ in publisher.sent}


def test_an_expired_lease_is_requeued_and_republished(db: Database, settings: Settings,
                                                     tenant: Tenant) -> None:
    job_id = submit(db, tenant.id)
    set_job(db, job_id, status="processing", attempts=1, lease_expires_at=_ago(1))
    publisher = RecordingPublisher()
    _sweep(db, settings, publisher)
    job = load(db, job_id)
    assert job.status == "queued" and job.claimed_by is None
    assert job_id in {sent for sent, _ in publisher.sent}


def test_a_live_lease_is_left_alone(db: Database, settings: Settings, tenant: Tenant) -> None:
    job_id = submit(db, tenant.id)
    set_job(db, job_id, status="processing", attempts=1,
            lease_expires_at=datetime.now(UTC) + timedelta(seconds=30))
    _sweep(db, settings, RecordingPublisher())
    assert load(db, job_id).status == "processing"


def test_a_job_that_keeps_dying_is_abandoned(db: Database, settings: Settings,
                                            tenant: Tenant) -> None:
    job_id = submit(db, tenant.id)
    set_job(db, job_id, status="processing", attempts=settings.job_max_attempts,
            lease_expires_at=_ago(1))
    _sweep(db, settings, RecordingPublisher())
    job = load(db, job_id)
    assert (job.status, job.error_code) == ("failed", "JOB_ABANDONED")
    assert job.finished_at is not None


def test_broker_down_leaves_jobs_for_the_next_sweep(db: Database, settings: Settings,
                                                   tenant: Tenant) -> None:
    job_id = submit(db, tenant.id, publisher=RecordingPublisher(fail=True))
    set_job(db, job_id, created_at=_ago(5))
    _sweep(db, settings, RecordingPublisher(fail=True))
    with db.sessions() as session:
        job = session.scalar(select(Job).where(Job.id == job_id))
        assert job is not None and job.status == "queued" and job.published_at is None


def test_an_attempt_alive_at_its_hard_time_limit_fails_instead_of_looping(
        db: Database, settings: Settings, tenant: Tenant) -> None:
    """Celery killed it at TASK_TIME_LIMIT_SECONDS (its lease was still being renewed then):
    running it again would hit the limit again, so it fails now with the reason."""
    limit = settings.task_time_limit_seconds
    killed = submit(db, tenant.id)
    set_job(db, killed, status="processing", attempts=1, claimed_at=_ago(limit + 40),
            lease_expires_at=_ago(5))
    crashed = submit(db, tenant.id)  # died long before the limit: an ordinary retry
    set_job(db, crashed, status="processing", attempts=1, claimed_at=_ago(60),
            lease_expires_at=_ago(5))
    _sweep(db, settings, RecordingPublisher())
    job = load(db, killed)
    assert (job.status, job.error_code) == ("failed", "TIME_LIMIT_EXCEEDED")
    assert str(limit) in (job.error_message or "")
    assert load(db, crashed).status == "queued"


def test_a_broker_restarted_empty_gets_the_jobs_published_before_it_again(
        db: Database, settings: Settings, tenant: Tenant) -> None:
    before = submit(db, tenant.id)  # published a moment ago: normally left alone
    set_job(db, before, published_at=_ago(30))
    after = submit(db, tenant.id)  # published since the restart: still in the broker
    publisher = RecordingPublisher()
    _sweep(db, settings, publisher)
    assert not {before, after} & {sent for sent, _ in publisher.sent}
    with db.sessions() as session:
        sweeper.sweep(session, publisher, settings, lost_before=_ago(10))
    assert {sent for sent, _ in publisher.sent} & {before, after} == {before}
