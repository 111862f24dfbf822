"""A job that runs past its time limits ends ``failed`` with the reason, never stuck in
``processing`` and never retried into the same wall."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from flask import Flask

from campaign_analytics.db import Database
from campaign_analytics.jobs import outbox
from campaign_analytics.jobs.catalog import KINDS
from campaign_analytics.jobs.kinds import Queue
from campaign_analytics.settings import Settings
from tests.conftest import Tenant
from tests.faults.stubborn import STUBBORN
from tests.jobs.helpers import load, wait_until

pytestmark = pytest.mark.slow

LIMITS = {"TASK_SOFT_TIME_LIMIT_SECONDS": "2", "TASK_TIME_LIMIT_SECONDS": "4",
          "JOB_LEASE_SECONDS": "2"}


@pytest.fixture
def publishing_app(settings: Settings) -> Flask:
    """An app whose Celery knows its tasks, as a worker's always does (its sweeper and
    export dispatch republish jobs) and the API's does once anything in its process has
    imported the task modules. Celery 5.7's send_task() then puts the publisher's own
    limits (the defaults here: 3300 s / 3600 s) in the message, where they would override
    the worker's LIMITS. Publishing through it makes these tests independent of which test
    files ran before them in this process (tests/test_task_names.py loads the tasks)."""
    from webapi import create_app

    app = create_app(settings)
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()
    assert "jobs.run" in celery.tasks
    return app


def long_job(tenant: Tenant) -> str:
    response = tenant.post("/jobs/diagnostics", json={"steps": 60, "step_seconds": 0.5})
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["data"]["job_id"])


def wait_failed(db: Database, job_id: str, worker: Any) -> Any:
    try:
        wait_until(lambda: load(db, job_id).status not in ("queued", "processing"), 60)
    except AssertionError as exc:
        # Status and log as they are now: a message built before waiting would show the
        # job still queued and the worker's log ending at "received".
        raise AssertionError(f"{exc}: the job is still {load(db, job_id).status}:\n"
                             f"{worker.log()[-4000:]}") from None
    return load(db, job_id)


def test_a_job_message_leaves_the_time_limits_to_the_worker(
    publishing_app: Flask, redis_url: str, quiet_queues: None
) -> None:
    publishing_app.extensions["job_publisher"]("job_limits_probe", Queue.MAINTENANCE.value)
    client = redis.Redis.from_url(redis_url)
    try:
        messages = [json.loads(raw) for raw in client.lrange(Queue.MAINTENANCE.value, 0, -1)]
        client.delete(Queue.MAINTENANCE.value)
    finally:
        client.close()
    [message] = [m for m in messages if "job_limits_probe" in m["headers"]["argsrepr"]]
    assert message["headers"]["timelimit"] == [None, None]


def test_the_soft_limit_fails_the_job_from_inside(
    db: Database, tenant: Tenant, process_env: dict[str, str], celery_processes: Any,
    publishing_app: Flask,
) -> None:
    worker = celery_processes("worker", {**process_env, **LIMITS})
    api = Tenant(publishing_app.test_client(), tenant.id, tenant.key)
    job = wait_failed(db, long_job(api), worker)
    assert (job.status, job.error_code, job.attempts) == ("failed", "TIME_LIMIT_EXCEEDED", 1)
    assert job.progress["done"] < 60


def test_a_job_killed_at_the_hard_limit_fails_instead_of_staying_processing(
    publishing_app: Flask, db: Database, tenant: Tenant, process_env: dict[str, str],
    celery_processes: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The handler ignores the soft limit; Celery kills its process at the hard limit, and
    the sweeper fails the job with the reason rather than requeueing it into the same wall."""
    monkeypatch.setitem(KINDS, STUBBORN.name, STUBBORN)
    env = {**process_env, **LIMITS}
    worker = celery_processes("worker", env, app="tests.faults.stubborn_worker")
    celery_processes("beat", env)
    with db.sessions() as session:
        job_id = outbox.submit(session, publishing_app.extensions["job_publisher"],
                               kind=STUBBORN.name, workspace_id=tenant.id, params={}).id
    job = wait_failed(db, job_id, worker)
    assert "Hard time limit (4" in worker.log()
    assert (job.status, job.error_code, job.attempts) == ("failed", "TIME_LIMIT_EXCEEDED", 1)
    assert "hard time limit of 4 seconds" in (job.error_message or "")
    assert job.lease_expires_at is None
