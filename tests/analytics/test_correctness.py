"""The proof that the numbers are right (issue 4, item 4).

A generated data set of 100,000 events, plus late, out-of-order and never-sent events
ingested through the API, is refreshed; then every number of campaign analytics is
compared with ``reference.Reference``, an independent model over the raw rows, in UTC,
America/New_York across the end of DST (2026-11-01) and Asia/Kolkata, by day, week and
month. A second test ingests more events, refreshes incrementally, and checks the
rollups equal a full rebuild.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from scipy.stats import chi2_contingency
from sqlalchemy import text

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from campaign_analytics.generator import generate_dataset
from campaign_analytics.models.rollup import COUNTERS
from campaign_analytics.workspaces import create_workspace
from tests.analytics.reference import Reference, bucket_start, pct
from tests.conftest import Tenant

END = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
EVENTS = 100_000
SUMMARY = {
    "emails_sent": "sent", "emails_delivered": "delivered", "emails_bounced": "bounced",
    "emails_opened": "opened", "emails_clicked": "clicked", "emails_replied": "replied",
    "spam_complaints": "spam_complaints", "unsubscribes": "unsubscribes",
    "emails_failed": "failed", "total_opens": "total_opens", "total_clicks": "total_clicks",
    "total_replies": "total_replies",
}
RATES = {
    "delivery_rate": ("delivered", "sent"), "open_rate": ("opened", "delivered"),
    "click_rate": ("clicked", "delivered"), "click_to_open_rate": ("clicked", "opened"),
    "reply_rate": ("replied", "delivered"), "bounce_rate": ("bounced", "sent"),
    "spam_rate": ("spam_complaints", "delivered"),
    "unsubscribe_rate": ("unsubscribes", "delivered"),
}
SERIES = ("sent", "delivered", "opened", "clicked", "replied", "bounced", "spam_complaints")
CASES = [
    ("UTC", "2026-09-01", "2026-11-20"),
    ("America/New_York", "2026-10-12", "2026-11-15"),
    ("Asia/Kolkata", "2026-10-20", "2026-11-19"),
]
REPLY_BODIES = [
    "Sounds interesting, send me the details please.",
    "Not interested, please remove me from your list.",
    "I am out of the office until Monday with limited access to email.",
]


@pytest.fixture(scope="module")
def data(app: Flask, db: Database) -> Iterator[Tenant]:
    with db.sessions() as session:
        workspace, key = create_workspace(session, "Correctness", "America/New_York")
    tenant = Tenant(app.test_client(), workspace.id, key)
    generate_dataset(db, workspace.id, EVENTS, seed=11, end=END)
    post_events(tenant, late_and_out_of_order(db, workspace.id, random.Random(5), "a"))
    refresh(db, workspace.id, RefreshMode.FULL)
    yield tenant


def post_events(tenant: Tenant, batches: list[list[dict[str, Any]]]) -> None:
    for batch in batches:
        response = tenant.post("/events", json={"events": batch})
        assert response.status_code == 202, response.get_data(as_text=True)
        assert not response.get_json()["data"]["rejected"], response.get_json()["data"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def late_and_out_of_order(db: Database, workspace_id: str, rng: random.Random,
                          tag: str) -> list[list[dict[str, Any]]]:
    """Late opens, clicks and replies of old messages (one earlier than the message's first
    open), new messages whose open comes a batch before their ``sent``, failures, bounces
    with reasons, and events of messages that are never sent."""
    with db.engine.connect() as conn:
        old = [dict(r._mapping) for r in conn.execute(text(
            "SELECT message_id, campaign_id, lead_id, account_id, sent_at FROM messages "
            "WHERE workspace_id = :ws AND sent_at IS NOT NULL ORDER BY message_id"),
            {"ws": workspace_id})]
    serial = iter(range(10**9))

    def event(kind: str, message: dict[str, Any], at: datetime, **extra: Any) -> dict[str, Any]:
        return {"external_id": f"x-{tag}-{next(serial)}", "type": kind,
                "occurred_at": iso(min(at, END)),
                "campaign_id": message["campaign_id"], "message_id": message["message_id"],
                **extra}

    first, second = [], []
    for message in rng.sample(old, 300):
        sent = message["sent_at"]
        first.append(event("opened", message, sent + timedelta(minutes=rng.randint(1, 30))))
        first.append(event("opened", message, sent + timedelta(days=rng.randint(2, 20))))
        if rng.random() < 0.4:
            first.append(event("clicked", message, sent + timedelta(days=rng.randint(1, 9))))
        if rng.random() < 0.3:
            first.append(event("replied", message, sent + timedelta(days=rng.randint(1, 9)),
                               body=rng.choice(REPLY_BODIES)))
    for n, parent in enumerate(rng.sample(old, 120)):
        message = {**parent, "message_id": f"new-{tag}-{n}"}
        sent = END - timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 1439))
        fields = {"lead_id": parent["lead_id"], "account_id": parent["account_id"],
                  "recipient": f"r{n}@{rng.choice(['gmail.com', 'yahoo.com', 'corp.io'])}"}
        if n % 10 == 0:
            first.append(event("failed", message, sent, **fields))
            continue
        first.append(event("opened", message, sent + timedelta(hours=3)))
        first.append(event("delivered", message, sent + timedelta(seconds=30)))
        second.append(event("sent", message, sent, **fields))
        if n % 7 == 0:
            second.append(event("bounced", message, sent + timedelta(minutes=2),
                                bounce_type=rng.choice(["hard", "soft"]),
                                reason=rng.choice(["mailbox full", "user unknown", None])))
        if n % 5 == 0:
            second.append(event("replied", message, sent + timedelta(days=1),
                                body=rng.choice(REPLY_BODIES)))
    for n in range(30):  # never sent: stored, never counted
        parent = rng.choice(old)
        first.append(event("opened", {**parent, "message_id": f"ghost-{tag}-{n}"},
                           END - timedelta(days=3)))
    return [first, second]


def local_dates(response: dict[str, Any]) -> tuple[datetime, datetime]:
    window = response["time_range"]
    return (datetime.fromisoformat(window["start"].replace("Z", "+00:00")),
            datetime.fromisoformat(window["end"].replace("Z", "+00:00")))


def check_campaign(tenant: Tenant, reference: Reference, campaign_id: str, timezone: str,
                   start: str, end: str, group_by: str) -> None:
    response = tenant.get(f"/campaigns/{campaign_id}/analytics",
                          query_string={"timeRange": "custom", "startDate": start,
                                        "endDate": end, "timezone": timezone,
                                        "groupBy": group_by})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()["data"]
    lo, hi = local_dates(body)
    assert lo.date() == date.fromisoformat(start) and hi.date() == \
        date.fromisoformat(end) + timedelta(days=1)
    expected = reference.counts(lo, hi, campaign_id)
    # Section 7's summary; machine_opens, bot_clicks, inferred_opens: tests/engagement.
    assert {name: body["summary"][name] for name in SUMMARY} == {
        name: expected[column] for name, column in SUMMARY.items()}
    assert body["rates"] == {name: pct(expected[n], expected[d])
                             for name, (n, d) in RATES.items()}
    assert body["replies_by_classification"] == {
        name: expected[f"reply:{name}"]
        for name in ("interested", "not_interested", "out_of_office", "replied")}
    buckets: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SERIES, 0))
    day = date.fromisoformat(start)
    while day <= date.fromisoformat(end):
        buckets[bucket_start(day, group_by).isoformat()]  # every bucket present
        day += timedelta(days=1)
    for day, counts in reference.daily(lo, hi, timezone, campaign_id).items():
        point = buckets[bucket_start(day, group_by).isoformat()]
        for name in SERIES:
            point[name] += counts["bounced_hard"] + counts["bounced_soft"] \
                if name == "bounced" else counts[name]
    assert body["time_series"] == [{"date": key, **value}
                                   for key, value in sorted(buckets.items())]


@pytest.mark.timeout(600)
def test_campaign_analytics_equal_an_independent_computation(data: Tenant, db: Database) -> None:
    reference = Reference.load(db, data.id)
    assert sum(1 for f in reference.facts if f.metric == "sent") > 20_000
    for campaign_id in reference.campaigns:
        for timezone, start, end in CASES:
            for group_by in ("day", "week", "month"):
                check_campaign(data, reference, campaign_id, timezone, start, end, group_by)


def test_lead_numbers_and_progress_equal_plain_sql(data: Tenant, db: Database) -> None:
    with db.engine.connect() as conn:
        campaign_id = conn.execute(text(
            "SELECT campaign_id FROM leads WHERE workspace_id = :ws GROUP BY 1 "
            "ORDER BY count(*) DESC LIMIT 1"), {"ws": data.id}).scalar_one()
        leads = conn.execute(text(
            "SELECT l.status, l.qualification, "
            "  (SELECT count(*) FROM messages m WHERE m.lead_id = l.id "
            "     AND m.sent_at IS NOT NULL) AS sent, "
            "  (SELECT count(*) FROM messages m WHERE m.lead_id = l.id "
            "     AND m.sent_at IS NULL) AS failed, "
            "  EXISTS (SELECT 1 FROM replies r WHERE r.lead_id = l.id "
            "     AND r.classification IN ('interested', 'replied')) AS replied "
            "FROM leads l WHERE l.campaign_id = :c"), {"c": campaign_id}).all()
    body = data.get(f"/campaigns/{campaign_id}/analytics").get_json()["data"]
    total = len(leads)
    contacted = sum(1 for lead in leads if lead.sent)
    replied = sum(1 for lead in leads if lead.replied)
    placed = sum(1 for lead in leads if lead.status == "placed")
    qualified = sum(1 for lead in leads if lead.qualification == "qualified")
    numbers = body["leads"]
    assert numbers["total"] == total
    assert numbers["funnel"] == {"discovered": total, "contacted": contacted,
                                 "replied": replied, "placed": placed}
    assert numbers["by_status"] == {s: sum(1 for lead in leads if lead.status == s) for s in (
        "discovered", "contacted", "replied", "placed", "lost", "bounced")}
    assert numbers["response_rate"] == pct(replied, total)
    assert numbers["qualification_rate"] == pct(qualified, replied)
    assert numbers["conversion_rate"] == pct(qualified, total)
    assert numbers["placement_rate"] == pct(placed, contacted)
    sent_messages = sum(lead.sent for lead in leads)
    assert numbers["messages_per_lead"] == pct(sent_messages, total * 100)  # ratio, 2 dp
    progress = body["progress"]
    assert progress["pending"] == sum(1 for lead in leads if not lead.sent + lead.failed)
    assert progress["partial"] == sum(1 for lead in leads if lead.sent and lead.failed)
    assert progress["failed"] == sum(1 for lead in leads if lead.failed and not lead.sent)
    failed_messages = sum(lead.failed for lead in leads)
    share = sent_messages / (sent_messages + failed_messages) * 100
    assert progress["delivery_health"] == (
        "healthy" if share > 95 else "moderate" if share >= 80 else "low")


def rollup_rows(db: Database, workspace_id: str) -> dict[str, set[tuple[Any, ...]]]:
    """Every rollup row without its surrogate id; rows of nothing but zeros are dropped."""
    counters = ", ".join(COUNTERS)
    queries = {
        "campaign": f"SELECT campaign_id, bucket, {counters} FROM rollup_campaign_buckets",
        "delivery": f"SELECT campaign_id, account_id, provider, bucket, {counters} "
                    "FROM rollup_delivery_buckets",
        "reasons": "SELECT campaign_id, account_id, bucket, bounce_type, reason, bounces "
                   "FROM rollup_bounce_reasons",
    }
    rows: dict[str, set[tuple[Any, ...]]] = {}
    with db.engine.connect() as conn:
        for name, sql in queries.items():
            result = conn.execute(text(sql + " WHERE workspace_id = :ws"), {"ws": workspace_id})
            width = len(COUNTERS) if name != "reasons" else 1
            rows[name] = {tuple(r) for r in result if any(r[-width:])}
    return rows


@pytest.mark.timeout(600)
def test_incremental_refresh_equals_a_full_rebuild(data: Tenant, db: Database) -> None:
    post_events(data, late_and_out_of_order(db, data.id, random.Random(9), "b"))
    result = refresh(db, data.id, RefreshMode.INCREMENTAL)
    assert 0 < result.new_events < 5_000, "incremental reads only the new events"
    incremental = rollup_rows(db, data.id)
    refresh(db, data.id, RefreshMode.FULL)
    assert rollup_rows(db, data.id) == incremental
    reference = Reference.load(db, data.id)
    for campaign_id in list(reference.campaigns)[:3]:
        check_campaign(data, reference, campaign_id, "America/New_York", "2026-10-12",
                       "2026-11-20", "week")


# --- every other endpoint on the same data set, against the same independent model -------

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NY_WINDOW = {"timeRange": "custom", "startDate": "2026-10-12", "endDate": "2026-11-15",
             "timezone": "America/New_York"}


def window_of(body: dict[str, Any]) -> tuple[datetime, datetime]:
    return local_dates(body)


def health(sent: int, hard: int, soft: int, spam: int) -> int | None:
    """SPEC §7/§11.12 literally: rates per sent in percent, unrounded, rounded half up."""
    if not sent:
        return None
    score = 100 - Fraction(600 * hard + 200 * soft + 10_000 * spam, sent)
    exact = Decimal(score.numerator) / Decimal(score.denominator)
    return max(0, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def test_overview_and_snapshot_equal_the_model(data: Tenant, db: Database) -> None:
    reference = Reference.load(db, data.id)
    body = data.get("/analytics/overview", query_string=NY_WINDOW).get_json()["data"]
    lo, hi = window_of(body)
    totals = reference.counts(lo, hi)
    assert body["summary"]["total_campaigns"] == len(reference.campaigns)
    for name, column in (("emails_sent", "sent"), ("emails_delivered", "delivered"),
                         ("emails_opened", "opened"), ("emails_clicked", "clicked"),
                         ("emails_replied", "replied")):
        assert body["summary"][name] == totals[column], name
    for name in ("delivery_rate", "open_rate", "click_rate", "reply_rate"):
        numerator, denominator = RATES[name]
        assert body["rates"][name] == pct(totals[numerator], totals[denominator]), name
    per_campaign = {cid: reference.counts(lo, hi, cid) for cid in reference.campaigns}
    ranked = sorted((cid for cid, c in per_campaign.items() if c["delivered"]),
                    key=lambda cid: (-Fraction(per_campaign[cid]["replied"],
                                               per_campaign[cid]["delivered"]),
                                     -per_campaign[cid]["sent"], cid))[:5]
    assert [entry["campaign_id"] for entry in body["top_campaigns"]] == ranked

    snapshot = data.get("/reporting/snapshot").get_json()["data"]
    everything = reference.counts(datetime.min.replace(tzinfo=UTC),
                                  datetime.max.replace(tzinfo=UTC))
    with db.engine.connect() as conn:
        placed = conn.execute(text("SELECT count(*) FROM leads WHERE workspace_id = :ws "
                                   "AND status = 'placed'"), {"ws": data.id}).scalar_one()
    assert (snapshot["total_sends"], snapshot["total_replies"], snapshot["total_placements"]) \
        == (everything["sent"], everything["total_replies"], placed)
    assert snapshot["overall_response_rate"] == pct(everything["total_replies"],
                                                    everything["sent"])
    assert snapshot["overall_placement_rate"] == pct(placed, everything["sent"])


def test_deliverability_equals_the_model(data: Tenant, db: Database) -> None:
    reference = Reference.load(db, data.id)
    body = data.get("/analytics/deliverability", query_string=NY_WINDOW).get_json()["data"]
    lo, hi = window_of(body)
    c = reference.counts(lo, hi)
    sent, hard, soft, spam = c["sent"], c["bounced_hard"], c["bounced_soft"], \
        c["spam_complaints"]
    assert body["overall"]["bounce_rate"] == pct(hard + soft, sent)
    assert body["overall"]["spam_rate"] == pct(spam, c["delivered"])
    assert body["overall"]["estimated_inbox_placement_rate"] == \
        pct(max(0, sent - hard - soft - spam), sent)
    assert body["overall"]["health_score"] == health(sent, hard, soft, spam)
    analysis = body["bounce_analysis"]
    assert (analysis["hard_bounces"], analysis["soft_bounces"]) == (hard, soft)
    reasons: dict[str, int] = defaultdict(int)
    for fact in reference.facts:
        if fact.metric in ("bounced_hard", "bounced_soft") and lo <= fact.at < hi:
            reasons[fact.reason or "unknown"] += 1
    top = sorted(reasons.items(), key=lambda item: (-item[1], item[0].encode()))[:5]
    assert len(top) == 5 and len(body["reputation_trend"]) > 30
    assert [(r["reason"], r["count"], r["percentage"]) for r in
            analysis["top_bounce_reasons"]] == [(reason, n, pct(n, hard + soft))
                                                for reason, n in top]
    providers: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for fact in reference.facts:
        if lo <= fact.at < hi:
            providers[fact.provider][fact.metric] += 1
            days[fact.at.astimezone(ZoneInfo(NY_WINDOW["timezone"])).date()][fact.metric] += 1
    expected = sorted(
        ({"provider": name, "sent": p["sent"], "delivered": p["delivered"],
          "bounce_rate": pct(p["bounced_hard"] + p["bounced_soft"], p["sent"]),
          "open_rate": pct(p["opened"], p["delivered"]),
          "reply_rate": pct(p["replied"], p["delivered"]),
          "spam_rate": pct(p["spam_complaints"], p["delivered"])}
         for name, p in providers.items() if p["sent"]),
        key=lambda row: (-row["sent"], row["provider"]))
    assert body["by_provider"] == expected
    assert body["reputation_trend"] == [
        {"date": day.isoformat(), "score": health(d["sent"], d["bounced_hard"],
                                                  d["bounced_soft"], d["spam_complaints"])}
        for day, d in sorted(days.items()) if d["sent"]]


def test_heatmap_equals_the_model(data: Tenant, db: Database) -> None:
    reference = Reference.load(db, data.id)
    query = {"timeRange": "custom", "startDate": "2026-09-01", "endDate": "2026-11-19",
             "timezone": "Asia/Kolkata", "granularity": "hour"}
    body = data.get("/analytics/engagement-heatmap", query_string=query).get_json()["data"]
    lo, hi = window_of(body)
    zone = ZoneInfo(query["timezone"])
    cells: dict[tuple[str, int], dict[str, int]] = {
        (day, hour): defaultdict(int) for day in DAYS for hour in range(24)}
    for _, sent_at, engaged in reference.sends:
        if lo <= sent_at < hi:
            local = sent_at.astimezone(zone)
            cell = cells[(DAYS[local.weekday()], local.hour)]
            cell["sent"] += 1
            for name in engaged:
                cell[name] += 1
    got = {(cell["day_of_week"], cell["hour"]): cell for cell in body["heatmap"]}
    assert set(got) == set(cells)
    assert sum(cell["sent"] for cell in cells.values()) > 10_000  # the test has teeth
    for key, cell in cells.items():
        score = Fraction(3 * cell["opened"] + 4 * cell["clicked"] + 3 * cell["replied"],
                         10 * cell["sent"]) * 100 if cell["sent"] else Fraction(0)
        assert got[key]["emails_sent"] == cell["sent"], key
        assert (got[key]["emails_opened"], got[key]["emails_clicked"],
                got[key]["emails_replied"]) == (cell["opened"], cell["clicked"],
                                                cell["replied"]), key
        assert got[key]["open_rate"] == pct(cell["opened"], cell["sent"]), key
        assert got[key]["engagement_score"] == float(Decimal(
            score.numerator / score.denominator).quantize(Decimal("0.01"),
                                                         rounding=ROUND_HALF_UP)), key


def test_compare_p_values_equal_scipy(data: Tenant, db: Database) -> None:
    reference = Reference.load(db, data.id)
    campaigns = sorted(reference.campaigns)[:4]
    body = data.post("/analytics/compare", json={
        "campaign_ids": campaigns, "time_range": "custom", "startDate": "2026-09-01",
        "endDate": "2026-11-19", "timezone": "UTC"}).get_json()["data"]
    lo, hi = window_of(body)
    counts = {cid: reference.counts(lo, hi, cid) for cid in campaigns}
    by_metric = {row["metric"]: row for row in body["statistical_significance"]}
    for name, (numerator, denominator) in RATES.items():
        table = [(counts[c][numerator], counts[c][denominator] - counts[c][numerator])
                 for c in campaigns if counts[c][denominator]]
        expected = chi2_contingency(table, correction=False).pvalue
        assert by_metric[name]["p_value"] == pytest.approx(expected, rel=1e-9), name
        for entry in body["comparison"]:
            c = counts[entry["campaign_id"]]
            assert entry["metrics"][name] == pct(c[numerator], c[denominator])
            assert entry["sample_sizes"][name] == c[denominator]


def test_account_analytics_equal_the_model(data: Tenant, db: Database) -> None:
    reference = Reference.load(db, data.id)
    body = data.get("/analytics/accounts").get_json()["data"]
    everything = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
    for account in body["accounts"]:
        c = reference.counts(*everything, account_id=account["account_id"])
        assert account["lifetime_sent"] == c["sent"]
        assert account["success_rate"] == pct(c["sent"], c["sent"] + c["failed"])
        assert account["bounce_rate"] == pct(c["bounced"], c["sent"])
    assert sum(a["lifetime_sent"] for a in body["accounts"]) == \
        reference.counts(*everything)["sent"]
