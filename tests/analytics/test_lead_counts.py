"""A campaign's leads are counted by all their messages: an increment that names one message
of a lead still classes the lead by every one (rollup_campaign_leads)."""

from __future__ import annotations

from typing import Any

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from tests.analytics.rollup_rows import full_rebuild, rollups
from tests.world import World, next_id


def failed(world: World, lead: str, minutes: float) -> dict[str, Any]:
    return world.event("failed", f"lc-{next_id()}", minutes, lead_id=lead,
                       account_id=world.account, recipient="someone@outlook.com")


def lead_numbers(world: World) -> tuple[int, dict[str, int]]:
    """Contacted leads, and progress: leads by whether their attempts were sent, failed or
    some of each."""
    response = world.tenant.get(f"/campaigns/{world.campaign}/analytics")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()["data"]
    return body["leads"]["funnel"]["contacted"], {
        name: body["progress"][name] for name in ("pending", "sent", "failed", "partial")}


def test_an_increment_classes_a_lead_by_all_its_messages(world: World, db: Database) -> None:
    sent_then_failed, failed_then_sent, only_sent, only_failed = (world.lead() for _ in range(4))
    world.post([world.sent("lc-1", sent_then_failed), world.sent("lc-2", failed_then_sent, 1),
                failed(world, failed_then_sent, 2), world.sent("lc-3", only_sent, 3),
                failed(world, only_failed, 4)])
    refresh(db, world.tenant.id, RefreshMode.FULL)
    assert lead_numbers(world) == (3, {"pending": 0, "sent": 2, "failed": 1, "partial": 1})
    # Each lead gets one new message; the increment names only those.
    world.post([failed(world, sent_then_failed, 10), world.sent("lc-4", failed_then_sent, 11),
                world.sent("lc-5", only_sent, 12), world.sent("lc-6", only_failed, 13)])
    refresh(db, world.tenant.id, RefreshMode.INCREMENTAL)
    incremental = rollups(db, world.tenant.id)
    assert lead_numbers(world) == (4, {"pending": 0, "sent": 1, "failed": 0, "partial": 3})
    assert full_rebuild(db, world.tenant.id) == incremental
