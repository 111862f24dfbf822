"""GET /analytics/overview: window totals of live campaigns, campaign counts, top 5.

Expected numbers come from ``Ledger``: plain Python over the events the test sent, with
the counting rules of SPEC §7 (a message counts once its ``sent`` is in; unique counts on
their first occurrence; failed and reply records count every event).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import text

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error
from tests.world import T0, World, next_id

Window = tuple[datetime | None, datetime | None]
ALL_TIME: Window = (None, None)
POSITIVE_REPLY = "Sounds good, please send the draft over."


def pct(numerator: int, denominator: int) -> float:
    if not denominator:
        return 0.0
    exact = Decimal(numerator * 100) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def instant(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))


def minutes_from_t0(moment: datetime) -> float:
    return (moment - T0).total_seconds() / 60


def _matches(event: dict[str, Any], kind: str) -> bool:
    if kind in ("hard", "soft"):
        return event["type"] == "bounced" and event.get("bounce_type") == kind
    return bool(event["type"] == kind)


@dataclass
class Ledger:
    """Every event a test posted, and what the analytics must make of them."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def post(self, world: World, events: list[dict[str, Any]]) -> None:
        result = world.post(events)
        assert result["rejected"] == [], result
        self.events += events

    def _messages(self) -> dict[str, list[dict[str, Any]]]:
        by_message: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event in self.events:
            by_message[event["message_id"]].append(event)
        return by_message

    @staticmethod
    def _origin(events: list[dict[str, Any]]) -> dict[str, Any]:
        return next((e for e in events if e["type"] in ("sent", "failed")), events[0])

    def unique(self, kind: str, window: Window = ALL_TIME, *, campaigns: Any = None,
               account: str | None = None) -> int:
        """Sent messages whose first ``kind`` event falls in the window."""
        start, end = window
        total = 0
        for events in self._messages().values():
            origin = self._origin(events)
            if not any(e["type"] == "sent" for e in events):
                continue
            if campaigns is not None and origin["campaign_id"] not in campaigns:
                continue
            if account is not None and origin.get("account_id") != account:
                continue
            firsts = sorted(instant(e) for e in events if _matches(e, kind))
            if firsts and (start is None or firsts[0] >= start) and (
                    end is None or firsts[0] < end):
                total += 1
        return total

    def every(self, kind: str, window: Window = ALL_TIME, *, campaigns: Any = None,
              account: str | None = None) -> int:
        """Every ``kind`` event in the window (``failed`` of any message, the others of
        sent messages only)."""
        start, end = window
        total = 0
        for events in self._messages().values():
            origin = self._origin(events)
            if kind != "failed" and not any(e["type"] == "sent" for e in events):
                continue
            if campaigns is not None and origin["campaign_id"] not in campaigns:
                continue
            if account is not None and origin.get("account_id") != account:
                continue
            total += sum(1 for e in events if _matches(e, kind) and (
                start is None or instant(e) >= start) and (end is None or instant(e) < end))
        return total


def story(world: World, lead: str, sent: float, *later: tuple[str, float],
          account: str | None = None) -> list[dict[str, Any]]:
    """One message sent at ``sent`` minutes after T0, then ``later`` (kind, minutes)."""
    message = f"m-{next_id()}"
    events = [world.sent(message, lead, sent, **({"account_id": account} if account else {}))]
    for kind, minutes in later:
        if kind in ("hard", "soft"):
            events.append(world.event("bounced", message, minutes, bounce_type=kind,
                                      reason="Mailbox unavailable"))
        elif kind == "replied":
            events.append(world.event("replied", message, minutes, body=POSITIVE_REPLY))
        else:
            events.append(world.event(kind, message, minutes))
    return events


def new_world(tenant: Tenant, name: str, account: str | None = None) -> World:
    response = tenant.post("/campaigns", json={"name": name})
    assert response.status_code == 201
    if account is None:
        account = tenant.post("/accounts", json={"email": f"s{next_id()}@sender.io"}
                              ).get_json()["data"]["id"]
    return World(tenant, response.get_json()["data"]["id"], str(account))


def set_status(tenant: Tenant, campaign: str, status: str) -> None:
    response = tenant.client.patch(f"{tenant.prefix}/campaigns/{campaign}",
                                   headers=tenant.headers, json={"status": status})
    assert response.status_code == 200, response.get_data(as_text=True)


def delete_campaign(tenant: Tenant, campaign: str) -> None:
    response = tenant.client.delete(f"{tenant.prefix}/campaigns/{campaign}",
                                    headers=tenant.headers)
    assert response.status_code == 200, response.get_data(as_text=True)


def stored_as_of(db: Database, workspace_id: str) -> datetime:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT as_of FROM refresh_state WHERE workspace_id = :ws"),
                            {"ws": workspace_id}).scalar_one()


def parse_utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def local_window(first: str, last: str, timezone: str) -> Window:
    """Whole local days ``first`` to ``last``, both included."""
    zone = ZoneInfo(timezone)
    start = datetime.fromisoformat(first).replace(tzinfo=zone)
    end = datetime.fromisoformat(last).replace(tzinfo=zone) + timedelta(days=1)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass
