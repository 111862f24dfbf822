"""Verdict rows have no foreign keys (lookups less per row written): they go with their
events, whether the campaign is purged or its workspace deleted (a trigger). Verdicts and
reasons are numbered once (``verdict_reasons``)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from campaign_analytics.analytics.contributions import PACK, Verdicts
from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from campaign_analytics.engagement.reasons import reason_ids
from campaign_analytics.engagement.rules import load_rules
from campaign_analytics.jobs import runner
from campaign_analytics.settings import Settings
from tests.engagement.stored import NAMED_VERDICTS
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


def stored_verdicts(db: Database, workspace_id: str) -> dict[str, tuple[str, str]]:
    """external id -> (verdict, reason) of each stored verdict of the workspace."""
    with db.engine.connect() as conn:
        return {external: (verdict, reason) for external, verdict, reason in conn.execute(text(
            f"SELECT e.external_id, v.verdict, v.reason FROM {NAMED_VERDICTS} v "
            "JOIN email_events e ON e.id = v.event_id WHERE v.workspace_id = :w"),
            {"w": workspace_id})}


def test_verdicts_sort_packed_into_one_number_only_when_asked() -> None:
    for stored in (False, True):
        rows, packed = (Verdicts((1, 2), stored=stored, packed=flag).sql()
                        for flag in (False, True))
        assert f"* {PACK}" in packed and f"* {PACK}" not in rows
        assert "ORDER BY id" in rows and "ORDER BY id" not in packed


def test_verdicts_sorted_as_rows_or_packed_into_one_number_are_the_same(
    world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verdicts are sorted as ``id * PACK + reason`` while ids are small enough, else as
    rows: both store every event's own verdict, inserted or (an increment) upserted."""
    scanner, apple = "Mozilla/5.0 (compatible; Proofpoint URL Defense)", "Mozilla/5.0"
    message = "vr-packed"
    world.post([world.sent(message, world.lead()),
                world.event("opened", message, 1, user_agent=apple, ip="17.58.1.1"),
                world.event("opened", message, 60, user_agent="Thunderbird/115.0"),
                world.event("clicked", message, 0.05, url="https://a.example/1"),
                world.event("clicked", message, 90, url="https://a.example/2"),
                world.event("opened", message, 95, http_method="HEAD", user_agent="x")])
    # Then its delivery, 1.2 s before the first click (which becomes too fast), and a
    # scanner's click: an increment that inserts one verdict and changes one.
    later = [world.event("delivered", message, 0.03),
             world.event("clicked", message, 120, url="https://a.example/3", user_agent=scanner)]
    with monkeypatch.context() as patched:
        patched.setattr("campaign_analytics.analytics.refresh.PACKED_BELOW", 0)
        refresh(db, world.tenant.id, RefreshMode.FULL)
        assert ("unknown", "no_client_data") in stored_verdicts(db, world.tenant.id).values()
        world.post(later)
        refresh(db, world.tenant.id, RefreshMode.INCREMENTAL)
        as_rows = stored_verdicts(db, world.tenant.id)
    with db.engine.begin() as conn:  # as if no verdict were stored: every one made again
        conn.execute(text("DELETE FROM event_verdicts WHERE event_id IN "
                          "(SELECT id FROM email_events WHERE workspace_id = :w)"),
                     {"w": world.tenant.id})
        conn.execute(text("DELETE FROM refresh_state WHERE workspace_id = :w"),
                     {"w": world.tenant.id})
    refresh(db, world.tenant.id, RefreshMode.FULL)
    packed = stored_verdicts(db, world.tenant.id)
    assert packed == as_rows
    assert sorted(packed.values()) == sorted([
        ("machine", "apple_mpp"), ("human", "person"), ("machine", "too_fast"),
        ("unknown", "no_client_data"), ("machine", "head_request"),
        ("machine", "scanner_user_agent")])
