"""A worker killed in the middle of a full refresh: the half-done rebuild never shows, and
the job completes once on a new worker with the rollups of an undisturbed rebuild."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from tests.analytics.rollup_rows import full_rebuild, rollups
from tests.jobs.helpers import load, wait_until
from tests.world import World

pytestmark = pytest.mark.slow


@contextmanager
def state_row_locked(db: Database, workspace_id: str) -> Iterator[Any]:
    """Holds the workspace's refresh_state row, so a refresh blocks on its very last write:
    every rollup row is rewritten by then, uncommitted, in the worker's transaction."""
    conn = db.engine.connect()
    transaction = conn.begin()
    conn.execute(text("SELECT 1 FROM refresh_state WHERE workspace_id = :ws FOR UPDATE"),
                 {"ws": workspace_id})
    yield transaction
    if transaction.is_active:
        transaction.rollback()
    conn.close()


def blocked_on_the_state_row(db: Database) -> bool:
    with db.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE '%refresh_state%'")).scalar_one())


def test_a_worker_killed_mid_refresh_leaves_the_old_rollups_then_the_rerun_matches(
    db: Database, world: World, process_env: dict[str, str], celery_processes: Any,
) -> None:
    lead = world.lead()
    world.post([world.sent("rk-1", lead, 0), world.event("opened", "rk-1", 5)])
    refresh(db, world.tenant.id, RefreshMode.FULL)
    before = rollups(db, world.tenant.id)
    # New sends, a late open of the first message and a reply: the rebuild has work to do.
    world.post([world.sent("rk-2", lead, 30), world.event("opened", "rk-1", 60),
                world.event("replied", "rk-2", 90, body="Sounds good, send it over")])

    with state_row_locked(db, world.tenant.id) as lock:
        worker = celery_processes("worker", process_env, name="doomed")
        response = world.tenant.post("/analytics/refresh", json={"mode": "full"})
        assert response.status_code == 202, response.get_json()
        job_id = response.get_json()["data"]["job_id"]
        wait_until(lambda: blocked_on_the_state_row(db), 60,
                   f"the refresh never reached its last write:\n{worker.log()}")
        worker.kill_group()
        lock.rollback()  # the dead worker's transaction can now end: it is rolled back

    assert rollups(db, world.tenant.id) == before, "a killed refresh left partial rollups"
    assert load(db, job_id).status == "processing"

    replacement = celery_processes("worker", process_env, name="replacement")
    celery_processes("beat", process_env)  # its sweeper takes back the expired lease
    wait_until(lambda: load(db, job_id).status == "completed", 90,
               f"the refresh was not completed after the kill:\n{replacement.log()}")
    done = load(db, job_id)
    assert done.attempts >= 2 and done.result["mode"] == "full"
    assert replacement.log().count(f"job {job_id} (refresh) completed") == 1
    after = rollups(db, world.tenant.id)
    assert after != before
    assert after == full_rebuild(db, world.tenant.id)  # what an undisturbed run leaves

