"""Verdict rows have no foreign keys (lookups less per row written): they go with their
events, whether the campaign is purged or its workspace deleted (a trigger). Verdicts and
reasons are numbered once (``verdict_reasons``)."""

from __future__ import annotations

from sqlalchemy import text

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from campaign_analytics.engagement.reasons import reason_ids
from campaign_analytics.engagement.rules import load_rules
from campaign_analytics.jobs import runner
from campaign_analytics.settings import Settings
from tests.world import World, count

VERDICTS = "SELECT count(*) FROM event_verdicts WHERE event_id = ANY(:events)"


def judged(world: World, db: Database, message: str) -> list[int]:
    """The ids of an open and a click, each with a stored verdict."""
    world.post([world.sent(message, world.lead()), world.event("opened", message, 3),
                world.event("clicked", message, 5, url="https://a.example/1")])
    refresh(db, world.tenant.id, RefreshMode.FULL)
    with db.engine.connect() as conn:
        events = list(conn.execute(text(
            "SELECT id FROM email_events WHERE workspace_id = :w "
            "AND type IN ('opened', 'clicked')"), {"w": world.tenant.id}).scalars())
    assert len(events) == 2
    assert count(db, VERDICTS, events=events) == 2
    return events


def test_a_purged_campaign_leaves_no_verdict(world: World, db: Database,
                                             settings: Settings) -> None:
    events = judged(world, db, "vr-purge")
    deleted = world.tenant.client.delete(f"{world.tenant.prefix}/campaigns/{world.campaign}",
                                         headers=world.tenant.headers)
    job_id = deleted.get_json()["data"]["purge_job_id"]
    assert runner.run(db, settings, job_id, worker="test").status == "completed"
    assert count(db, VERDICTS, events=events) == 0


def test_a_deleted_workspace_leaves_no_verdict(world: World, db: Database) -> None:
    events = judged(world, db, "vr-workspace")
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM workspaces WHERE id = :w"), {"w": world.tenant.id})
    assert count(db, VERDICTS, events=events) == 0


def test_numbering_reasons_again_draws_no_number(db: Database) -> None:
    """Numbers are two bytes: a refresh that finds its pairs numbered must not draw more."""
    rules = load_rules()
    last = "SELECT last_value FROM verdict_reasons_id_seq"
    with db.engine.begin() as conn:
        numbers = reason_ids(conn, rules)
        drawn = conn.execute(text(last)).scalar_one()
        assert reason_ids(conn, rules) == numbers
        assert conn.execute(text(last)).scalar_one() == drawn
        named = conn.execute(text("SELECT verdict, reason FROM verdict_reasons WHERE id = :n"),
                             {"n": numbers[rules.code("apple_mpp")]}).one()
    assert tuple(named) == ("machine", "apple_mpp")
