"""GET /analytics/engagement-heatmap: a send-time heatmap, recounted here from the events.

Two zones: Asia/Kolkata (+05:30, so UTC hours split across local ones) as the workspace's
own, and America/New_York asked for over the week DST ends (2026-11-01).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from campaign_analytics.analytics.heatmap import Cell, optimal_send_time
from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error
from tests.world import next_id

PATH = "/analytics/engagement-heatmap"
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PERIOD_OF_HOUR = {hour: "nighttime" if hour < 6 else "early_morning" if hour < 9
                  else "office_hours" if hour < 17 else "evening" for hour in range(24)}
PERIODS = ("nighttime", "early_morning", "office_hours", "evening")


def rounded(value: Fraction) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass
class Send:
    campaign: str
    at: datetime
    opened: bool = False
    clicked: bool = False
    replied: bool = False
    engaged_at: timedelta = timedelta(hours=3)  # when the engagement came, after the send


def post(tenant: Tenant, sends: list[Send], leads: dict[str, str], account: str) -> None:
    events: list[dict[str, Any]] = []

    def event(kind: str, campaign: str, message: str, at: datetime, **fields: Any) -> None:
        events.append({"external_id": f"e-{next_id()}", "type": kind,
                       "occurred_at": at.isoformat().replace("+00:00", "Z"),
                       "campaign_id": campaign, "message_id": message, **fields})

    for send in sends:
        message, later = f"h-{next_id()}", send.at + send.engaged_at
        event("sent", send.campaign, message, send.at, lead_id=leads[send.campaign],
              account_id=account, recipient=f"{message}@gmail.com")
        if send.opened:  # two opens: still one opened message
            event("opened", send.campaign, message, later)
            event("opened", send.campaign, message, later + timedelta(hours=1))
        if send.clicked:
            event("clicked", send.campaign, message, later)
        if send.replied:
            event("replied", send.campaign, message, later,
                  **{"from": f"{message}@gmail.com", "subject": "Re", "body": "Sure"})
    response = tenant.post("/events", json={"events": events})
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.get_json()["data"]["rejected"] == []


def setup_tenant(tenant: Tenant) -> tuple[dict[str, str], str]:
    """Campaigns A and B with a lead each, and an account."""
    campaigns = {}
    leads = {}
    for name in ("A", "B"):
        response = tenant.post("/campaigns", json={"name": name})
        campaigns[name] = response.get_json()["data"]["id"]
        response = tenant.post(f"/campaigns/{campaigns[name]}/leads",
                               json={"contact_email": f"l{next_id()}@example.com"})
        leads[campaigns[name]] = response.get_json()["data"]["id"]
    account = tenant.post("/accounts", json={"email": f"s{next_id()}@sender.io"})
    return campaigns, leads | {"account": account.get_json()["data"]["id"]}


def expected(sends: list[Send], zone: str, start: datetime, end: datetime,
             keep: Callable[[Send], bool] = lambda send: True) -> dict[str, Any]:
    """Both granularities and the optimal hour, from the sends in [start, end)."""
    hours: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    periods: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    for send in sends:
        if not (keep(send) and start <= send.at < end):
            continue
        local = send.at.astimezone(ZoneInfo(zone))
        counts = Counter(sent=1, opened=int(send.opened), clicked=int(send.clicked),
                         replied=int(send.replied))
        hours[local.weekday(), local.hour].update(counts)
        periods[local.weekday(), PERIOD_OF_HOUR[local.hour]].update(counts)

    def score(c: Counter[str]) -> Fraction:
        if not c["sent"]:
            return Fraction(0)
        return Fraction(3 * c["opened"] + 4 * c["clicked"] + 3 * c["replied"], 10) \
            * 100 / c["sent"]

    def numbers(c: Counter[str]) -> dict[str, Any]:
        return {"emails_sent": c["sent"], "emails_opened": c["opened"],
                "emails_clicked": c["clicked"], "emails_replied": c["replied"],
                "open_rate": rounded(Fraction(c["opened"] * 100, c["sent"]))
                if c["sent"] else 0.0,
                "engagement_score": rounded(score(c))}

    by_hour = [{"day_of_week": DAYS[d], "hour": h, **numbers(hours[d, h])}
               for d in range(7) for h in range(24)]
    by_period = [{"day_of_week": DAYS[d], "time_period": p, **numbers(periods[d, p])}
                 for d in range(7) for p in PERIODS]
    eligible = [(slot, c) for slot, c in hours.items() if c["sent"] >= 20]
    best = None
    if eligible:
        (d, h), c = sorted(eligible, key=lambda item: (-score(item[1]), -item[1]["sent"],
                                                       item[0]))[0]
        best = {"day_of_week": DAYS[d], "hour": h, "engagement_score": rounded(score(c))}
    return {"hour": by_hour, "period": by_period, "optimal_send_time": best}


def fetch(tenant: Tenant, **params: str) -> dict[str, Any]:
    response = tenant.get(PATH, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


# --- Asia/Kolkata: the workspace's zone ------------------------------------------------

KOLKATA_WINDOW = {"timeRange": "custom", "startDate": "2026-11-02", "endDate": "2026-11-15"}
KOLKATA_START = datetime(2026, 11, 1, 18, 30, tzinfo=UTC)  # Mon 2 Nov 00:00 IST
KOLKATA_END = datetime(2026, 11, 15, 18, 30, tzinfo=UTC)  # Mon 16 Nov 00:00 IST


def kolkata_sends(a: str, b: str) -> list[Send]:
    sends: list[Send] = []
    # Monday 09:00-09:48 IST (03:30Z..): 25 sends, 10 opened, 5 clicked, 2 replied;
    # the first one's engagement comes after the window ends (still counted).
    for i in range(25):
        sends.append(Send(a, datetime(2026, 11, 2, 3, 30, tzinfo=UTC) + timedelta(minutes=2 * i),
                          opened=i < 10, clicked=i < 5, replied=i < 2,
                          engaged_at=timedelta(days=15) if i == 0 else timedelta(hours=3)))
    # Tuesday 14:00 IST: 20 sends, a lower score (21.5 against 22.4).
    for i in range(20):
        sends.append(Send(a, datetime(2026, 11, 3, 8, 30, tzinfo=UTC) + timedelta(minutes=i),
                          opened=i < 6, clicked=i < 4, replied=i < 3))
    # Wednesday 10:00 IST: a perfect score, but only 5 sends.
    sends += [Send(a, datetime(2026, 11, 4, 4, 45, tzinfo=UTC), True, True, True)] * 5
    # Edges of hours, periods and the window (IST = UTC + 05:30).
    sends += [
        Send(a, datetime(2026, 11, 1, 18, 15, tzinfo=UTC), True),  # Sun 23:45 before: out
        Send(a, datetime(2026, 11, 1, 18, 30, tzinfo=UTC), True),  # Mon 00:00 nighttime
        Send(a, datetime(2026, 11, 4, 0, 15, tzinfo=UTC), True),  # Wed 05:45 nighttime
        Send(a, datetime(2026, 11, 4, 0, 30, tzinfo=UTC), clicked=True),  # Wed 06:00 early
        Send(a, datetime(2026, 11, 4, 3, 15, tzinfo=UTC), replied=True),  # Wed 08:45 early
        Send(a, datetime(2026, 11, 4, 11, 15, tzinfo=UTC)),  # Wed 16:45 office hours
        Send(a, datetime(2026, 11, 4, 11, 30, tzinfo=UTC), True),  # Wed 17:00 evening
        Send(a, datetime(2026, 11, 15, 18, 15, tzinfo=UTC), True),  # Sun 23:45 evening
        Send(a, datetime(2026, 11, 15, 18, 30, tzinfo=UTC), True),  # Mon 16th: out
        # Sent before the window, opened inside it: not counted.
        Send(a, datetime(2026, 10, 30, 3, 30, tzinfo=UTC), True,
             engaged_at=timedelta(days=4)),
    ]
    # Campaign B, in A's best hour: only without a campaign filter.
    sends += [Send(b, datetime(2026, 11, 2, 4, 0, tzinfo=UTC), True, True, True)] * 3
    return sends


@pytest.fixture
def kolkata(make_tenant: Callable[..., Tenant], db: Database,
            ) -> tuple[Tenant, dict[str, str], list[Send]]:
    tenant = make_tenant("Kolkata", "Asia/Kolkata")
    campaigns, leads = setup_tenant(tenant)
    sends = kolkata_sends(campaigns["A"], campaigns["B"])
    post(tenant, sends, leads, leads["account"])
    # A failed attempt in the best hour is no send.
    failed = {"external_id": f"e-{next_id()}", "type": "failed",
              "occurred_at": "2026-11-02T03:40:00Z", "campaign_id": campaigns["A"],
              "message_id": f"f-{next_id()}", "lead_id": leads[campaigns["A"]],
              "account_id": leads["account"], "recipient": "f@gmail.com"}
    assert tenant.post("/events", json={"events": [failed]}).status_code == 202
    refresh(db, tenant.id, RefreshMode.FULL)
    return tenant, campaigns, sends


def test_kolkata_cells_match_a_recount(kolkata: tuple[Tenant, dict[str, str], list[Send]],
                                       make_tenant: Callable[..., Tenant],
                                       db: Database) -> None:
    tenant, _, sends = kolkata
    # Another workspace sending in the same slots changes nothing here.
    other = make_tenant("Other", "Asia/Kolkata")
    other_campaigns, other_leads = setup_tenant(other)
    post(other, [Send(other_campaigns["A"], datetime(2026, 11, 2, 3, 30, tzinfo=UTC))] * 30,
         other_leads, other_leads["account"])
    refresh(db, other.id, RefreshMode.FULL)

    want = expected(sends, "Asia/Kolkata", KOLKATA_START, KOLKATA_END)
    by_period = fetch(tenant, **KOLKATA_WINDOW)
    assert by_period["time_range"] == {"start": "2026-11-02T00:00:00+05:30",
                                       "end": "2026-11-16T00:00:00+05:30",
                                       "period": "custom", "timezone": "Asia/Kolkata"}
    assert by_period["as_of"] is not None
    assert by_period["granularity"] == "period"
    assert len(by_period["heatmap"]) == 28
    assert by_period["heatmap"] == want["period"]
    by_hour = fetch(tenant, granularity="hour", **KOLKATA_WINDOW)
    assert len(by_hour["heatmap"]) == 168
    assert by_hour["heatmap"] == want["hour"]
    # Monday 9h: 25 + 3 sends, (13·0.3 + 8·0.4 + 5·0.3) / 28 · 100 = 30.71.
    assert want["optimal_send_time"] == {"day_of_week": "Monday", "hour": 9,
                                         "engagement_score": 30.71}
    assert by_period["optimal_send_time"] == by_hour["optimal_send_time"] \
        == want["optimal_send_time"]
    monday_9 = by_hour["heatmap"][9]
    assert monday_9["emails_sent"] == 28  # 25 of A, 3 of B
    other_data = fetch(other, granularity="hour", **KOLKATA_WINDOW)
    assert other_data["heatmap"][9]["emails_sent"] == 30


def test_campaign_filter(kolkata: tuple[Tenant, dict[str, str], list[Send]]) -> None:
    tenant, campaigns, sends = kolkata
    results = {}
    for name in ("A", "B"):
        want = expected(sends, "Asia/Kolkata", KOLKATA_START, KOLKATA_END,
                        lambda send, cid=campaigns[name]: send.campaign == cid)
        data = fetch(tenant, granularity="hour", campaignId=campaigns[name], **KOLKATA_WINDOW)
        assert data["heatmap"] == want["hour"]
        assert data["optimal_send_time"] == want["optimal_send_time"]
        results[name] = data["optimal_send_time"]
    # A alone: Monday 9h, (10·0.3 + 5·0.4 + 2·0.3) / 25 · 100 = 22.4 beats Tuesday's 21.5
    # and Wednesday's 100 (5 sends only); B has 3 sends: no recommendation.
    assert results == {"A": {"day_of_week": "Monday", "hour": 9, "engagement_score": 22.4},
                       "B": None}


# --- America/New_York over the end of DST ----------------------------------------------

def test_dst_week_in_new_york(make_tenant: Callable[..., Tenant], db: Database) -> None:
    tenant = make_tenant("Utc")  # the zone is asked for, not the workspace's
    campaigns, leads = setup_tenant(tenant)
    a = campaigns["A"]
    sends = [
        Send(a, datetime(2026, 10, 26, 3, 45, tzinfo=UTC), True),  # Sun 25th 23:45 EDT: out
        Send(a, datetime(2026, 10, 26, 4, 0, tzinfo=UTC), True),  # Mon 00:00 EDT
        Send(a, datetime(2026, 10, 31, 13, 0, tzinfo=UTC), True),  # Sat 09:00 EDT
        Send(a, datetime(2026, 11, 1, 4, 0, tzinfo=UTC), replied=True),  # Sun 00:00 EDT
        Send(a, datetime(2026, 11, 1, 5, 30, tzinfo=UTC), True),  # Sun 01:30 EDT
        Send(a, datetime(2026, 11, 1, 6, 30, tzinfo=UTC), clicked=True),  # Sun 01:30 EST
        Send(a, datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),  # Sun 02:00 EST
        Send(a, datetime(2026, 11, 9, 4, 45, tzinfo=UTC), True),  # Sun 8th 23:45 EST
        Send(a, datetime(2026, 11, 9, 5, 0, tzinfo=UTC), True),  # Mon 9th: out
    ]
    # Saturday 08:00 EST (13:00Z, the UTC hour of the EDT Saturday's 09:00): 22 sends.
    sends += [Send(a, datetime(2026, 11, 7, 13, 0, tzinfo=UTC) + timedelta(minutes=i),
                   opened=i % 2 == 0, replied=i % 5 == 0) for i in range(22)]
    post(tenant, sends, leads, leads["account"])
    refresh(db, tenant.id, RefreshMode.FULL)

    zone = "America/New_York"
    start = datetime(2026, 10, 26, 4, tzinfo=UTC)
    end = datetime(2026, 11, 9, 5, tzinfo=UTC)
    want = expected(sends, zone, start, end)
    params = {"timeRange": "custom", "startDate": "2026-10-26", "endDate": "2026-11-08",
              "timezone": zone}
    by_hour = fetch(tenant, granularity="hour", **params)
    assert by_hour["time_range"]["start"] == "2026-10-26T00:00:00-04:00"
    assert by_hour["time_range"]["end"] == "2026-11-09T00:00:00-05:00"
    assert by_hour["heatmap"] == want["hour"]
    assert fetch(tenant, **params)["heatmap"] == want["period"]
    cell = {(c["day_of_week"], c["hour"]): c["emails_sent"] for c in by_hour["heatmap"]}
    assert cell["Sunday", 1] == 2  # the repeated hour, twice
    assert cell["Saturday", 9] == 1 and cell["Saturday", 8] == 22
    assert by_hour["optimal_send_time"] == want["optimal_send_time"] == {
        "day_of_week": "Saturday", "hour": 8,
        "engagement_score": rounded(Fraction(3 * 11 + 3 * 5, 10) * 100 / 22)}


# --- the choice of the optimal hour ----------------------------------------------------

def test_optimal_send_time_ties_and_threshold() -> None:
    empty = {(d, h): Cell() for d in range(7) for h in range(24)}
    assert optimal_send_time(empty) is None
    assert optimal_send_time({**empty, (0, 9): Cell(19, 19, 19, 19)}) is None
    # Equal scores: more sends win, then the earliest slot of the week.
    cells = {**empty, (2, 10): Cell(20, 10), (1, 15): Cell(40, 20), (1, 16): Cell(40, 20),
             (0, 8): Cell(19, 19, 19, 19)}
    assert optimal_send_time(cells) == {"day_of_week": "Tuesday", "hour": 15,
                                        "engagement_score": 15.0}
    # Unrounded scores decide: 20 beats 19.998, though both print as 20.0.
    cells = {**empty, (0, 1): Cell(30, 20), (6, 23): Cell(10_000, 6_666)}
    assert optimal_send_time(cells) == {"day_of_week": "Monday", "hour": 1,
                                        "engagement_score": 20.0}


# --- requests --------------------------------------------------------------------------

def test_every_time_range_is_accepted(tenant: Tenant) -> None:
    for period in ("7d", "14d", "30d", "90d"):
        data = fetch(tenant, timeRange=period)
        assert data["time_range"]["period"] == period
        assert len(data["heatmap"]) == 28
        assert all(cell["emails_sent"] == 0 and cell["engagement_score"] == 0.0
                   for cell in data["heatmap"])
        assert data["optimal_send_time"] is None
    assert fetch(tenant)["time_range"]["period"] == "30d"


def test_bad_requests(tenant: Tenant, make_tenant: Callable[..., Tenant]) -> None:
    error = assert_error(tenant.get(PATH, query_string={"granularity": "minute"}), 400,
                         "VALIDATION_ERROR")
    assert "granularity" in error["details"]
    error = assert_error(tenant.get(PATH, query_string={"timezone": "Nowhere/City"}), 400,
                         "VALIDATION_ERROR")
    assert "timezone" in error["details"]
    for params in ({"timeRange": "1y"}, {"timeRange": "custom", "startDate": "2026-11-01"},
                   {"startDate": "2026-11-09", "endDate": "2026-11-01"}):
        assert_error(tenant.get(PATH, query_string=params), 400, "INVALID_TIME_RANGE")
    other = make_tenant("Other")
    campaign = other.post("/campaigns", json={"name": "Theirs"}).get_json()["data"]["id"]
    assert_error(tenant.get(PATH, query_string={"campaignId": campaign}), 404,
                 "CAMPAIGN_NOT_FOUND")
    assert_error(tenant.get(PATH, query_string={"campaignId": "cmp_nope"}), 404,
                 "CAMPAIGN_NOT_FOUND")


def test_documented_in_openapi(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    operation = paths["/api/v1/workspaces/{workspace_id}/analytics/engagement-heatmap"]["get"]
    names = {param["name"] for param in operation["parameters"]}
    assert {"timeRange", "startDate", "endDate", "timezone", "campaignId",
            "granularity"} <= names
