"""POST /analytics/compare: rates, sample sizes and Wilson intervals per campaign, and a
chi-square test per rate, each recomputed here from the events the test sent."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from scipy.stats import chi2_contingency, norm

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from tests.analytics.test_overview import (
    Ledger,
    Window,
    delete_campaign,
    local_window,
    new_world,
    pct,
    story,
)
from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error
from tests.world import World

# Each rate's numerator and denominator, written out here rather than imported.
RATES = {
    "delivery_rate": ("delivered", "sent"),
    "open_rate": ("opened", "delivered"),
    "click_rate": ("clicked", "delivered"),
    "click_to_open_rate": ("clicked", "opened"),
    "reply_rate": ("replied", "delivered"),
    "bounce_rate": ("bounced", "sent"),
    "spam_rate": ("spam_complaint", "delivered"),
    "unsubscribe_rate": ("unsubscribed", "delivered"),
}
LOWEST_WINS = {"bounce_rate", "spam_rate", "unsubscribe_rate"}
DAY = {"time_range": "custom", "startDate": "2026-11-02", "endDate": "2026-11-02"}


def messages(world: World, lead: str, *, sent: int, delivered: int = 0, opened: int = 0,
             clicked: int = 0, replied: int = 0, hard: int = 0, soft: int = 0,
             unsubscribed: int = 0, start: float = 0) -> list[dict[str, Any]]:
    """``sent`` messages: the first ones delivered, opened, …; the last ones bounced."""
    events: list[dict[str, Any]] = []
    for i in range(sent):
        at = start + i
        later = [(kind, at + 1 + step) for step, (kind, n) in enumerate(
            [("delivered", delivered), ("opened", opened), ("clicked", clicked),
             ("replied", replied), ("unsubscribed", unsubscribed)]) if i < n]
        if i >= sent - hard:
            later.append(("hard", at + 1))
        elif i >= sent - hard - soft:
            later.append(("soft", at + 1))
        events += story(world, lead, at, *later)
    return events


def counts(ledger: Ledger, campaign: str, window: Window) -> dict[str, int]:
    kinds = ("sent", "delivered", "opened", "clicked", "replied", "spam_complaint",
             "unsubscribed")
    numbers = {kind: ledger.unique(kind, window, campaigns={campaign}) for kind in kinds}
    numbers["bounced"] = sum(ledger.unique(kind, window, campaigns={campaign})
                             for kind in ("hard", "soft"))
    return numbers


def wilson_percent(successes: int, trials: int) -> tuple[float, float]:
    """The textbook Wilson score interval, unrounded, in percent."""
    if not trials:
        return 0.0, 0.0
    z = norm.ppf(0.975)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - half) * 100, min(1.0, centre + half) * 100


def assert_two_decimals_of(got: float, exact: float) -> None:
    assert Decimal(str(got)) == Decimal(str(got)).quantize(Decimal("0.01"))
    assert abs(got - exact) <= 0.005 + 1e-9, (got, exact)


def chi_square(samples: list[tuple[int, int]]) -> float | None:
    table = [[s, n - s] for s, n in samples if n > 0]
    if len(table) < 2 or not sum(r[0] for r in table) or not sum(r[1] for r in table):
        return None
    return float(chi2_contingency(table, correction=False).pvalue)


def two_proportion_z(s1: int, n1: int, s2: int, n2: int) -> float:
    pooled = (s1 + s2) / (n1 + n2)
    z = (s1 / n1 - s2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))


def compare(tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    response = tenant.post("/analytics/compare", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


@pytest.fixture
def trio(tenant: Tenant, db: Database) -> tuple[Ledger, list[World]]:
    """X strong, Y few bounces but two unsubscribes, Z never opened."""
    ledger = Ledger()
    x, y, z = (new_world(tenant, name) for name in ("X", "Y", "Z"))
    lead = {w.campaign: w.lead() for w in (x, y, z)}
    ledger.post(x, messages(x, lead[x.campaign], sent=40, delivered=36, opened=20, clicked=8,
                            replied=6, hard=3, soft=1))
    # Outside the window: the day before, and a reply the day after.
    ledger.post(x, story(x, lead[x.campaign], -1000, ("delivered", -999), ("replied", -990)))
    ledger.post(x, story(x, lead[x.campaign], 100, ("delivered", 101), ("replied", 2000)))
    ledger.post(y, messages(y, lead[y.campaign], sent=30, delivered=29, opened=10, clicked=1,
                            replied=1, hard=1, unsubscribed=2, start=200))
    ledger.post(z, messages(z, lead[z.campaign], sent=12, delivered=10, hard=2, start=300))
    refresh(db, tenant.id, RefreshMode.FULL)
    return ledger, [x, y, z]


def test_every_rate_with_intervals_and_a_test_of_homogeneity(
        tenant: Tenant, trio: tuple[Ledger, list[World]]) -> None:
    ledger, worlds = trio
    ids = [w.campaign for w in worlds]
    data = compare(tenant, {"campaign_ids": ids, **DAY})
    window = local_window("2026-11-02", "2026-11-02", "UTC")
    numbers = {w.campaign: counts(ledger, w.campaign, window) for w in worlds}
    assert numbers[ids[0]]["sent"] == 41 and numbers[ids[0]]["replied"] == 6

    assert data["time_range"] == {"start": "2026-11-02T00:00:00Z",
                                  "end": "2026-11-03T00:00:00Z",
                                  "period": "custom", "timezone": "UTC"}
    assert data["as_of"] is not None
    assert [c["campaign_id"] for c in data["comparison"]] == ids
    assert [c["campaign_name"] for c in data["comparison"]] == ["X", "Y", "Z"]
    for entry in data["comparison"]:
        mine = numbers[entry["campaign_id"]]
        assert list(entry["metrics"]) == list(RATES)
        for rate, (numerator, denominator) in RATES.items():
            assert entry["metrics"][rate] == pct(mine[numerator], mine[denominator]), rate
            assert entry["sample_sizes"][rate] == mine[denominator], rate
            lower, upper = wilson_percent(mine[numerator], mine[denominator])
            assert_two_decimals_of(entry["intervals"][rate]["lower"], lower)
            assert_two_decimals_of(entry["intervals"][rate]["upper"], upper)

    significance = {s["metric"]: s for s in data["statistical_significance"]}
    assert list(significance) == list(RATES)
    for rate, (numerator, denominator) in RATES.items():
        samples = [(numbers[i][numerator], numbers[i][denominator]) for i in ids]
        expected = chi_square(samples)
        result = significance[rate]
        if expected is None:
            assert result["p_value"] is None, rate
        else:
            assert result["p_value"] == pytest.approx(expected, rel=1e-12), rate
        assert result["is_significant"] is (expected is not None and expected < 0.05), rate

    # Winners by hand: the best unrounded rate, lowest for the "bad" rates, none on a tie
    # for best or without a defined test.
    x, y, _ = ids
    assert {rate: s["winner"] for rate, s in significance.items()} == {
        "delivery_rate": y,        # 29/30 against 37/41 and 10/12
        "open_rate": x,            # 20/37 (the late-reply message was delivered too)
        "click_rate": x,
        "click_to_open_rate": x,   # Z has no opens: left out of the test
        "reply_rate": x,
        "bounce_rate": y,          # 1/30 is the lowest
        "spam_rate": None,         # no complaint anywhere: p undefined
        "unsubscribe_rate": None,  # X and Z share the lowest, 0 %
    }
    assert significance["spam_rate"]["is_significant"] is False
    assert significance["unsubscribe_rate"]["p_value"] is not None
    assert data["comparison"][2]["sample_sizes"]["click_to_open_rate"] == 0
    assert data["comparison"][2]["intervals"]["click_to_open_rate"] == {"lower": 0.0,
                                                                         "upper": 0.0}


def test_two_campaigns_match_the_two_proportion_z_test(
        tenant: Tenant, trio: tuple[Ledger, list[World]]) -> None:
    ledger, worlds = trio
    x, y = worlds[0].campaign, worlds[1].campaign
    data = compare(tenant, {"campaign_ids": [y, x], "metrics": ["reply_rate", "open_rate"],
                            **DAY})
    window = local_window("2026-11-02", "2026-11-02", "UTC")
    nx, ny = counts(ledger, x, window), counts(ledger, y, window)
    assert [c["campaign_id"] for c in data["comparison"]] == [y, x]
    assert list(data["comparison"][0]["metrics"]) == ["reply_rate", "open_rate"]
    for result in data["statistical_significance"]:
        numerator, denominator = RATES[result["metric"]]
        table = [[ny[numerator], ny[denominator] - ny[numerator]],
                 [nx[numerator], nx[denominator] - nx[numerator]]]
        assert result["p_value"] == pytest.approx(
            float(chi2_contingency(table, correction=False).pvalue), rel=1e-12)
        assert result["p_value"] == pytest.approx(two_proportion_z(
            ny[numerator], ny[denominator], nx[numerator], nx[denominator]), rel=1e-9)
        assert result["winner"] == x
    # open rate: 20/37 against 10/29 is not significant at 5 %; replies 6/37 vs 1/29 are.
    by_metric = {s["metric"]: s for s in data["statistical_significance"]}
    assert by_metric["open_rate"]["is_significant"] is (by_metric["open_rate"]["p_value"] < 0.05)
    assert by_metric["reply_rate"]["is_significant"] is (
        by_metric["reply_rate"]["p_value"] < 0.05)


def test_a_campaign_without_data_has_no_winner(tenant: Tenant, db: Database) -> None:
    busy, idle = new_world(tenant, "Busy"), new_world(tenant, "Idle")
    busy.post(messages(busy, busy.lead(), sent=5, delivered=5, replied=2))
    refresh(db, tenant.id, RefreshMode.FULL)
    data = compare(tenant, {"campaign_ids": [busy.campaign, idle.campaign],
                            "metrics": ["reply_rate"], "time_range": "90d"})
    assert data["time_range"]["period"] == "90d"
    assert data["comparison"][1] == {
        "campaign_id": idle.campaign, "campaign_name": "Idle", "metrics": {"reply_rate": 0.0},
        "sample_sizes": {"reply_rate": 0},
        "intervals": {"reply_rate": {"lower": 0.0, "upper": 0.0}}}
    assert data["statistical_significance"] == [
        {"metric": "reply_rate", "winner": None, "p_value": None, "is_significant": False}]


def test_requests_are_validated(make_tenant: Any, db: Database) -> None:
    tenant, other = make_tenant(), make_tenant()
    a, b, gone = (new_world(tenant, name) for name in ("A", "B", "Gone"))
    foreign = new_world(other, "Theirs").campaign
    delete_campaign(tenant, gone.campaign)
    pair = [a.campaign, b.campaign]

    def refused(body: dict[str, Any], status: int, code: str) -> dict[str, Any]:
        return assert_error(tenant.post("/analytics/compare", json=body), status, code)

    assert "campaign_ids" in refused({"campaign_ids": [a.campaign]}, 400,
                                     "VALIDATION_ERROR")["details"]
    refused({"campaign_ids": [f"cmp_{i}" for i in range(21)]}, 400, "VALIDATION_ERROR")
    refused({"campaign_ids": [a.campaign, a.campaign]}, 400, "VALIDATION_ERROR")
    refused({"campaign_ids": pair, "metrics": ["open_rate", "vibes"]}, 400, "VALIDATION_ERROR")
    refused({"campaign_ids": pair, "metrics": []}, 400, "VALIDATION_ERROR")
    refused({"campaign_ids": pair, "colour": "red"}, 400, "VALIDATION_ERROR")
    refused({"campaign_ids": pair, "timezone": "Mars/Olympus"}, 400, "VALIDATION_ERROR")
    refused({"campaign_ids": pair, "time_range": "31d"}, 400, "INVALID_TIME_RANGE")
    refused({"campaign_ids": pair, "time_range": "custom"}, 400, "INVALID_TIME_RANGE")
    refused({"campaign_ids": pair, "time_range": "custom", "startDate": "2026-11-05",
             "endDate": "2026-11-01"}, 400, "INVALID_TIME_RANGE")
    for stranger in ("cmp_nope", foreign, gone.campaign):
        refused({"campaign_ids": [a.campaign, stranger]}, 404, "CAMPAIGN_NOT_FOUND")
    assert_error(other.client.post(tenant.prefix + "/analytics/compare", json={
        "campaign_ids": pair}, headers=other.headers), 404, "WORKSPACE_NOT_FOUND")
    ok = compare(tenant, {"campaign_ids": pair, "timezone": "Asia/Kolkata"})
    assert ok["time_range"]["timezone"] == "Asia/Kolkata"
    assert ok["time_range"]["period"] == "30d"
    assert ok["as_of"] is None
