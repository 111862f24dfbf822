"""`campaign-analytics refresh` requests the job a worker runs; `--wait` reports its end.
`generate` leaves the workspace refreshed."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from sqlalchemy import select

from campaign_analytics.db import Database
from campaign_analytics.models import Job, RefreshState
from tests.cli.test_ingest import CLI
from tests.conftest import Tenant
from tests.jobs.helpers import set_job, wait_until
from tests.world import World, count

pytestmark = pytest.mark.slow


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def _refresh_state(db: Database, workspace_id: str) -> RefreshState | None:
    with db.sessions() as session:
        return session.scalar(select(RefreshState).where(
            RefreshState.workspace_id == workspace_id))


def test_refresh_wait_prints_the_result(
    world: World, db: Database, process_env: dict[str, str], celery_processes: Any
) -> None:
    world.post([world.sent("cr-1", world.lead()), world.event("opened", "cr-1", 3)])
    celery_processes("worker", process_env)
    done = _run(process_env, "refresh", "--workspace", world.tenant.id, "--full", "--wait",
                "--timeout", "60")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("refresh job_") and lines[0].endswith(
        f"queued: full, workspace {world.tenant.id}")
    assert "completed: 2 new events, as of " in lines[1]
    state = _refresh_state(db, world.tenant.id)
    assert state is not None and state.as_of.isoformat() in lines[1]
    summary = world.tenant.get(f"/campaigns/{world.campaign}/analytics").get_json()["data"]
    assert summary["summary"]["emails_opened"] == 1


def test_refresh_wait_exits_non_zero_when_the_job_does_not_complete(
    tenant: Tenant, db: Database, process_env: dict[str, str], quiet_queues: None
) -> None:
    waiting = subprocess.Popen(  # no worker runs: the job stays queued until we cancel it
        [CLI, "refresh", "--workspace", tenant.id, "--wait"], env=process_env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def queued() -> list[str]:
            with db.sessions() as session:
                return list(session.scalars(select(Job.id).where(
                    Job.workspace_id == tenant.id, Job.kind == "refresh")))

        wait_until(lambda: len(queued()) == 1, 30, "the job row")
        set_job(db, queued()[0], status="canceled")
        out, err = waiting.communicate(timeout=30)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 1, (out, err)
    assert f"refresh {queued()[0]} canceled" in err
    assert "1 of 1 refresh jobs did not complete" in err


def test_refresh_joins_a_queued_request_and_times_out(
    tenant: Tenant, process_env: dict[str, str], quiet_queues: None
) -> None:
    first = _run(process_env, "refresh", "--workspace", tenant.id)
    assert first.returncode == 0, first.stderr
    job_id = first.stdout.split()[1]
    again = _run(process_env, "refresh", "--workspace", tenant.id, "--wait", "--timeout", "0.5")
    assert again.stdout.split()[1] == job_id
    assert again.returncode == 1
    assert "still not done after 0.5 s" in again.stderr


def test_refresh_of_an_unknown_workspace_or_campaign_is_a_usage_error(
    tenant: Tenant, process_env: dict[str, str]
) -> None:
    unknown = _run(process_env, "refresh", "--workspace", "ws_nope")
    assert unknown.returncode == 2, unknown.stderr
    campaign = _run(process_env, "refresh", "--workspace", tenant.id, "--full",
                    "--campaign", "cmp_nope")
    assert campaign.returncode == 2, campaign.stderr
    assert "cmp_nope" in campaign.stderr
    alone = _run(process_env, "refresh", "--campaign", "cmp_nope")
    assert alone.returncode == 2 and "--campaign needs exactly one --workspace" in alone.stderr


def test_generate_ends_with_the_workspace_refreshed(
    tenant: Tenant, db: Database, process_env: dict[str, str]
) -> None:
    done = _run(process_env, "generate", "--workspace", tenant.id, "--events", "500")
    assert done.returncode == 0, done.stderr
    assert "refreshed the rollups" in done.stdout
    state = _refresh_state(db, tenant.id)
    assert state is not None and state.full_refreshed_at is not None
    assert count(db, "SELECT sum(sent) FROM rollup_campaign_buckets WHERE workspace_id = :w",
                 w=tenant.id) == count(
        db, "SELECT count(*) FROM messages WHERE workspace_id = :w AND sent_at IS NOT NULL",
        w=tenant.id)
