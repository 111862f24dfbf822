"""Flower watches the workers: with task events on, a job run by a real worker appears in
Flower's API with its outcome, behind basic auth."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import requests

from campaign_analytics.db import Database
from tests.conftest import Tenant, free_port
from tests.jobs.helpers import load, wait_until

pytestmark = pytest.mark.slow

AUTH = ("ops", "flower-test-password")


def test_flower_sees_a_job_run_by_a_worker(
    db: Database, tenant: Tenant, process_env: dict[str, str], celery_processes: Any
) -> None:
    port = free_port()
    flower = celery_processes("flower", {
        **process_env, "FLOWER_PORT": str(port), "FLOWER_ADDRESS": "127.0.0.1",
        "FLOWER_BASIC_AUTH": ":".join(AUTH)})
    worker = celery_processes("worker", process_env)
    base = f"http://127.0.0.1:{port}"
    assert requests.get(f"{base}/api/tasks", timeout=5).status_code == 401

    response = tenant.post("/jobs/diagnostics", json={"steps": 1, "step_seconds": 0})
    job_id = response.get_json()["data"]["job_id"]
    wait_until(lambda: load(db, job_id).status == "completed", 60, worker.log())

    def seen() -> list[dict[str, Any]]:
        with contextlib.suppress(requests.RequestException):
            tasks = requests.get(f"{base}/api/tasks", auth=AUTH, timeout=5).json()
            return [task for task in tasks.values()
                    if task.get("name") == "jobs.run" and job_id in str(task.get("args"))]
        return []

    wait_until(lambda: any(task["state"] == "SUCCESS" for task in seen()), 30,
               f"Flower never saw the job:\n{flower.log()[-3000:]}")
    assert seen()[0]["worker"].startswith("worker")
