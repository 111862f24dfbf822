"""GET /analytics/accounts: every sending account with lifetime and 30-day numbers and a
health band, recomputed here from the events the test sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from tests.analytics.test_overview import (
    Ledger,
    Window,
    delete_campaign,
    minutes_from_t0,
    new_world,
    parse_utc,
    pct,
    stored_as_of,
    story,
)
from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error
from tests.world import World, next_id

ZONE = "Asia/Kolkata"


def last_30_days(timezone: str, now: datetime) -> Window:
    """30 local calendar days ending today, today included."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    first = datetime(today.year, today.month, today.day, tzinfo=zone) - timedelta(days=29)
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    end = datetime(today.year, today.month, today.day, tzinfo=zone) + timedelta(days=1)
    return start.astimezone(UTC), end.astimezone(UTC)


def band(sent: int, failed: int) -> str | None:
    if not sent + failed:
        return None
    share = sent * 100 / (sent + failed)
    return "healthy" if share > 95 else "moderate" if share >= 80 else "low"


def create_account(tenant: Tenant, email: str) -> str:
    response = tenant.post("/accounts", json={"email": email})
    assert response.status_code == 201, response.get_data(as_text=True)
    return str(response.get_json()["data"]["id"])


def sent_at(world: World, lead: str, account: str, moment: datetime,
            *later: tuple[str, float]) -> list[dict[str, Any]]:
    start = minutes_from_t0(moment)
    return story(world, lead, start, *((kind, start + minutes) for kind, minutes in later),
                 account=account)


def failed_at(world: World, lead: str, account: str, moment: datetime) -> dict[str, Any]:
    return world.event("failed", f"m-{next_id()}", minutes_from_t0(moment), lead_id=lead,
                       account_id=account, recipient="someone@outlook.com")


def accounts(tenant: Tenant, **query: str) -> dict[str, Any]:
    response = tenant.get("/analytics/accounts", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


def test_every_account_with_its_numbers_and_band(make_tenant: Any, db: Database) -> None:
    tenant = make_tenant(timezone=ZONE)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    window = last_30_days(ZONE, now)
    emails = [f"{name}-{next_id()}@sender.io" for name in ("healthy", "moderate", "low", "idle")]
    healthy, moderate, low, idle = (create_account(tenant, email) for email in emails)
    one, two, gone = (new_world(tenant, name, account=healthy)
                      for name in ("One", "Two", "Gone"))
    lead_one, lead_two, lead_gone = one.lead(), two.lead(), gone.lead()
    ledger = Ledger()

    ledger.post(one, [
        *sent_at(one, lead_one, healthy, window[0]),  # the first instant of the 30 days
        *sent_at(one, lead_one, healthy, window[0] - timedelta(minutes=1)),  # just before
        *sent_at(one, lead_one, healthy, now - timedelta(days=40), ("hard", 5)),
        *sent_at(one, lead_one, healthy, now - timedelta(hours=1), ("soft", 5)),
        *[event for i in range(8)
          for event in sent_at(one, lead_one, healthy, now - timedelta(days=2, minutes=i))],
        failed_at(one, lead_one, healthy, now - timedelta(days=3)),
        *[event for i in range(4)
          for event in sent_at(one, lead_one, moderate, now - timedelta(days=5, minutes=i))],
        failed_at(one, lead_one, moderate, now - timedelta(days=5)),
        failed_at(one, lead_one, low, now - timedelta(days=6)),
        failed_at(one, lead_one, low, now - timedelta(days=60)),
    ])
    ledger.post(two, [event for i in range(8)
                      for event in sent_at(two, lead_two, healthy,
                                           now - timedelta(days=10, minutes=i))])
    # A deleted campaign's attempts leave every number.
    ledger.post(gone, [failed_at(gone, lead_gone, moderate, now - timedelta(days=1))
                       for _ in range(3)])
    delete_campaign(tenant, gone.campaign)
    other = make_tenant()
    create_account(other, "elsewhere@sender.io")
    refresh(db, tenant.id, RefreshMode.FULL)

    data = accounts(tenant)
    live = {one.campaign, two.campaign}
    expected = []
    for account in (healthy, moderate, low, idle):
        sent = ledger.unique("sent", campaigns=live, account=account)
        failed = ledger.every("failed", campaigns=live, account=account)
        bounced = sum(ledger.unique(kind, campaigns=live, account=account)
                      for kind in ("hard", "soft"))
        expected.append({
            "account_id": account, "lifetime_sent": sent, "lifetime_failed": failed,
            "lifetime_bounced": bounced,
            "sent_last_30_days": ledger.unique("sent", window, campaigns=live, account=account),
            "success_rate": pct(sent, sent + failed), "bounce_rate": pct(bounced, sent),
            "health": band(sent, failed),
        })
    got = [{k: v for k, v in entry.items() if k != "email"} for entry in data["accounts"]]
    assert got == expected
    assert [entry["email"] for entry in data["accounts"]] == emails
    # The same, by hand: 20 sent (18 in the 30 days) and 1 failed; 4 and 1; 0 and 2.
    assert [(e["lifetime_sent"], e["sent_last_30_days"], e["lifetime_failed"], e["health"])
            for e in data["accounts"]] == [
        (20, 18, 1, "healthy"), (4, 4, 1, "moderate"), (0, 0, 2, "low"), (0, 0, 0, None)]
    assert [e["success_rate"] for e in data["accounts"]] == [95.24, 80.0, 0.0, 0.0]
    assert data["accounts"][0]["bounce_rate"] == 10.0
    assert data["timezone"] == ZONE
    assert parse_utc(data["as_of"]) == stored_as_of(db, tenant.id)

    # The 30 days of another zone start at another instant (here UTC against +05:30).
    in_utc = accounts(tenant, timezone="UTC")
    utc_window = last_30_days("UTC", now)
    assert in_utc["timezone"] == "UTC"
    assert [e["sent_last_30_days"] for e in in_utc["accounts"]] == [
        ledger.unique("sent", utc_window, campaigns=live, account=a)
        for a in (healthy, moderate, low, idle)]
    assert [e["lifetime_sent"] for e in in_utc["accounts"]] == [20, 4, 0, 0]


def test_accounts_are_per_workspace(make_tenant: Any) -> None:
    mine, theirs = make_tenant(), make_tenant()
    create_account(mine, "mine@sender.io")
    assert_error(theirs.client.get(mine.prefix + "/analytics/accounts", headers=theirs.headers),
                 404, "WORKSPACE_NOT_FOUND")
    assert accounts(theirs) == {"as_of": None, "timezone": "UTC", "accounts": []}
    error = assert_error(mine.get("/analytics/accounts", query_string={"timezone": "Nowhere"}),
                         400, "VALIDATION_ERROR")
    assert "timezone" in error["details"]
