"""GET /reporting/snapshot: all-time totals of live campaigns, checked against plain SQL on
the stored events, replies and leads."""

from __future__ import annotations

from typing import Any

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from tests.analytics.test_overview import (
    Ledger,
    delete_campaign,
    new_world,
    parse_utc,
    pct,
    stored_as_of,
    story,
)
from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error
from tests.world import World, count, next_id

LIVE = "JOIN campaigns c ON c.id = {table}.campaign_id AND c.deleted_at IS NULL"
SENDS = f"""SELECT count(DISTINCT e.message_id) FROM email_events e {LIVE.format(table="e")}
            WHERE e.workspace_id = :ws AND e.type = 'sent'"""
# Reply records of messages whose sent is in (SPEC §11.18: the others never count).
REPLIES = f"""SELECT count(*) FROM replies r {LIVE.format(table="r")}
              WHERE r.workspace_id = :ws AND EXISTS (
                  SELECT 1 FROM email_events s WHERE s.workspace_id = :ws
                  AND s.message_id = r.message_id AND s.type = 'sent')"""
PLACEMENTS = f"""SELECT count(*) FROM leads l {LIVE.format(table="l")}
                 WHERE l.workspace_id = :ws AND l.status = 'placed'"""
CAMPAIGNS = "SELECT count(*) FROM campaigns WHERE workspace_id = :ws AND deleted_at IS NULL"


def snapshot(tenant: Tenant) -> dict[str, Any]:
    response = tenant.get("/reporting/snapshot")
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


def place(world: World, lead: str) -> None:
    """A replied lead marked placed by a person."""
    response = world.tenant.client.patch(
        f"{world.tenant.prefix}/campaigns/{world.campaign}/leads/{lead}",
        headers=world.tenant.headers, json={"status": "placed"})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_snapshot_counts_sends_reply_records_and_placements(tenant: Tenant,
                                                            db: Database) -> None:
    ledger = Ledger()
    p, q, gone = (new_world(tenant, name) for name in ("P", "Q", "Gone"))
    p_leads = [p.lead() for _ in range(3)]
    q_lead, gone_lead = q.lead(), gone.lead()
    ledger.post(p, [
        *story(p, p_leads[0], 0, ("delivered", 1), ("replied", 30), ("replied", 90)),
        *story(p, p_leads[1], 5, ("delivered", 6), ("replied", 40)),
        *story(p, p_leads[2], 10, ("hard", 11)),
        *story(p, p_leads[2], -3000, ("delivered", -2990)),  # days earlier: all time counts
        # A reply to a message whose sent never arrived: stored, never counted.
        p.event("replied", f"m-orphan-{next_id()}", 50, body="Sounds good, send it over."),
        p.event("failed", f"m-{next_id()}", 60, lead_id=p_leads[2], account_id=p.account,
                recipient="x@yahoo.com"),
    ])
    ledger.post(q, story(q, q_lead, 20, ("delivered", 21), ("replied", 22)))
    ledger.post(gone, story(gone, gone_lead, 25, ("delivered", 26), ("replied", 27)))
    place(p, p_leads[0])
    place(p, p_leads[1])
    place(gone, gone_lead)
    delete_campaign(tenant, gone.campaign)
    refresh(db, tenant.id, RefreshMode.FULL)

    data = snapshot(tenant)
    sends, replies, placements = (count(db, sql, ws=tenant.id)
                                  for sql in (SENDS, REPLIES, PLACEMENTS))
    assert (sends, replies, placements) == (5, 4, 2)  # the hand count of the above
    assert ledger.unique("sent", campaigns={p.campaign, q.campaign}) == sends
    assert data == {
        "as_of": data["as_of"],
        "total_campaigns": count(db, CAMPAIGNS, ws=tenant.id),
        "total_sends": sends,
        "total_replies": replies,
        "total_placements": placements,
        "overall_response_rate": pct(replies, sends),
        "overall_placement_rate": pct(placements, sends),
    }
    assert data["total_campaigns"] == 2
    assert (data["overall_response_rate"], data["overall_placement_rate"]) == (80.0, 40.0)
    assert parse_utc(data["as_of"]) == stored_as_of(db, tenant.id)
    assert "time_range" not in data


def test_snapshot_moves_only_with_a_refresh(tenant: Tenant, db: Database) -> None:
    world = new_world(tenant, "Steady")
    lead = world.lead()
    empty = snapshot(tenant)
    assert empty == {"as_of": None, "total_campaigns": 1, "total_sends": 0, "total_replies": 0,
                     "total_placements": 0, "overall_response_rate": 0.0,
                     "overall_placement_rate": 0.0}
    world.post(story(world, lead, 0, ("replied", 3)))
    refresh(db, tenant.id, RefreshMode.FULL)
    first = snapshot(tenant)
    assert (first["total_sends"], first["total_replies"]) == (1, 1)
    world.post(story(world, lead, 10))
    assert snapshot(tenant) == first  # not refreshed yet: as_of says so
    refresh(db, tenant.id, RefreshMode.INCREMENTAL)
    later = snapshot(tenant)
    assert (later["total_sends"], later["overall_response_rate"]) == (2, 50.0)
    assert parse_utc(later["as_of"]) >= parse_utc(first["as_of"])


def test_snapshot_is_per_workspace(make_tenant: Any, db: Database) -> None:
    mine, theirs = make_tenant(), make_tenant()
    world = new_world(mine, "Mine")
    world.post(story(world, world.lead(), 0))
    refresh(db, mine.id, RefreshMode.FULL)
    assert snapshot(mine)["total_sends"] == 1
    assert snapshot(theirs)["total_sends"] == 0
    assert_error(theirs.client.get(mine.prefix + "/reporting/snapshot", headers=theirs.headers),
                 404, "WORKSPACE_NOT_FOUND")