class Dashboard:
    tenant: Tenant
    ledger: Ledger
    worlds: dict[str, World]
    deleted: str


def build_dashboard(tenant: Tenant, db: Database) -> Dashboard:
    """Eight campaigns around 2026-11-02 (UTC): every rule of the ranking has a case."""
    ledger = Ledger()
    worlds = {name: new_world(tenant, f"Campaign {name}") for name in "ABCDEFGH"}
    leads = {name: world.lead() for name, world in worlds.items()}

    def post(name: str, *stories: list[dict[str, Any]]) -> None:
        ledger.post(worlds[name], [event for events in stories for event in events])

    a, lead = worlds["A"], leads["A"]
    post("A",
         story(a, lead, 0, ("delivered", 1), ("opened", 30), ("opened", 40), ("replied", 60),
               ("replied", 65)),
         story(a, lead, 5, ("delivered", 6), ("opened", 50), ("clicked", 51), ("replied", 70)),
         story(a, lead, 10, ("delivered", 11)),
         story(a, lead, 15, ("delivered", 16), ("opened", 17)),
         # Sent the evening before (UTC), opened in the window, replied just after it.
         story(a, lead, -700, ("delivered", -699), ("opened", 100), ("replied", 900)))
    for name in "BC":  # same reply rate as A, fewer sends, tied with each other
        world, lead = worlds[name], leads[name]
        post(name, story(world, lead, 20, ("delivered", 21), ("replied", 80)),
             story(world, lead, 25, ("delivered", 26), ("opened", 27)))
    d, lead = worlds["D"], leads["D"]
    post("D", story(d, lead, 30, ("delivered", 31), ("replied", 90)),
         story(d, lead, 31, ("delivered", 32)), story(d, lead, 32, ("delivered", 33)))
    h, lead = worlds["H"], leads["H"]
    post("H", story(h, lead, 40, ("delivered", 41)), story(h, lead, 42, ("soft", 43)))
    e, lead = worlds["E"], leads["E"]
    post("E", story(e, lead, 45, ("delivered", 46), ("opened", 47)))
    f, lead = worlds["F"], leads["F"]  # sends, nothing delivered: never ranked
    post("F", story(f, lead, 50, ("hard", 51)), story(f, lead, 52))
    g, lead = worlds["G"], leads["G"]  # the best reply rate, but deleted
    post("G", story(g, lead, 55, ("delivered", 56), ("replied", 57)))

    set_status(tenant, worlds["B"].campaign, "archived")
    set_status(tenant, worlds["C"].campaign, "paused")
    set_status(tenant, worlds["D"].campaign, "finished")
    delete_campaign(tenant, worlds["G"].campaign)
    refresh(db, tenant.id, RefreshMode.FULL)
    return Dashboard(tenant, ledger, worlds, worlds["G"].campaign)


def expected_overview(board: Dashboard, window: Window) -> dict[str, Any]:
    live = {w.campaign for w in board.worlds.values()} - {board.deleted}
    unique = {kind: board.ledger.unique(kind, window, campaigns=live)
              for kind in ("sent", "delivered", "opened", "clicked", "replied")}
    per_campaign = []
    for world in board.worlds.values():
        if world.campaign == board.deleted:
            continue
        counts = {kind: board.ledger.unique(kind, window, campaigns={world.campaign})
                  for kind in ("sent", "delivered", "opened", "clicked", "replied")}
        if counts["delivered"]:
            per_campaign.append((world, counts))
    per_campaign.sort(key=lambda item: (-Fraction(item[1]["replied"], item[1]["delivered"]),
                                        -item[1]["sent"], item[0].campaign))
    names = {w.campaign: name for name, w in board.worlds.items()}
    statuses = {"B": "archived", "C": "paused", "D": "finished"}
    return {
        "summary": {
            "total_campaigns": 7, "active_campaigns": 4,
            "emails_sent": unique["sent"], "emails_delivered": unique["delivered"],
            "emails_opened": unique["opened"], "emails_clicked": unique["clicked"],
            "emails_replied": unique["replied"],
            # no event here carries client data: no machines, no click known to be a person's
            "machine_opens": 0, "bot_clicks": 0, "inferred_opens": 0,
        },
        "rates": {
            "delivery_rate": pct(unique["delivered"], unique["sent"]),
            "open_rate": pct(unique["opened"], unique["delivered"]),
            "click_rate": pct(unique["clicked"], unique["delivered"]),
            "reply_rate": pct(unique["replied"], unique["delivered"]),
        },
        "top_campaigns": [
            {"campaign_id": world.campaign, "campaign_name": f"Campaign {names[world.campaign]}",
             "status": statuses.get(names[world.campaign], "active"),
             "emails_sent": c["sent"], "emails_delivered": c["delivered"],
             "emails_opened": c["opened"], "emails_replied": c["replied"],
             "open_rate": pct(c["opened"], c["delivered"]),
             "click_rate": pct(c["clicked"], c["delivered"]),
             "reply_rate": pct(c["replied"], c["delivered"])}
            for world, c in per_campaign[:5]
        ],
    }


