"""Verdict rows have no foreign keys (lookups less per row written): they go with their
campaign, whether the campaign is purged or its workspace deleted (a trigger)."""

from __future__ import annotations

from sqlalchemy import text

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from campaign_analytics.jobs import runner
from campaign_analytics.settings import Settings
from tests.world import World, count

VERDICTS = "SELECT count(*) FROM event_verdicts WHERE workspace_id = :w"


def judged(world: World, db: Database, message: str) -> None:
    world.post([world.sent(message, world.lead()), world.event("opened", message, 3),
                world.event("clicked", message, 5, url="https://a.example/1")])
    refresh(db, world.tenant.id, RefreshMode.FULL)
    assert count(db, VERDICTS, w=world.tenant.id) == 2


def test_a_purged_campaign_leaves_no_verdict(world: World, db: Database,
                                             settings: Settings) -> None:
    judged(world, db, "vr-purge")
    deleted = world.tenant.client.delete(f"{world.tenant.prefix}/campaigns/{world.campaign}",
                                         headers=world.tenant.headers)
    job_id = deleted.get_json()["data"]["purge_job_id"]
    assert runner.run(db, settings, job_id, worker="test").status == "completed"
    assert count(db, VERDICTS, w=world.tenant.id) == 0


def test_a_deleted_workspace_leaves_no_verdict(world: World, db: Database) -> None:
    judged(world, db, "vr-workspace")
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM workspaces WHERE id = :w"), {"w": world.tenant.id})
    assert count(db, VERDICTS, w=world.tenant.id) == 0
