"""``engagement=human`` numbers against an independent model built from the raw events and
the stored verdicts (issue 9): a generated data set (privacy-proxy opens, link scanners,
Gmail's image proxy) plus hand-made cases (a late delivery that makes a click too fast,
all links at once, a HEAD request, a person who clicks without opening), in UTC and in
America/New_York across the end of DST. A second test adds events and checks that an
incremental refresh leaves the rollups and verdicts of a full rebuild."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import Connection, text

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from campaign_analytics.generator import generate_dataset
from campaign_analytics.models.rollup import COUNTERS
from campaign_analytics.workspaces import create_workspace
from tests.analytics.reference import pct
from tests.conftest import Tenant
from tests.engagement.stored import NAMED_VERDICTS

END = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
EVENTS = 12_000
WINDOWS = [("UTC", "2026-09-01", "2026-11-20"), ("America/New_York", "2026-10-12", "2026-11-15")]
SCANNER = "Mozilla/5.0 (compatible; Proofpoint URL Defense)"
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/124.0.0.0 Safari/537.36")
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Message:
    campaign_id: str
    provider: str
    sent: datetime | None = None
    delivered: datetime | None = None
    human_open: datetime | None = None
    human_click: datetime | None = None
    person_click: datetime | None = None  # judged human: implies an open
    machine_open: datetime | None = None
    bot_click: datetime | None = None
    human_opens: list[datetime] = field(default_factory=list)
    human_clicks: list[datetime] = field(default_factory=list)


def earliest(*moments: datetime | None) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return min(present) if present else None


class Model:
    """Per message, from the raw rows: its send and first delivery, and the first and every
    open and click of people (a stored verdict other than machine) and of machines; a click
    judged human (not merely unknown) implies an open."""

    def __init__(self, db: Database, workspace_id: str) -> None:
        with db.engine.connect() as conn:
            owner = {r.message_id: (r.campaign_id, r.mailbox_provider) for r in conn.execute(
                text("SELECT message_id, campaign_id, mailbox_provider FROM messages "
                     "WHERE workspace_id = :ws"), {"ws": workspace_id})}
            events = conn.execute(text(
                "SELECT e.message_id, e.type, e.occurred_at, v.verdict FROM email_events e "
                f"LEFT JOIN {NAMED_VERDICTS} v ON v.event_id = e.id WHERE e.workspace_id = :ws "
                "AND e.type IN ('sent', 'delivered', 'opened', 'clicked') ORDER BY e.id"),
                {"ws": workspace_id}).all()
        self.messages: dict[str, Message] = {}
        for message_id, kind, at, verdict in events:
            if message_id not in owner:
                continue
            m = self.messages.setdefault(message_id, Message(*owner[message_id]))
            if kind in ("sent", "delivered"):
                setattr(m, kind, earliest(getattr(m, kind), at))
                continue
            machine = verdict == "machine"
            if kind == "opened" and machine:
                m.machine_open = earliest(m.machine_open, at)
            elif kind == "opened":
                m.human_open = earliest(m.human_open, at)
                m.human_opens.append(at)
            elif machine:
                m.bot_click = earliest(m.bot_click, at)
            else:
                m.human_click = earliest(m.human_click, at)
                m.human_clicks.append(at)
                if verdict == "human":
                    m.person_click = earliest(m.person_click, at)
        self.messages = {k: m for k, m in self.messages.items() if m.sent is not None}

    def numbers(self, campaign_id: str | None, start: datetime, end: datetime,
                provider: str | None = None) -> dict[str, int]:
        def inside(at: datetime | None) -> bool:
            return at is not None and start <= at < end

        counts: dict[str, int] = defaultdict(int)
        for m in self.messages.values():
            if campaign_id not in (None, m.campaign_id) or provider not in (None, m.provider):
                continue
            counts["delivered"] += inside(m.delivered)
            counts["emails_opened"] += inside(earliest(m.human_open, m.person_click))
            counts["emails_clicked"] += inside(m.human_click)
            counts["inferred_opens"] += m.human_open is None and inside(m.person_click)
            counts["machine_opens"] += inside(m.machine_open)
            counts["bot_clicks"] += inside(m.bot_click)
            counts["total_opens"] += sum(inside(at) for at in m.human_opens)
            counts["total_clicks"] += sum(inside(at) for at in m.human_clicks)
        return counts


def window_bounds(zone: str, first: str, last: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime.fromisoformat(first).replace(tzinfo=tz)
    end = datetime.fromisoformat(last).replace(tzinfo=tz) + timedelta(days=1)
    return start.astimezone(UTC), end.astimezone(UTC)


def setting(data: Tenant, db: Database, zone: str, first: str, last: str,
            ) -> tuple[Model, datetime, datetime, dict[str, str]]:
    """The model, the window's UTC bounds, and its query parameters."""
    start, end = window_bounds(zone, first, last)
    window = {"timeRange": "custom", "startDate": first, "endDate": last, "timezone": zone}
    return Model(db, data.id), start, end, window


