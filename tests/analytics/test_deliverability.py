"""GET /analytics/deliverability: every number against a plain recount of the events sent.

The data: two campaigns, four accounts (one blacklisted, two sharing an IP, one without
IP), five mailbox providers, hard and soft bounces with reasons (blank and missing ones
too), spam complaints, sends on both sides of the window and of the DST change in
America/New_York. Expected values are computed here from the events, never by the rollups.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import text

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error
from tests.world import next_id

PATH = "/analytics/deliverability"
TZ = "America/New_York"
# 2026-10-29 .. 2026-11-04 local, both inclusive; DST ends 2026-11-01 02:00 EDT.
START, END = "2026-10-29", "2026-11-04"
WINDOW = (datetime(2026, 10, 29, 4, tzinfo=UTC), datetime(2026, 11, 5, 5, tzinfo=UTC))
BASE = datetime(2026, 10, 28, 20, tzinfo=UTC)  # the first two sends fall before the window
DOMAINS = ("gmail.com", "googlemail.com", "hotmail.co.uk", "outlook.com", "yahoo.com",
           "me.com", "example.org")
PROVIDER = {"gmail.com": "gmail", "googlemail.com": "gmail", "hotmail.co.uk": "outlook",
            "outlook.com": "outlook", "yahoo.com": "yahoo", "me.com": "icloud",
            "example.org": "other"}
HARD_REASONS: tuple[str | None, ...] = ("550 user unknown", "550 mailbox disabled",
                                        "domain not found", None)
SOFT_REASONS = ("mailbox full", "Greylisted", "  ")  # capital: code-point order


# --- independent arithmetic ------------------------------------------------------------

def pct(numerator: int, denominator: int) -> float:
    if not denominator:
        return 0.0
    exact = Decimal(numerator * 100) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def health(sent: int, hard: int, soft: int, spam: int) -> int | None:
    if not sent:
        return None
    score = 100 - Fraction(600 * hard + 200 * soft + 10_000 * spam, sent)
    rounded = (Decimal(score.numerator) / Decimal(score.denominator)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP)
    return max(0, int(rounded))


# --- the data --------------------------------------------------------------------------

@dataclass
class Msg:
    id: str
    campaign: str
    account: str
    recipient: str
    sent: datetime
    # type -> occurrences (time, reason); bounces keyed "hard"/"soft"
    events: dict[str, list[tuple[datetime, str | None]]] = field(default_factory=dict)

    @property
    def provider(self) -> str:
        return PROVIDER[self.recipient.rsplit("@", 1)[1]]

    def first(self, kind: str) -> tuple[datetime, str | None] | None:
        return min(self.events.get(kind, []), default=None, key=lambda item: item[0])


@dataclass
class Setup:
    tenant: Tenant
    campaigns: dict[str, str]
    accounts: dict[str, str]
    checked_at: dict[str, datetime]
    messages: list[Msg]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _patch(tenant: Tenant, path: str, body: dict[str, Any]) -> Any:
    response = tenant.client.patch(tenant.prefix + path, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["data"]


def _create(tenant: Tenant, path: str, body: dict[str, Any]) -> str:
    response = tenant.post(path, json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return str(response.get_json()["data"]["id"])


def to_events(messages: list[Msg], leads: dict[str, str]) -> list[dict[str, Any]]:
    """The POST /events payload of the messages; ``leads`` maps campaign to a lead."""
    events: list[dict[str, Any]] = []
    for msg in messages:
        def event(kind: str, at: datetime, message: Msg = msg, **fields: Any) -> None:
            events.append({"external_id": f"e-{next_id()}", "type": kind,
                           "occurred_at": iso(at), "campaign_id": message.campaign,
                           "message_id": message.id, **fields})
        lead = leads[msg.campaign]
        event("sent", msg.sent, lead_id=lead, account_id=msg.account,
              recipient=msg.recipient)
        for kind, occurrences in msg.events.items():
            for at, reason in occurrences:
                if kind in ("hard", "soft"):
                    event("bounced", at, bounce_type=kind,
                          **({"reason": reason} if reason is not None else {}))
                elif kind == "replied":
                    event(kind, at, **{"from": msg.recipient, "subject": "Re: idea",
                                        "body": "Tell me more"})
                else:
                    event(kind, at)
    return events


def build(tenant: Tenant, db: Database, count: int = 46) -> Setup:
    """Create the campaigns, accounts and events; refresh; return what was sent."""
    campaigns = {name: _create(tenant, "/campaigns", {"name": name}) for name in ("A", "B")}
    leads = {name: _create(tenant, f"/campaigns/{cid}/leads",
                           {"contact_email": f"lead{next_id()}@example.com"})
             for name, cid in campaigns.items()}
    ips = {"acc1": "10.0.0.1", "acc2": "10.0.0.2", "acc3": "10.0.0.1", "acc4": None}
    accounts = {name: _create(tenant, "/accounts",
                              {"email": f"{name}-{next_id()}@sender.io",
                               **({"ip_address": ip} if ip else {})})
                for name, ip in ips.items()}
    checked_at = {}
    for name, flag in (("acc2", True), ("acc3", False)):
        data = _patch(tenant, f"/accounts/{accounts[name]}", {"blacklisted": flag})
        checked_at[name] = datetime.fromisoformat(data["blacklist_checked_at"])

    messages: list[Msg] = []
    for i in range(count):
        campaign = "A" if i % 3 else "B"
        account = "acc1" if i % 2 == 0 else ("acc2" if campaign == "A" else "acc4")
        sent = BASE + timedelta(hours=4 * i)
        msg = Msg(f"d-{next_id()}", campaigns[campaign], accounts[account],
                  f"r{i}@{DOMAINS[i % len(DOMAINS)]}", sent)
        hard = i % 5 == 0
        soft = i % 7 == 3 or i == 10  # message 10 soft-bounces, then hard-bounces
        if soft:
            msg.events["soft"] = [(sent + timedelta(minutes=1), SOFT_REASONS[(i // 7) % 3])]
        if hard:
            late = timedelta(hours=5) if i % 4 == 0 else timedelta(minutes=2)
            msg.events["hard"] = [(sent + late, HARD_REASONS[(i // 5) % 4])]
        if not hard and not soft:
            msg.events["delivered"] = [(sent + timedelta(minutes=1), None)]
            if i % 11 == 4:  # complaints three days later: some land after the window
                msg.events["spam_complaint"] = [(sent + timedelta(days=3), None)]
            if i % 2 == 1:
                msg.events["opened"] = [(sent + timedelta(hours=2), None),
                                        (sent + timedelta(hours=30), None)]
            if i % 6 == 1:
                msg.events["replied"] = [(sent + timedelta(hours=5), None)]
        messages.append(msg)

    events = to_events(messages, {campaigns[name]: lead for name, lead in leads.items()})
    # A failed attempt is no send.
    events.append({"external_id": f"e-{next_id()}", "type": "failed",
                   "occurred_at": iso(BASE + timedelta(days=2)), "campaign_id": campaigns["A"],
                   "message_id": f"f-{next_id()}", "lead_id": leads["A"],
                   "account_id": accounts["acc1"], "recipient": "x@gmail.com"})
    response = tenant.post("/events", json={"events": events})
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.get_json()["data"]["rejected"] == []
    refresh(db, tenant.id, RefreshMode.FULL)
    return Setup(tenant, campaigns, accounts, checked_at, messages)


# --- the expected report ---------------------------------------------------------------

COUNTED = ("delivered", "hard", "soft", "spam_complaint", "opened", "replied")


def tally(messages: list[Msg], keep: Callable[[Msg], bool]) -> dict[str, Any]:
    """Unique messages per counter on the local day of their first event in the window."""
    start, end = WINDOW
    zone = ZoneInfo(TZ)
    totals: Counter[str] = Counter()
    days: dict[date, Counter[str]] = defaultdict(Counter)
    providers: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    for msg in filter(keep, messages):
        firsts = {"sent": (msg.sent, None)}
        firsts.update({kind: first for kind in COUNTED if (first := msg.first(kind))})
        for kind, (at, reason) in firsts.items():
            if not start <= at < end:
                continue
            totals[kind] += 1
            days[at.astimezone(zone).date()][kind] += 1
            providers[msg.provider][kind] += 1
            if kind in ("hard", "soft"):
                reasons[(reason or "").strip(" ") or "unknown"] += 1
    return {"totals": totals, "days": days, "providers": providers, "reasons": reasons}


def expected_report(messages: list[Msg], keep: Callable[[Msg], bool]) -> dict[str, Any]:
    t = tally(messages, keep)
    n = t["totals"]
    sent, bounced, spam = n["sent"], n["hard"] + n["soft"], n["spam_complaint"]
    top = sorted(t["reasons"].items(), key=lambda item: (-item[1], item[0]))[:5]
    return {
        "overall": {
            "estimated_inbox_placement_rate": pct(sent - bounced - spam, sent),
            "spam_rate": pct(spam, n["delivered"]),
            "bounce_rate": pct(bounced, sent),
            "health_score": health(sent, n["hard"], n["soft"], spam),
        },
        "bounce_analysis": {
            "hard_bounces": n["hard"], "soft_bounces": n["soft"],
            "hard_bounce_rate": pct(n["hard"], sent), "soft_bounce_rate": pct(n["soft"], sent),
            "top_bounce_reasons": [{"reason": reason, "count": count,
                                    "percentage": pct(count, bounced)}
                                   for reason, count in top],
        },
        "reputation_trend": [
            {"date": day.isoformat(),
             "score": health(c["sent"], c["hard"], c["soft"], c["spam_complaint"])}
            for day, c in sorted(t["days"].items()) if c["sent"]],
        "by_provider": [
            {"provider": name, "sent": c["sent"], "delivered": c["delivered"],
             "bounce_rate": pct(c["hard"] + c["soft"], c["sent"]),
             "open_rate": pct(c["opened"], c["delivered"]),
             "reply_rate": pct(c["replied"], c["delivered"]),
             "spam_rate": pct(c["spam_complaint"], c["delivered"])}
            for name, c in sorted(t["providers"].items(), key=lambda item: (-item[1]["sent"],
                                                                             item[0]))
            if c["sent"]],
    }


def blacklist(setup: Setup, accounts: list[str]) -> dict[str, Any]:
    ips = {"acc1": "10.0.0.1", "acc2": "10.0.0.2", "acc3": "10.0.0.1", "acc4": None}
    checks = [setup.checked_at[name] for name in accounts if name in setup.checked_at]
    return {"any_ip_blacklisted": "acc2" in accounts,
            "ips_checked": len({ips[name] for name in accounts} - {None}),
            "last_check": iso(max(checks).astimezone(UTC)) if checks else None}


def fetch(tenant: Tenant, **params: str) -> dict[str, Any]:
    response = tenant.get(PATH, query_string={"timeRange": "custom", "startDate": START,
                                              "endDate": END, "timezone": TZ, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


@pytest.fixture
def setup(make_tenant: Callable[..., Tenant], db: Database) -> Setup:
    # The workspace's own zone differs from the one asked for: days follow the request.
    return build(make_tenant("Deliverability", "Asia/Tokyo"), db)


# --- the tests -------------------------------------------------------------------------

def test_workspace_report_matches_a_recount_of_the_events(setup: Setup) -> None:
    data = fetch(setup.tenant)
    expected = expected_report(setup.messages, lambda msg: True)
    assert data["time_range"] == {"start": "2026-10-29T00:00:00-04:00",
                                  "end": "2026-11-05T00:00:00-05:00",
                                  "period": "custom", "timezone": TZ}
    assert data["as_of"] is not None and data["as_of"].endswith("Z")
    for key, value in expected.items():
        assert data[key] == value, key
    assert data["blacklist_status"] == blacklist(setup, ["acc1", "acc2", "acc3", "acc4"])
    # The data exercises what it claims to: six reasons (top 5 shown), every provider,
    # both sides of the DST change, a health score below 100.
    assert len(tally(setup.messages, lambda msg: True)["reasons"]) == 6
    assert len(data["bounce_analysis"]["top_bounce_reasons"]) == 5
    assert {row["provider"] for row in data["by_provider"]} == set(PROVIDER.values())
    assert {"2026-10-31", "2026-11-01", "2026-11-02"} <= {
        point["date"] for point in data["reputation_trend"]}
    assert data["overall"]["health_score"] < 100


def test_sends_by_provider_agree_with_a_plain_sql_count(setup: Setup, db: Database) -> None:
    with db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT m.mailbox_provider, count(DISTINCT e.message_id) FROM email_events e "
            "JOIN messages m ON m.workspace_id = e.workspace_id "
            "AND m.message_id = e.message_id "
            "WHERE e.workspace_id = :ws AND e.type = 'sent' "
            "AND e.occurred_at >= :start AND e.occurred_at < :end "
            "GROUP BY 1"), {"ws": setup.tenant.id, "start": WINDOW[0], "end": WINDOW[1]})
        by_sql = dict(rows.all())
    data = fetch(setup.tenant)
    assert {row["provider"]: row["sent"] for row in data["by_provider"]} == by_sql


def test_campaign_and_account_filters(setup: Setup) -> None:
    a, b = setup.campaigns["A"], setup.campaigns["B"]
    acc = setup.accounts
    cases: list[tuple[dict[str, str], Callable[[Msg], bool], list[str]]] = [
        ({"campaignId": a}, lambda m: m.campaign == a, ["acc1", "acc2"]),
        ({"campaignId": b}, lambda m: m.campaign == b, ["acc1", "acc4"]),
        ({"accountId": acc["acc2"]}, lambda m: m.account == acc["acc2"], ["acc2"]),
        ({"accountId": acc["acc1"]}, lambda m: m.account == acc["acc1"], ["acc1"]),
        ({"accountId": acc["acc4"]}, lambda m: m.account == acc["acc4"], ["acc4"]),
        ({"campaignId": b, "accountId": acc["acc1"]},
         lambda m: m.campaign == b and m.account == acc["acc1"], ["acc1"]),
        # acc2 never sent in B: no numbers and no accounts.
        ({"campaignId": b, "accountId": acc["acc2"]}, lambda m: False, []),
    ]
    for params, keep, accounts in cases:
        data = fetch(setup.tenant, **params)
        expected = expected_report(setup.messages, keep)
        for key, value in expected.items():
            assert data[key] == value, (params, key)
        assert data["blacklist_status"] == blacklist(setup, accounts), params


def test_empty_window(setup: Setup) -> None:
    response = setup.tenant.get(PATH, query_string={
        "timeRange": "custom", "startDate": "2026-01-01", "endDate": "2026-01-31"})
    data = response.get_json()["data"]
    assert data["time_range"]["timezone"] == "Asia/Tokyo"  # the workspace's
    assert data["overall"] == {"estimated_inbox_placement_rate": 0.0, "spam_rate": 0.0,
                               "bounce_rate": 0.0, "health_score": None}
    assert data["bounce_analysis"] == {"hard_bounces": 0, "soft_bounces": 0,
                                       "hard_bounce_rate": 0.0, "soft_bounce_rate": 0.0,
                                       "top_bounce_reasons": []}
    assert data["reputation_trend"] == [] and data["by_provider"] == []
    # Blacklist status is the accounts' current state, whatever the window.
    assert data["blacklist_status"] == blacklist(setup, ["acc1", "acc2", "acc3", "acc4"])


def test_workspaces_are_isolated(setup: Setup, make_tenant: Callable[..., Tenant],
                                 db: Database) -> None:
    other = make_tenant("Other")
    mine = fetch(setup.tenant)
    campaign = _create(other, "/campaigns", {"name": "X"})
    lead = _create(other, f"/campaigns/{campaign}/leads", {"contact_email": "l@example.com"})
    account = _create(other, "/accounts", {"email": "o@sender.io", "ip_address": "10.9.9.9"})
    _patch(other, f"/accounts/{account}", {"blacklisted": True})
    sent = datetime(2026, 11, 2, 15, tzinfo=UTC)
    events = [{"external_id": f"e-{next_id()}", "type": "sent", "occurred_at": iso(sent),
               "campaign_id": campaign, "message_id": f"o-{n}", "lead_id": lead,
               "account_id": account, "recipient": f"o{n}@yahoo.com"} for n in range(3)]
    events.append({"external_id": f"e-{next_id()}", "type": "bounced",
                   "occurred_at": iso(sent + timedelta(minutes=1)), "campaign_id": campaign,
                   "message_id": "o-0", "bounce_type": "hard", "reason": "zzz other"})
    assert other.post("/events", json={"events": events}).status_code == 202
    refresh(db, other.id, RefreshMode.FULL)

    # Another workspace's data, in the same window, changes none of mine.
    assert fetch(setup.tenant) == mine
    theirs = fetch(other)
    assert theirs["by_provider"] == [{"provider": "yahoo", "sent": 3, "delivered": 0,
                                      "bounce_rate": 33.33, "open_rate": 0.0,
                                      "reply_rate": 0.0, "spam_rate": 0.0}]
    assert theirs["bounce_analysis"]["top_bounce_reasons"] == [
        {"reason": "zzz other", "count": 1, "percentage": 100.0}]
    assert theirs["blacklist_status"]["ips_checked"] == 1
    # Ids of one workspace are unknown in the other: 404, never 403.
    for params, code in (({"campaignId": setup.campaigns["A"]}, "CAMPAIGN_NOT_FOUND"),
                         ({"accountId": setup.accounts["acc1"]}, "ACCOUNT_NOT_FOUND"),
                         ({"campaignId": "cmp_missing"}, "CAMPAIGN_NOT_FOUND"),
                         ({"accountId": "acct_missing"}, "ACCOUNT_NOT_FOUND")):
        assert_error(other.get(PATH, query_string=params), 404, code)
    assert_error(setup.tenant.get(PATH, query_string={"campaignId": campaign}), 404,
                 "CAMPAIGN_NOT_FOUND")
    # Another workspace's path with my key: the workspace is not found.
    response = setup.tenant.client.get(other.prefix + PATH, headers=setup.tenant.headers)
    assert response.status_code == 404


def test_bad_requests(tenant: Tenant) -> None:
    for params in ({"timeRange": "5d"}, {"timeRange": "custom"},
                   {"timeRange": "custom", "startDate": "2026-11-05", "endDate": "2026-11-01"},
                   {"timeRange": "custom", "startDate": "2024-01-01", "endDate": "2026-01-01"}):
        assert_error(tenant.get(PATH, query_string=params), 400, "INVALID_TIME_RANGE")
    error = assert_error(tenant.get(PATH, query_string={"timezone": "Mars/Olympus"}), 400,
                         "VALIDATION_ERROR")
    assert "timezone" in error["details"]
    assert_error(tenant.get(PATH, query_string={"campaign": "x"}), 400, "VALIDATION_ERROR")


def test_counts_against_the_deliverability_budget(app: Flask, tenant: Tenant) -> None:
    view = app.view_functions["deliverability.report"]
    assert view.rate_limit.category == "deliverability"  # type: ignore[attr-defined]
    response = tenant.get(PATH)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit"] == str(view.rate_limit.per_minute)  # type: ignore[attr-defined]


def test_documented_in_openapi(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    operation = paths["/api/v1/workspaces/{workspace_id}/analytics/deliverability"]["get"]
    names = {param["name"] for param in operation["parameters"]}
    assert {"timeRange", "startDate", "endDate", "timezone", "campaignId", "accountId"} <= names


def test_health_score_uses_complaints_per_sent_and_rounds_half_up(
    make_tenant: Callable[..., Tenant], db: Database,
) -> None:
    """Day 1: 80 sends, 3 soft bounces → 100 - 2·3.75 = 92.5 → 93 (half up, not 92).
    Day 2: 40 sends, 1 hard bounce, 1 complaint → 100 - 15 - 250 → 0.
    Window: 120 sends → 100 - 5 - 5 - 83.33 = 6.67 → 7 (per delivered it would be 4)."""
    tenant = make_tenant("Health", TZ)
    campaign = _create(tenant, "/campaigns", {"name": "H"})
    lead = _create(tenant, f"/campaigns/{campaign}/leads", {"contact_email": "h@example.com"})
    account = _create(tenant, "/accounts", {"email": f"h{next_id()}@sender.io"})
    day1 = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)  # 00:30 EDT, Sunday 1 November
    day2 = datetime(2026, 11, 3, 4, 30, tzinfo=UTC)  # 23:30 EST, Monday 2 November
    messages = []
    for i in range(120):
        msg = Msg(f"h-{next_id()}", campaign, account, f"h{i}@gmail.com",
                  day1 if i < 80 else day2)
        later = msg.sent + timedelta(minutes=10)
        if i < 3:
            msg.events["soft"] = [(later, "mailbox full")]
        elif i == 80:
            msg.events["hard"] = [(later, "no such user")]
        else:
            msg.events["delivered"] = [(later, None)]
        if i == 81:
            msg.events["spam_complaint"] = [(later, None)]
        messages.append(msg)
    response = tenant.post("/events", json={"events": to_events(messages, {campaign: lead})})
    assert response.get_json()["data"]["rejected"] == []
    refresh(db, tenant.id, RefreshMode.FULL)

    data = tenant.get(PATH, query_string={"timeRange": "custom", "startDate": "2026-11-01",
                                          "endDate": "2026-11-02"}).get_json()["data"]
    assert data["reputation_trend"] == [{"date": "2026-11-01", "score": 93},
                                        {"date": "2026-11-02", "score": 0}]
    assert data["overall"] == {"estimated_inbox_placement_rate": pct(115, 120),
                               "spam_rate": pct(1, 116), "bounce_rate": pct(4, 120),
                               "health_score": 7}
    assert data["bounce_analysis"]["top_bounce_reasons"] == [
        {"reason": "mailbox full", "count": 3, "percentage": 75.0},
        {"reason": "no such user", "count": 1, "percentage": 25.0}]
    assert expected_report(messages, lambda msg: True)["overall"]["health_score"] == 7