def overview(tenant: Tenant, **query: str) -> dict[str, Any]:
    response = tenant.get("/analytics/overview", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


def test_overview_counts_one_utc_day_and_ranks_the_top_five(tenant: Tenant,
                                                            db: Database) -> None:
    board = build_dashboard(tenant, db)
    window = local_window("2026-11-02", "2026-11-02", "UTC")
    data = overview(tenant, timeRange="custom", startDate="2026-11-02", endDate="2026-11-02")

    expected = expected_overview(board, window)
    assert data["summary"] == expected["summary"]
    assert data["rates"] == expected["rates"]
    assert data["top_campaigns"] == expected["top_campaigns"]
    assert data["time_range"] == {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z",
                                  "period": "custom", "timezone": "UTC"}
    assert parse_utc(data["as_of"]) == stored_as_of(db, tenant.id)
    # The hand-made case, spelled out: A (2/4) before B and C (1/2, fewer sends, by id),
    # then D (1/3), then H (0/1 with 2 sends) ahead of E (0/1 with 1 send), cut at five.
    worlds = board.worlds
    b_c = sorted([worlds["B"].campaign, worlds["C"].campaign])
    assert [c["campaign_id"] for c in data["top_campaigns"]] == [
        worlds["A"].campaign, *b_c, worlds["D"].campaign, worlds["H"].campaign]
    assert data["summary"]["emails_sent"] == 4 + 2 + 2 + 3 + 2 + 1 + 2
    assert data["summary"]["emails_replied"] == 2 + 1 + 1 + 1  # G deleted, A's late reply out


def test_overview_days_follow_the_requested_timezone(tenant: Tenant, db: Database) -> None:
    board = build_dashboard(tenant, db)
    zone = "America/New_York"
    data = overview(tenant, timeRange="custom", startDate="2026-11-02", endDate="2026-11-02",
                    timezone=zone)
    expected = expected_overview(board, local_window("2026-11-02", "2026-11-02", zone))
    assert data["time_range"] == {"start": "2026-11-02T00:00:00-05:00",
                                  "end": "2026-11-03T00:00:00-05:00",
                                  "period": "custom", "timezone": zone}
    assert data["summary"] == expected["summary"]
    assert data["rates"] == expected["rates"]
    assert data["top_campaigns"] == expected["top_campaigns"]
    # A's reply at 00:15 UTC on the 3rd is still the 2nd in New York.
    assert data["summary"]["emails_replied"] == 2 + 1 + 1 + 1 + 1


def test_default_window_is_the_last_30_local_days(tenant: Tenant, db: Database) -> None:
    board = build_dashboard(tenant, db)
    today = datetime.now(UTC).date()
    data = overview(tenant)
    window = local_window((today - timedelta(days=29)).isoformat(), today.isoformat(), "UTC")
    assert data["time_range"]["period"] == "30d"
    assert (parse_utc(data["time_range"]["start"]), parse_utc(data["time_range"]["end"])) \
        == window
    assert data["summary"] == expected_overview(board, window)["summary"]


def test_overview_is_per_workspace(make_tenant: Any, db: Database) -> None:
    mine, theirs = make_tenant(), make_tenant()
    build_dashboard(mine, db)
    assert_error(theirs.client.get(mine.prefix + "/analytics/overview",
                                   headers=theirs.headers), 404, "WORKSPACE_NOT_FOUND")
    data = overview(theirs)
    assert data["as_of"] is None  # never refreshed
    assert data["summary"] == {
        "total_campaigns": 0, "active_campaigns": 0, "emails_sent": 0, "emails_delivered": 0,
        "emails_opened": 0, "emails_clicked": 0, "emails_replied": 0, "machine_opens": 0,
        "bot_clicks": 0, "inferred_opens": 0}
    assert data["rates"] == {"delivery_rate": 0.0, "open_rate": 0.0, "click_rate": 0.0,
                             "reply_rate": 0.0}
    assert data["top_campaigns"] == []


def test_bad_ranges_and_zones_are_refused(tenant: Tenant) -> None:
    assert_error(tenant.get("/analytics/overview", query_string={"timeRange": "31d"}),
                 400, "INVALID_TIME_RANGE")
    assert_error(tenant.get("/analytics/overview", query_string={"timeRange": "custom"}),
                 400, "INVALID_TIME_RANGE")
    error = assert_error(tenant.get("/analytics/overview",
                                    query_string={"timezone": "Mars/Olympus"}),
                         400, "VALIDATION_ERROR")
    assert "timezone" in error["details"]


def test_only_the_overview_draws_on_the_overview_budget(app: Flask) -> None:
    """SPEC §4 budgets the workspace overview at 60/min; snapshot, compare and account
    analytics are "other endpoints" (300/min)."""
    views = app.view_functions
    assert views["workspace_analytics.workspace_overview"].rate_limit.category == "overview"  # type: ignore[attr-defined]
    for view in ("reporting_snapshot", "compare_campaigns", "accounts"):
        limit = getattr(views[f"workspace_analytics.{view}"], "rate_limit", None)
        assert limit is None or limit.category == "default", view
