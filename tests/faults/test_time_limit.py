"""A job that runs past its time limits ends ``failed`` with the reason, never stuck in
``processing`` and never retried into the same wall."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from campaign_analytics.db import Database
from campaign_analytics.jobs import outbox
from campaign_analytics.jobs.catalog import KINDS
from tests.conftest import Tenant
from tests.faults.stubborn import STUBBORN
from tests.jobs.helpers import load, wait_until

pytestmark = pytest.mark.slow

LIMITS = {"TASK_SOFT_TIME_LIMIT_SECONDS": "2", "TASK_TIME_LIMIT_SECONDS": "4",
          "JOB_LEASE_SECONDS": "2"}


def long_job(tenant: Tenant) -> str:
    response = tenant.post("/jobs/diagnostics", json={"steps": 60, "step_seconds": 0.5})
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["data"]["job_id"])


def wait_failed(db: Database, job_id: str, worker: Any) -> Any:
    wait_until(lambda: load(db, job_id).status not in ("queued", "processing"), 60,
               f"the job is still {load(db, job_id).status}:\n{worker.log()[-4000:]}")
    return load(db, job_id)


def test_the_soft_limit_fails_the_job_from_inside(
    db: Database, tenant: Tenant, process_env: dict[str, str], celery_processes: Any
) -> None:
    worker = celery_processes("worker", {**process_env, **LIMITS})
    job = wait_failed(db, long_job(tenant), worker)
    assert (job.status, job.error_code, job.attempts) == ("failed", "TIME_LIMIT_EXCEEDED", 1)
    assert job.progress["done"] < 60


def test_a_job_killed_at_the_hard_limit_fails_instead_of_staying_processing(
    app: Flask, db: Database, tenant: Tenant, process_env: dict[str, str],
    celery_processes: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The handler ignores the soft limit; Celery kills its process at the hard limit, and
    the sweeper fails the job with the reason rather than requeueing it into the same wall."""
    monkeypatch.setitem(KINDS, STUBBORN.name, STUBBORN)
    env = {**process_env, **LIMITS}
    worker = celery_processes("worker", env, app="tests.faults.stubborn_worker")
    celery_processes("beat", env)
    with db.sessions() as session:
        job_id = outbox.submit(session, app.extensions["job_publisher"], kind=STUBBORN.name,
                               workspace_id=tenant.id, params={}).id
    job = wait_failed(db, job_id, worker)
    assert "Hard time limit (4" in worker.log()
    assert (job.status, job.error_code, job.attempts) == ("failed", "TIME_LIMIT_EXCEEDED", 1)
    assert "hard time limit of 4 seconds" in (job.error_message or "")
    assert job.lease_expires_at is None
