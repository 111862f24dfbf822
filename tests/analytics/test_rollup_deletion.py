"""Rollup rows have no foreign keys (a lookup less per row a refresh writes): they go with
their campaign, whether it is purged, deleted directly or with its workspace (a trigger)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from tests.world import World, count

TABLES = ("rollup_campaign_buckets", "rollup_delivery_buckets", "rollup_bounce_reasons",
          "rollup_campaign_leads")


def rows(db: Database, campaign: str) -> dict[str, int]:
    return {table: count(db, f"SELECT count(*) FROM {table} WHERE campaign_id = :c",
                         c=campaign) for table in TABLES}


@pytest.mark.parametrize("deleted", ["workspaces", "campaigns"])
def test_a_deleted_campaign_leaves_no_rollup_row(world: World, db: Database,
                                                 deleted: str) -> None:
    lead = world.lead()
    world.post([world.sent("rr-1", lead), world.event("opened", "rr-1", 3),
                world.sent("rr-2", lead, 1),
                world.event("bounced", "rr-2", 2, bounce_type="hard", reason="550 no such user")])
    refresh(db, world.tenant.id, RefreshMode.FULL)
    assert all(rows(db, world.campaign).values()), rows(db, world.campaign)
    key = world.tenant.id if deleted == "workspaces" else world.campaign
    with db.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {deleted} WHERE id = :id"), {"id": key})
    assert rows(db, world.campaign) == dict.fromkeys(TABLES, 0)
