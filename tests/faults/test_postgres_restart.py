"""PostgreSQL goes away mid-run and comes back: while it is away every API call answers
503 ``SERVICE_UNAVAILABLE`` in the JSON envelope (never a 500, never a hang), and the jobs
that were running or submitted around the outage all complete afterwards, once each."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from campaign_analytics.db import Database
from campaign_analytics.devstack.embedded import EmbeddedPostgres, start_postgres
from campaign_analytics.migrate import upgrade
from campaign_analytics.settings import Settings
from campaign_analytics.workspaces import create_workspace
from tests.conftest import FAST_JOB_SETTINGS, GENEROUS_RATE_LIMITS, Tenant
from tests.jobs.conftest import OwnBroker
from tests.jobs.helpers import wait_until

pytestmark = pytest.mark.slow

# What a client does all day: reads, writes, job submission and polling, readiness.
CALLS = [
    ("GET", "/campaigns", None),
    ("POST", "/campaigns", {"name": "During the outage"}),
    ("GET", "/analytics/overview", None),
    ("POST", "/events", {"events": []}),
    ("POST", "/jobs/diagnostics", {"steps": 1}),
    ("GET", "/jobs", None),
    ("POST", "/analytics/refresh", {}),
    ("GET", "/analytics/exports", None),
]


@dataclass
class OwnPostgres:
    """An embedded cluster in a directory of the test's own, which it may stop and start."""

    data_dir: Path
    server: EmbeddedPostgres | None = field(default=None)

    def start(self) -> str:
        self.server = start_postgres(self.data_dir)
        return self.server.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    """Outside pytest's temp root, which another session may lock the server out of."""
    root = Path(tempfile.mkdtemp(prefix="ca-fault-pg-"))
    postgres = OwnPostgres(root / "pg")
    yield postgres
    postgres.stop()
    shutil.rmtree(root, ignore_errors=True)


def job_status(db: Database, job_id: str) -> str | None:
    from campaign_analytics.jobs import store

    try:
        with db.sessions() as session:
            return store.status_of(session, job_id)
    except Exception:
        return None  # the database is still away


def test_the_api_answers_503_while_postgres_is_away_and_jobs_finish_afterwards(
    own_postgres: OwnPostgres, own_broker: OwnBroker, process_env: dict[str, str],
    celery_processes: Any,
) -> None:
    from webapi import create_app

    url = own_postgres.start()
    upgrade(url)
    own_broker.start()
    settings = Settings(database_url=url, redis_url=own_broker.url, **FAST_JOB_SETTINGS,
                        **GENEROUS_RATE_LIMITS)
    db = Database.connect(url)
    with db.sessions() as session:
        workspace, key = create_workspace(session, "Outage", "UTC")
    tenant = Tenant(create_app(settings).test_client(), workspace.id, key)
    env = {**process_env, "DATABASE_URL": url, "REDIS_URL": own_broker.url}
    worker = celery_processes("worker", env)
    beat = celery_processes("beat", env)

    def submit(steps: int) -> str:
        response = tenant.post("/jobs/diagnostics", json={"steps": steps, "step_seconds": 0.5})
        assert response.status_code == 202, response.get_json()
        return str(response.get_json()["data"]["job_id"])

    running = submit(steps=16)
    waiting = submit(steps=2)
    wait_until(lambda: tenant.get(f"/jobs/{running}").get_json()["data"]["progress"]
               .get("done", 0) >= 2, 60, f"the job never started:\n{worker.log()[-3000:]}")

    own_postgres.stop()
    for method, path, body in CALLS:
        response = tenant.client.open(tenant.prefix + path, method=method, json=body,
                                      headers=tenant.headers)
        assert response.status_code == 503, (method, path, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert error["code"] == "SERVICE_UNAVAILABLE", (method, path, error)
    ready = tenant.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["error"]["details"]["database"] == "unreachable"

    before_restart = len(beat.log())
    assert own_postgres.start() == url
    after = submit(steps=1)
    everything = [running, waiting, after]
    wait_until(lambda: all(job_status(db, job) == "completed" for job in everything), 120,
               lambda: f"{[(job, job_status(db, job)) for job in everything]}\n"
                       f"{worker.log()[-6000:]}")
    completions = re.findall(r"job (\S+) \(diagnostic\) completed", worker.log())
    assert sorted(completions) == sorted(everything), "a job ran twice, or not at all"
    assert tenant.get("/campaigns").status_code == 200
    since = beat.log()[before_restart:]
    wait_until(lambda: "due task sweep-jobs" in beat.log()[before_restart:], 30,
               f"beat never swept again after the restart:\n{since}")
    assert "holding the beat lock" in beat.log()[before_restart:]  # lost, then taken back
    db.engine.dispose()
