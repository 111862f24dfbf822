"""Redis stops mid-run and comes back empty: every job still completes, none twice, and
workers keep consuming afterwards (celery/kombu have had bugs where a worker survives the
reconnect but never fetches again; see PITFALLS.md)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from campaign_analytics.db import Database
from tests.conftest import Tenant
from tests.jobs.conftest import OwnBroker
from tests.jobs.helpers import load, wait_until

pytestmark = pytest.mark.slow


def submit(tenant: Tenant, steps: int, step_seconds: float) -> str:
    response = tenant.post("/jobs/diagnostics", json={"steps": steps, "step_seconds": step_seconds})
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["data"]["job_id"])


def test_jobs_survive_redis_restarting_empty_and_new_ones_still_run(
    db: Database, broker_tenant: Tenant, own_broker: OwnBroker, broker_env: dict[str, str],
    celery_processes: Any,
) -> None:
    own_broker.start()
    worker = celery_processes("worker", broker_env)
    beat = celery_processes("beat", broker_env)
    # One worker slot: one job runs, the others wait in Redis when it goes.
    in_flight = [submit(broker_tenant, steps=6, step_seconds=0.5) for _ in range(4)]
    wait_until(lambda: load(db, in_flight[0]).progress.get("done", 0) >= 1, 60,
               lambda: f"the first job never started:\n{worker.log()[-4000:]}")

    own_broker.stop()
    time.sleep(2)  # the worker and beat see the broker gone
    own_broker.restart_empty()

    after = submit(broker_tenant, steps=1, step_seconds=0)
    everything = [*in_flight, after]

    def all_completed() -> bool:
        return all(load(db, job_id).status == "completed" for job_id in everything)

    wait_until(all_completed, 120,
               lambda: f"jobs not completed: {[(j, load(db, j).status) for j in everything]}\n"
                       f"worker:\n{worker.log()[-6000:]}\nbeat:\n{beat.log()[-3000:]}")
    time.sleep(3)  # a late duplicate would have run by now
    completions = re.findall(r"job (\S+) \(diagnostic\) completed", worker.log())
    assert sorted(completions) == sorted(everything), "a job ran twice, or not at all"
    for job_id in everything:
        assert load(db, job_id).result["steps"] in (1, 6)
