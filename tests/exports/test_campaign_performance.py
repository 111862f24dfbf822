"""campaign_performance carries the same numbers as GET /campaigns/{id}/analytics for the
window: every live campaign (zeros included), and with the time series every local day."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.analytics.windows import resolve_window
from campaign_analytics.db import Database
from campaign_analytics.exports.spec import (
    HUMAN_COLUMNS,
    RATE_COLUMNS,
    SUMMARY_COLUMNS,
    ExportFormat,
    ExportType,
    columns_of,
)
from campaign_analytics.exports.storage import LocalStorage
from tests.conftest import Tenant
from tests.exports.conftest import params, run_export
from tests.world import World

DAYS = {"startDate": "2026-10-30", "endDate": "2026-11-05"}


def window_params(timezone: str, **options: Any) -> Any:
    window = resolve_window("custom", DAYS["startDate"], DAYS["endDate"], timezone,
                            datetime.now())
    return params(ExportType.CAMPAIGN_PERFORMANCE, start=window.start, end=window.end,
                  timezone=timezone, **options)


def analytics(tenant: Tenant, campaign: str, timezone: str,
              engagement: str = "all") -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in {**DAYS, "timeRange": "custom",
                                              "timezone": timezone,
                                              "engagement": engagement}.items())
    response = tenant.get(f"/campaigns/{campaign}/analytics?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


SCANNER = "Mozilla/5.0 (compatible; Proofpoint URL Defense)"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"


def arrange(world: World, db: Database) -> tuple[str, str]:
    lead = world.lead()
    events = []
    for n in range(12):
        message = f"perf-{world.campaign}-{n}"
        events += [world.sent(message, lead, n * 300),
                   world.event("delivered", message, n * 300 + 1)]
        if n % 3 == 0:
            events.append(world.event("opened", message, n * 300 + 60))
        if n % 4 == 0:
            events.append(world.event("clicked", message, n * 300 + 90, url="https://x"))
        if n % 3 == 1:  # machines, so the human columns differ from the others
            events.append(world.event("opened", message, n * 300 + 30, ip="17.58.1.1"))
        if n % 4 == 1:
            events.append(world.event("clicked", message, n * 300 + 5, url="https://x",
                                      user_agent=SCANNER))
        if n == 2:  # a person who clicks without opening: an inferred open
            events.append(world.event("clicked", message, n * 300 + 120, url="https://y",
                                      user_agent=BROWSER, ip="84.1.2.3"))
        if n == 5:
            events.append(world.event("bounced", message, n * 300 + 2, bounce_type="hard",
                                      reason="no such user"))
    world.post(events)
    zero = world.tenant.post("/campaigns", json={"name": "=Zero, \"quiet\""})
    deleted = world.tenant.post("/campaigns", json={"name": "Deleted"}).get_json()["data"]["id"]
    assert world.tenant.client.delete(f"{world.tenant.prefix}/campaigns/{deleted}",
                                      headers=world.tenant.headers).status_code in (200, 202, 204)
    refresh(db, world.tenant.id, RefreshMode.FULL)
    return str(zero.get_json()["data"]["id"]), deleted


def test_one_row_per_campaign_with_the_apis_summary_and_rates(
        world: World, db: Database, storage: LocalStorage) -> None:
    zero, deleted = arrange(world, db)
    for timezone in ("UTC", "Asia/Kolkata"):
        done = run_export(db, storage, world.tenant.id,
                          replace(window_params(timezone), format=ExportFormat.JSONL))
        lines = [json.loads(line) for line in done.data.decode().splitlines()]
        assert [line["campaign_id"] for line in lines] == [world.campaign, zero]
        assert deleted not in {line["campaign_id"] for line in lines}
        for line in lines:
            api = analytics(world.tenant, line["campaign_id"], timezone)
            assert list(line) == [column.name for column in columns_of(
                ExportType.CAMPAIGN_PERFORMANCE)]
            assert {c.name: line[c.name] for c in SUMMARY_COLUMNS} == {
                c.name: api["summary"][c.name] for c in SUMMARY_COLUMNS}
            assert {c.name: line[c.name] for c in RATE_COLUMNS} == api["rates"]
            people = analytics(world.tenant, line["campaign_id"], timezone, "human")
            assert {c.name: line[c.name] for c in HUMAN_COLUMNS} == {
                c.name: people["rates" if c.name.endswith("_rate") else "summary"][
                    c.name.removeprefix("human_")] for c in HUMAN_COLUMNS}
            assert (line["campaign_name"], line["campaign_status"]) == (
                api["campaign"]["name"], api["campaign"]["status"])
        assert lines[0]["emails_sent"] == 12 and lines[1]["emails_sent"] == 0
        assert (lines[0]["machine_opens"], lines[0]["bot_clicks"], lines[0]["inferred_opens"]) \
            == (4, 3, 1)
        assert lines[0]["human_emails_opened"] == lines[0]["emails_opened"] - 4 + 1


def test_time_series_has_every_local_day_of_every_campaign(
        world: World, db: Database, storage: LocalStorage) -> None:
    zero, _ = arrange(world, db)
    export_params = window_params("Asia/Kolkata", include_time_series=True)
    done = run_export(db, storage, world.tenant.id, export_params)
    parsed = list(csv.reader(io.StringIO(done.data.decode(), newline="")))
    header, body = parsed[0], parsed[1:]
    assert header == [c.name for c in columns_of(ExportType.CAMPAIGN_PERFORMANCE, True)]
    days = [f"2026-{d}" for d in ("10-30", "10-31", "11-01", "11-02", "11-03", "11-04",
                                  "11-05")]
    assert [(row[0], row[3]) for row in body] == [
        (campaign, day) for campaign in (world.campaign, zero) for day in days]
    assert done.job.row_count == 14
    # The zero campaign's name is text: guarded, and quoted for its comma and quotes.
    assert {row[1] for row in body if row[0] == zero} == {"'=Zero, \"quiet\""}

    api = analytics(world.tenant, world.campaign, "Asia/Kolkata")
    series = {point["date"]: point for point in api["time_series"]}
    sent, opened = header.index("emails_sent"), header.index("emails_opened")
    for row in body:
        if row[0] == world.campaign:
            assert int(row[sent]) == series[row[3]]["sent"]
            assert int(row[opened]) == series[row[3]]["opened"]
    assert sum(int(row[sent]) for row in body) == api["summary"]["emails_sent"] == 12
