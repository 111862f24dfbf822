"""The job row is the outbox: with the broker down the API still answers 202 and the job
waits ``queued``; once the broker is back the sweeper publishes it and it completes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from campaign_analytics.db import Database
from tests.conftest import Tenant
from tests.jobs.conftest import OwnBroker
from tests.jobs.helpers import load, wait_until

pytestmark = pytest.mark.slow


def test_job_created_while_broker_is_down_completes_through_the_sweeper(
    db: Database, broker_tenant: Tenant, own_broker: OwnBroker, broker_env: dict[str, str],
    celery_processes: Any,
) -> None:
    started = time.monotonic()
    response = broker_tenant.post("/jobs/diagnostics", json={"steps": 2, "step_seconds": 0})
    elapsed = time.monotonic() - started
    assert response.status_code == 202, response.get_data(as_text=True)
    assert elapsed < 5, f"publishing to a dead broker blocked the request for {elapsed:.1f}s"
    job_id = response.get_json()["data"]["job_id"]
    waiting = load(db, job_id)
    assert (waiting.status, waiting.published_at) == ("queued", None)
    assert broker_tenant.client.get("/readyz").status_code == 503

    own_broker.start()
    worker = celery_processes("worker", broker_env)
    celery_processes("beat", broker_env)
    wait_until(lambda: load(db, job_id).status == "completed", 60,
               f"job never completed:\n{worker.log()}")
    done = load(db, job_id)
    assert done.published_at is not None
    assert done.attempts == 1
    assert broker_tenant.client.get("/readyz").status_code == 200