def special_cases(tenant: Tenant, db: Database, workspace_id: str) -> list[dict[str, Any]]:
    """Messages whose verdicts hang on timing and method, sent through the API."""
    with db.engine.connect() as conn:
        parent = conn.execute(text(
            "SELECT campaign_id, lead_id, account_id FROM messages WHERE workspace_id = :ws "
            "AND sent_at IS NOT NULL ORDER BY message_id LIMIT 1"), {"ws": workspace_id}).one()
    serial = iter(range(10**6))

    def event(kind: str, message: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return {"external_id": f"special-{next(serial)}", "type": kind, "occurred_at": iso(at),
                "campaign_id": parent.campaign_id, "message_id": message, **fields}

    events = []
    for n in range(12):
        message, sent = f"special-{n}", END - timedelta(days=3 + n, hours=n)
        events.append(event("sent", message, sent, lead_id=parent.lead_id,
                            account_id=parent.account_id, recipient=f"s{n}@corp.example"))
        delivered = sent + timedelta(seconds=20)
        if n % 4 == 0:    # a click 1 s after a delivery that arrives in a later batch
            events.append(event("clicked", message, delivered + timedelta(seconds=1),
                                user_agent=BROWSER, ip="84.1.2.3", url="https://a.example/1"))
        elif n % 4 == 1:  # every link at once, generic browser
            events += [event("clicked", message, delivered + timedelta(minutes=5, seconds=s),
                             user_agent=BROWSER, ip="92.1.2.3", url=f"https://a.example/{s}")
                       for s in range(3)]
        elif n % 4 == 2:  # a HEAD request, then a person clicking without opening
            events.append(event("clicked", message, delivered + timedelta(minutes=1),
                                http_method="HEAD", user_agent=BROWSER, ip="109.1.2.3",
                                url="https://a.example/1"))
            events.append(event("clicked", message, delivered + timedelta(hours=2),
                                http_method="GET", user_agent=BROWSER, ip="109.1.2.4",
                                url="https://a.example/1"))
        else:             # a scanner, then the person opens a day later
            events.append(event("clicked", message, delivered + timedelta(seconds=30),
                                user_agent=SCANNER, ip="148.163.130.1", url="https://a.example/1"))
            events.append(event("opened", message, delivered + timedelta(days=1),
                                user_agent=BROWSER, ip="176.1.2.3"))
        events.append(event("delivered", message, delivered))  # last: after its clicks
    return events


def post(tenant: Tenant, events: list[dict[str, Any]]) -> None:
    response = tenant.post("/events", json={"events": events})
    assert response.status_code == 202, response.get_data(as_text=True)
    assert not response.get_json()["data"]["rejected"], response.get_json()["data"]


@pytest.fixture(scope="module")
def data(app: Flask, db: Database) -> Iterator[Tenant]:
    with db.sessions() as session:
        workspace, key = create_workspace(session, "Human engagement", "America/New_York")
    tenant = Tenant(app.test_client(), workspace.id, key)
    generate_dataset(db, workspace.id, EVENTS, seed=17, end=END)
    cases = special_cases(tenant, db, workspace.id)
    post(tenant, [e for e in cases if e["type"] != "delivered"])
    post(tenant, [e for e in cases if e["type"] == "delivered"])
    refresh(db, workspace.id, RefreshMode.FULL)
    yield tenant


def get(tenant: Tenant, path: str, **params: str) -> Any:
    response = tenant.get(path, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["data"]


def test_the_data_has_people_and_machines(data: Tenant, db: Database) -> None:
    with db.engine.connect() as conn:
        reasons = dict(conn.execute(text(
            f"SELECT reason, count(*) FROM {NAMED_VERDICTS} v WHERE workspace_id = :ws "
            "GROUP BY reason"), {"ws": data.id}).all())
    for reason in ("apple_mpp", "scanner_user_agent", "gmail_image_proxy", "person",
                   "too_fast", "all_links_at_once", "head_request"):
        assert reasons.get(reason, 0) > 0, reasons
    with db.engine.connect() as conn:
        unjudged = conn.execute(text(
            "SELECT count(*) FROM email_events e JOIN messages m ON m.workspace_id = :ws "
            "AND m.message_id = e.message_id AND m.sent_at IS NOT NULL "
            "WHERE e.workspace_id = :ws AND e.type IN ('opened', 'clicked') "
            "AND NOT EXISTS (SELECT 1 FROM event_verdicts v WHERE v.event_id = e.id)"),
            {"ws": data.id}).scalar_one()
    assert unjudged == 0


@pytest.mark.parametrize(("zone", "first", "last"), WINDOWS)
def test_campaign_analytics_for_people_equal_the_model(
    data: Tenant, db: Database, zone: str, first: str, last: str
) -> None:
    model, start, end, window = setting(data, db, zone, first, last)
    table = get(data, "/analytics/campaigns", engagement="human", **window)["campaigns"]
    for row in table:
        expected = model.numbers(row["campaign_id"], start, end)
        assert (row["emails_opened"], row["open_rate"]) == (
            expected["emails_opened"], pct(expected["emails_opened"], expected["delivered"]))
    campaigns = [row["campaign_id"] for row in table]
    for campaign_id in campaigns:
        human = get(data, f"/campaigns/{campaign_id}/analytics", engagement="human", **window)
        everyone = get(data, f"/campaigns/{campaign_id}/analytics", **window)
        expected = model.numbers(campaign_id, start, end)
        for name in ("emails_opened", "emails_clicked", "total_opens", "total_clicks",
                     "machine_opens", "bot_clicks", "inferred_opens"):
            assert human["summary"][name] == expected[name], (campaign_id, zone, name)
        for name in ("machine_opens", "bot_clicks", "inferred_opens", "emails_sent",
                     "emails_delivered", "emails_replied"):
            assert everyone["summary"][name] == human["summary"][name], name
        assert everyone["summary"]["emails_opened"] >= human["summary"]["emails_opened"] \
            - human["summary"]["inferred_opens"]
        delivered = expected["delivered"]
        assert human["rates"]["open_rate"] == pct(expected["emails_opened"], delivered)
        assert human["rates"]["click_rate"] == pct(expected["emails_clicked"], delivered)
        assert human["rates"]["click_to_open_rate"] == pct(expected["emails_clicked"],
                                                           expected["emails_opened"])
        # every day of the series, people only
        tz = ZoneInfo(zone)
        for point in human["time_series"]:
            day = datetime.fromisoformat(point["date"]).replace(tzinfo=tz)
            lo, hi = max(day.astimezone(UTC), start), (day + timedelta(days=1)).astimezone(UTC)
            daily = model.numbers(campaign_id, lo, min(hi, end))
            assert (point["opened"], point["clicked"]) == (
                daily["emails_opened"], daily["emails_clicked"]), (campaign_id, point["date"])


@pytest.mark.parametrize(("zone", "first", "last"), WINDOWS)
def test_overview_compare_providers_and_heatmap_for_people_equal_the_model(
    data: Tenant, db: Database, zone: str, first: str, last: str
) -> None:
    model, start, end, window = setting(data, db, zone, first, last)
    overview = get(data, "/analytics/overview", engagement="human", **window)
    everything = model.numbers(None, start, end)
    assert overview["summary"]["emails_opened"] == everything["emails_opened"]
    assert overview["summary"]["emails_clicked"] == everything["emails_clicked"]

    report = get(data, "/analytics/deliverability", engagement="human", **window)
    for row in report["by_provider"]:
        expected = model.numbers(None, start, end, provider=row["provider"])
        assert row["open_rate"] == pct(expected["emails_opened"], expected["delivered"])

    campaigns = get(data, "/analytics/campaigns", **window)["campaigns"]
    busiest = sorted(campaigns, key=lambda c: -c["emails_sent"])[:3]
    body = {"campaign_ids": [c["campaign_id"] for c in busiest], "time_range": "custom",
            "startDate": first, "endDate": last, "timezone": zone, "engagement": "human",
            "metrics": ["open_rate", "click_rate"]}
    compared = data.post("/analytics/compare", json=body).get_json()["data"]
    for entry in compared["comparison"]:
        expected = model.numbers(entry["campaign_id"], start, end)
        assert entry["metrics"]["open_rate"] == pct(expected["emails_opened"],
                                                    expected["delivered"])
        assert entry["sample_sizes"]["click_rate"] == expected["delivered"]

    heatmap = get(data, "/analytics/engagement-heatmap", engagement="human",
                  granularity="hour", **window)
    cells: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    tz = ZoneInfo(zone)
    for m in model.messages.values():
        assert m.sent is not None
        if start <= m.sent < end:
            local = m.sent.astimezone(tz)
            cell = cells[DAYS[local.weekday()], local.hour]
            cell[0] += 1
            cell[1] += earliest(m.human_open, m.person_click) is not None
            cell[2] += m.human_click is not None
    for cell in heatmap["heatmap"]:
        sent, opened, clicked = cells[cell["day_of_week"], cell["hour"]]
        assert (cell["emails_sent"], cell["emails_opened"], cell["emails_clicked"]) == (
            sent, opened, clicked), cell


def rollups(db: Database, workspace_id: str) -> dict[str, Any]:
    with db.engine.connect() as conn:
        columns = ", ".join(f"sum({name})" for name in COUNTERS)
        return {
            "campaign": conn.execute(text(
                f"SELECT campaign_id, bucket, {columns} FROM rollup_campaign_buckets "
                "WHERE workspace_id = :ws GROUP BY 1, 2 ORDER BY 1, 2"),
                {"ws": workspace_id}).all(),
            "delivery": conn.execute(text(
                f"SELECT campaign_id, account_id, provider, bucket, {columns} "
                "FROM rollup_delivery_buckets WHERE workspace_id = :ws "
                "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"), {"ws": workspace_id}).all(),
            "verdicts": conn.execute(text(
                f"SELECT event_id, verdict, reason FROM {NAMED_VERDICTS} v "
                "WHERE workspace_id = :ws "
                "ORDER BY event_id"), {"ws": workspace_id}).all(),
        }


def store_verdict(conn: Connection, event_id: int, verdict: str, reason: str) -> None:
    """Store a verdict for an event as some rules might have (numbering it if new)."""
    pair = {"v": verdict, "r": reason, "e": event_id}
    conn.execute(text("INSERT INTO verdict_reasons (verdict, reason) VALUES (:v, :r) "
                      "ON CONFLICT DO NOTHING"), pair)
    conn.execute(text("UPDATE event_verdicts SET reason_id = (SELECT id FROM verdict_reasons "
                      "WHERE verdict = :v AND reason = :r) WHERE event_id = :e"), pair)


def verdict_of(db: Database, workspace_id: str, external_id: str) -> tuple[str, str] | None:
    with db.engine.connect() as conn:
        row = conn.execute(text(
            f"SELECT v.verdict, v.reason FROM {NAMED_VERDICTS} v JOIN email_events e "
            "ON e.id = v.event_id WHERE e.workspace_id = :ws AND e.external_id = :x"),
            {"ws": workspace_id, "x": external_id}).one_or_none()
    return None if row is None else (row.verdict, row.reason)


def test_an_incremental_refresh_classifies_new_events_as_a_full_rebuild_does(
    data: Tenant, db: Database
) -> None:
    """New opens and clicks of old messages (a scanner, a burst, a person); new messages
    whose click is refreshed before their delivery arrives (which then makes the click too
    fast); a full refresh under the same rules: then a rebuild under "changed" rules must
    find exactly the same rollups and verdicts, whatever the older rules stored."""
    with db.engine.connect() as conn:
        old = conn.execute(text(
            "SELECT message_id, campaign_id, lead_id, account_id, sent_at FROM messages "
            "WHERE workspace_id = :ws AND sent_at IS NOT NULL AND lead_id IS NOT NULL "
            "AND account_id IS NOT NULL ORDER BY message_id LIMIT 40"), {"ws": data.id}).all()
    serial = iter(range(10**6))

    def event(kind: str, row: Any, at: datetime, **fields: Any) -> dict[str, Any]:
        return {"external_id": f"later-{next(serial)}", "type": kind, "occurred_at": iso(at),
                "campaign_id": row.campaign_id, "message_id": row.message_id, **fields}

    batch = []
    for n, row in enumerate(old):
        later = min(row.sent_at + timedelta(days=2, minutes=n), END)
        if n % 3 == 0:
            batch += [event("clicked", row, later + timedelta(seconds=s), user_agent=BROWSER,
                            ip="24.1.1.1", url=f"https://b.example/{s}") for s in range(2)]
        elif n % 3 == 1:
            batch.append(event("clicked", row, later, user_agent=SCANNER, ip="24.1.1.2",
                               url="https://b.example/x"))
        else:
            batch.append(event("opened", row, later, user_agent=BROWSER, ip="73.1.1.1"))
    parent, clicks, deliveries = old[0], [], []
    for n in range(6):
        sent = END - timedelta(days=1, hours=n)
        message = SimpleNamespace(campaign_id=parent.campaign_id,
                                  message_id=f"late-delivery-{n}")
        clicks.append(event("sent", message, sent, lead_id=parent.lead_id,
                            account_id=parent.account_id, recipient=f"late{n}@corp.example"))
        clicks.append(event("clicked", message, sent + timedelta(seconds=21),
                            user_agent=BROWSER, ip="84.9.9.9", url="https://c.example/1"))
        deliveries.append(event("delivered", message, sent + timedelta(seconds=20)))
    post(data, clicks)
    refresh(db, data.id, RefreshMode.INCREMENTAL)
    late_click = clicks[1]["external_id"]
    assert verdict_of(db, data.id, late_click) == ("human", "person")
    post(data, batch + deliveries)
    refresh(db, data.id, RefreshMode.INCREMENTAL)
    assert verdict_of(db, data.id, late_click) == ("machine", "too_fast")  # re-judged

    newest = event("opened", old[1], END, user_agent=BROWSER, ip="176.9.9.9")
    post(data, [newest])
    refresh(db, data.id, RefreshMode.FULL)  # the nightly rebuild judges what it adds
    assert verdict_of(db, data.id, newest["external_id"]) == ("human", "person")
    before = rollups(db, data.id)  # with the verdicts
    stale = before["verdicts"][:3]
    with db.engine.begin() as conn:  # as after a rule change: everything is re-made
        conn.execute(text("UPDATE refresh_state SET engagement_rules = 'older rules' "
                          "WHERE workspace_id = :ws"), {"ws": data.id})
        # What older rules could have stored: another verdict for the same reason, another
        # reason, no verdict at all.
        flipped = "human" if stale[0].verdict == "machine" else "machine"
        store_verdict(conn, stale[0].event_id, flipped, stale[0].reason)
        store_verdict(conn, stale[1].event_id, stale[1].verdict, "an_older_rule")
        conn.execute(text("DELETE FROM event_verdicts WHERE event_id = :e"),
                     {"e": stale[2].event_id})
    assert refresh(db, data.id, RefreshMode.INCREMENTAL).mode is RefreshMode.FULL
    assert rollups(db, data.id) == before
