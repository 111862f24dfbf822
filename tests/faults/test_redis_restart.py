"""Workers must keep consuming after Redis restarts under them (celery/kombu have had bugs
where a worker survives the reconnect but never fetches again; see PITFALLS.md)."""

from __future__ import annotations

from typing import Any

import pytest

from campaign_analytics.db import Database
from tests.conftest import Tenant
from tests.jobs.conftest import OwnBroker
from tests.jobs.helpers import load, wait_until

pytestmark = pytest.mark.slow


def test_worker_consumes_new_jobs_after_a_redis_restart(
    db: Database, broker_tenant: Tenant, own_broker: OwnBroker, broker_env: dict[str, str],
    celery_processes: Any,
) -> None:
    own_broker.start()
    worker = celery_processes("worker", broker_env)
    celery_processes("beat", broker_env)

    def run_one() -> None:
        response = broker_tenant.post("/jobs/diagnostics", json={"steps": 1, "step_seconds": 0})
        job_id = response.get_json()["data"]["job_id"]
        wait_until(lambda: load(db, job_id).status == "completed", 90,
                   f"job {job_id} never completed:\n{worker.log()[-4000:]}")

    run_one()
    own_broker.stop()
    own_broker.start()
    run_one()
