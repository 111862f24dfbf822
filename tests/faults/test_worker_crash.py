"""A worker host dies mid-job (SIGKILL of its whole process group): the job is not lost,
and after a new worker starts it completes exactly once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from campaign_analytics.db import Database
from campaign_analytics.settings import Settings
from tests.conftest import Tenant
from tests.jobs.helpers import load, wait_until

pytestmark = pytest.mark.slow


def test_sigkilled_worker_job_completes_once_on_a_new_worker(
    tenant: Tenant, db: Database, settings: Settings, process_env: dict[str, str],
    celery_processes: Any,
) -> None:
    worker = celery_processes("worker", process_env)
    celery_processes("beat", process_env)
    response = tenant.post("/jobs/diagnostics", json={"steps": 12, "step_seconds": 0.5})
    job_id = response.get_json()["data"]["job_id"]
    wait_until(lambda: load(db, job_id).progress.get("done", 0) >= 2, 30,
               f"job never progressed:\n{worker.log()}")

    worker.kill_group()
    killed = load(db, job_id)
    assert (killed.status, killed.attempts) == ("processing", 1)
    assert killed.progress["done"] < 12

    replacement = celery_processes("worker", process_env)
    wait_until(lambda: load(db, job_id).status == "completed", 60,
               f"job not completed after restart:\n{replacement.log()}")
    done = load(db, job_id)
    # 2, unless a stall of the loaded machine let a lease lapse once more: still one run.
    assert done.attempts >= 2
    assert done.result == {"steps": 12, "completed_by_attempt": done.attempts}

    # Neither a late redelivery nor another sweep may run it a third time.
    time.sleep(3 * settings.job_lease_seconds)
    after = load(db, job_id)
    assert (after.status, after.attempts, after.finished_at) == (
        "completed", done.attempts, done.finished_at,
    )
    assert replacement.log().count(f"job {job_id} (diagnostic) completed") == 1
