"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) against a real
stack: the API over HTTP, PostgreSQL, Redis and a Celery worker, with a generated data set.
What the page shows is checked against what the API answers for the same request."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from playwright.sync_api import Page, Route, expect

from campaign_analytics.db import Database
from campaign_analytics.workspaces import create_workspace
from tests.dashboard.conftest import WIDTHS, Stack, Watch, ready, sign_in, signed_in
from tests.exports.big import BIG, tenant_with_events

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("DASHBOARD_SCREENSHOTS", REPO / "test-output" / "dashboard"))
VOLUME = ("sent", "delivered", "opened", "replied")


def api(stack: Stack, path: str, key: str | None = None, workspace: str | None = None,
        **params: str) -> Any:
    """What the API itself answers, with the demo workspace's key unless told."""
    response = requests.get(
        f"{stack.base_url}/api/v1/workspaces/{workspace or stack.workspace_id}{path}",
        params=params, headers={"Authorization": f"Bearer {key or stack.key}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def biggest_campaign(stack: Stack) -> str:
    rows = api(stack, "/analytics/campaigns", timeRange="90d")["campaigns"]
    return str(max(rows, key=lambda row: row["emails_sent"])["campaign_id"])


def open_campaign(page: Page, stack: Stack, campaign_id: str) -> None:
    signed_in(page, stack.key)
    page.goto(f"/app/#/campaigns/{campaign_id}")
    all_ready(page)


def all_ready(page: Page) -> None:
    """Every section on the screen shows its data (or waits for a choice, as compare's)."""
    page.wait_for_function("""() => {
        const sections = [...document.querySelectorAll('[data-section]')];
        return sections.length > 0
            && sections.every((s) => ['ready', 'idle'].includes(s.dataset.state));
    }""", timeout=30_000)


def card(page: Page, section: str, name: str) -> float:
    value = page.locator(f'[data-section="{section}"] [data-metric="{name}"] .value')
    return float(value.get_attribute("data-value") or "nan")


def table_rows(page: Page, section: str) -> list[list[str]]:
    """The body rows of the section's first table (shown or folded away), as text."""
    return page.locator(f'[data-section="{section}"] table').first.evaluate(
        "t => [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent.trim()))")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def assert_campaign_page_matches(page: Page, stack: Stack, campaign_id: str, period: str,
                                 group: str) -> None:
    expected = api(stack, f"/campaigns/{campaign_id}/analytics", timeRange=period, groupBy=group,
                   timezone=stack.timezone)
    for name, value in expected["summary"].items():
        if page.locator(f'[data-section="summary"] [data-metric="{name}"]').count():
            assert card(page, "summary", name) == value, (period, group, name)
    for name, rate in (("emails_delivered", "delivery_rate"), ("emails_opened", "open_rate"),
                       ("emails_clicked", "click_rate"), ("emails_replied", "reply_rate"),
                       ("emails_bounced", "bounce_rate")):
        sub = page.locator(f'[data-section="summary"] [data-metric="{name}"] .sub')
        assert sub.text_content() == f'{rate.replace("_", " ").capitalize()} ' \
                                     f'{expected["rates"][rate]:.2f} %', (period, group, rate)
    series = [[row["date"], *(row[key] for key in VOLUME)] for row in expected["time_series"]]
    shown = [[row[0], *map(number, row[1:])] for row in table_rows(page, "volume")]
    assert shown == series, (period, group)
    funnel = {name.lower(): number(count) for name, count in table_rows(page, "funnel")}
    assert funnel == expected["leads"]["funnel"]
    assert card(page, "funnel", "response_rate") == expected["leads"]["response_rate"]
    if sum(expected["replies_by_classification"].values()):
        replies = {name.lower().replace(" ", "_"): number(count)
                   for name, count in table_rows(page, "replies")}
        assert replies == expected["replies_by_classification"]
    else:
        expect(page.locator('[data-section="replies"]')).to_contain_text("No replies")


def test_a_wrong_key_is_refused_with_a_message_and_the_right_one_signs_in(
    watched: tuple[Page, Watch], stack: Stack
) -> None:
    page, watch = watched
    sign_in(page, "ca_not-a-key-of-anyone")
    expect(page.get_by_role("alert")).to_contain_text("That key was not accepted")
    assert page.evaluate("Object.keys(sessionStorage)") == []
    assert page.locator("#shell").is_hidden()

    page.get_by_label("API key").fill(stack.key)
    page.get_by_role("button", name="Sign in").click()
    ready(page, "campaign-list")
    expect(page.locator("#workspace-name")).to_have_text("Dashboard demo")
    # The key lives in this tab's sessionStorage only: never a URL, a cookie, the page.
    assert stack.key in page.evaluate("Object.values(sessionStorage)")
    assert stack.key not in page.url and page.context.cookies() == []
    assert stack.key not in page.content()
    assert watch.foreign == []
    assert all("401" in error for error in watch.errors), watch.errors  # the refused key only


def test_the_campaign_page_shows_the_apis_numbers_and_refetches_on_each_choice(
    watched: tuple[Page, Watch], stack: Stack
) -> None:
    page, watch = watched
    campaign_id = biggest_campaign(stack)
    open_campaign(page, stack, campaign_id)
    assert_campaign_page_matches(page, stack, campaign_id, "30d", "day")
    for period, group in (("7d", "day"), ("7d", "week"), ("7d", "month"), ("90d", "month"),
                          ("90d", "week"), ("90d", "day"), ("30d", "week"), ("30d", "month")):
        before = len(watch.calls_to(f"/campaigns/{campaign_id}/analytics"))
        for control, value in (("#time-range", period), ("#group-by", group)):
            if page.locator(control).input_value() != value:
                page.select_option(control, value)
                all_ready(page)
        calls = watch.calls_to(f"/campaigns/{campaign_id}/analytics")
        assert len(calls) > before
        assert f"timeRange={period}" in calls[-1] and f"groupBy={group}" in calls[-1]
        assert_campaign_page_matches(page, stack, campaign_id, period, group)
    watch.assert_clean()


def test_people_only_shows_the_apis_human_numbers_and_says_how_many_were_machines(
    watched: tuple[Page, Watch], stack: Stack
) -> None:
    page, watch = watched
    campaign_id = biggest_campaign(stack)
    open_campaign(page, stack, campaign_id)
    everyone = api(stack, f"/campaigns/{campaign_id}/analytics", timeRange="30d",
                   timezone=stack.timezone)["summary"]
    note = page.locator('[data-note="machines"]')
    expect(note).to_contain_text(f"{everyone['machine_opens']:,} messages were opened by a "
                                 "machine")
    expect(note).to_contain_text(f"{everyone['bot_clicks']:,} had their links clicked")

    page.select_option("#engagement", "human")
    all_ready(page)
    assert "engagement=human" in watch.calls_to(f"/campaigns/{campaign_id}/analytics")[-1]
    assert "engagement=human" in watch.calls_to("/analytics/engagement-heatmap")[-1]
    people = api(stack, f"/campaigns/{campaign_id}/analytics", timeRange="30d",
                 timezone=stack.timezone, engagement="human")
    assert people["summary"]["emails_opened"] < everyone["emails_opened"]  # machines gone
    for name in ("emails_opened", "emails_clicked"):
        assert card(page, "summary", name) == people["summary"][name]
    expect(note).to_contain_text(f"{people['summary']['inferred_opens']:,} opens are inferred")
    watch.assert_clean()


def test_the_campaign_list_sorts_searches_and_matches_the_api(
    watched: tuple[Page, Watch], stack: Stack
) -> None:
    page, watch = watched
    signed_in(page, stack.key)
    expected = api(stack, "/analytics/campaigns", timeRange="30d")["campaigns"]
    rows = table_rows(page, "campaign-list")
    assert [row[0] for row in rows] == [c["campaign_name"] for c in expected]  # newest first
    assert [number(row[3]) for row in rows] == [c["emails_sent"] for c in expected]
    assert [row[4] for row in rows] == [f"{c['reply_rate']:.2f} %" for c in expected]

    page.click('[data-section="campaign-list"] button[data-sort="emails_sent"]')
    sent = [number(row[3]) for row in table_rows(page, "campaign-list")]
    assert sent == sorted(sent, reverse=True)
    word = expected[0]["campaign_name"].split()[0]
    page.get_by_label("Search campaigns by name").fill(word.lower())
    shown = [row[0] for row in table_rows(page, "campaign-list")]
    assert shown and all(word.lower() in name.lower() for name in shown)
    assert len(shown) == sum(word.lower() in c["campaign_name"].lower() for c in expected)
    watch.assert_clean()


def _observe_button(page: Page) -> None:
    """Record every text and disabled state the Export button goes through."""
    page.evaluate("""() => {
        const button = document.querySelector('[data-export="start"]');
        window.exportStates = [];
        new MutationObserver(() => window.exportStates.push(
            [button.textContent, button.disabled])).observe(
            button, {childList: true, characterData: true, subtree: true, attributes: true});
    }""")


def test_an_export_from_the_page_downloads_the_bytes_the_api_serves(
    watched: tuple[Page, Watch], stack: Stack
) -> None:
    page, watch = watched
    campaign_id = biggest_campaign(stack)
    open_campaign(page, stack, campaign_id)
    page.get_by_label("Type").select_option("events")
    page.get_by_label("Format").select_option("csv")
    _observe_button(page)
    with page.expect_download(timeout=60_000) as arrived, page.expect_response(
            lambda r: r.request.method == "POST" and "/analytics/export" in r.url) as submitted:
        page.click('[data-export="start"]')
    export_id = submitted.value.json()["data"]["export_id"]
    downloaded = Path(arrived.value.path()).read_bytes()

    states = page.evaluate("window.exportStates")
    exporting = [disabled for text, disabled in states if text.startswith("Exporting…")]
    assert exporting and all(exporting), states  # shown, and disabled all along
    expect(page.locator('[data-export="start"]')).to_have_text("Export")
    expect(page.locator('[data-export="start"]')).to_be_enabled()

    status = api(stack, f"/analytics/exports/{export_id}")
    assert status["status"] == "completed" and status["parameters"]["campaign_ids"] == [
        campaign_id]
    served = requests.get(urljoin(stack.base_url, status["download_url"]), timeout=30)
    assert served.status_code == 200
    assert downloaded == served.content
    assert hashlib.sha256(downloaded).hexdigest() == status["sha256"]
    assert arrived.value.suggested_filename == status["file_name"]
    assert downloaded.count(b"\n") == status["row_count"] + 1  # header + rows
    watch.assert_clean()


def test_a_failed_export_shows_the_jobs_own_error_message(
    watched: tuple[Page, Watch], stack: Stack
) -> None:
    """The worker's verdict reaches the person as the job wrote it (its status is replaced
    on the way, as a real failure would read, since a real one cannot be ordered here)."""
    page, watch = watched
    message = "The export needs more rows than a sheet holds (1,048,576)"

    def failed(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["data"].update(status="failed", download_url=None,
                            error={"code": "EXPORT_FAILED", "message": message})
        route.fulfill(response=response, json=body)

    signed_in(page, stack.key)
    page.goto("/app/#/overview")
    all_ready(page)
    page.route(lambda url: "/analytics/exports/exp_" in url, failed)
    page.click('[data-export="start"]')
    expect(page.locator(".export-status")).to_have_text(f"Export failed: {message}")
    expect(page.locator(".toast")).to_contain_text(message)
    expect(page.locator('[data-export="start"]')).to_be_enabled()
    assert watch.foreign == []


def _fail(route: Route) -> None:
    route.fulfill(status=503, content_type="application/json", body=json.dumps(
        {"success": False, "error": {"code": "SERVICE_UNAVAILABLE",
                                     "message": "Injected by the test"}}))


def test_a_failing_read_is_retried_once_and_a_lasting_failure_is_a_toast_not_a_blank_page(
    watched: tuple[Page, Watch], stack: Stack
) -> None:
    page, watch = watched
    campaign_id = biggest_campaign(stack)
    failures = {"deliverability": 0}

    def once(route: Route) -> None:
        if failures["deliverability"] == 0:
            failures["deliverability"] += 1
            _fail(route)
        else:
            route.continue_()

    page.route(lambda url: "/analytics/deliverability" in url, once)
    page.route(lambda url: "/analytics/engagement-heatmap" in url, _fail)
    signed_in(page, stack.key)
    page.goto(f"/app/#/campaigns/{campaign_id}")

    heatmap = page.locator('[data-section="heatmap"]')
    expect(heatmap).to_have_attribute("data-state", "error", timeout=30_000)
    expect(heatmap).to_contain_text("Injected by the test")
    toast = page.locator(".toast").filter(has_text="engagement heatmap")
    expect(toast).to_be_visible()
    expect(toast.get_by_role("button", name="Retry")).to_be_visible()
    for section in ("summary", "volume", "funnel", "replies", "deliverability"):
        ready(page, section)  # one failing section leaves the others whole
    assert len(watch.calls_to("/analytics/deliverability")) == 2  # failed once, retried once
    assert len(watch.calls_to("/analytics/engagement-heatmap")) == 2  # tried twice, then gave up

    page.unroute_all()
    toast.get_by_role("button", name="Retry").click()
    ready(page, "heatmap")
    assert [e for e in watch.errors if "503" not in e] == []
    assert watch.foreign == []


def test_compare_shows_rates_side_by_side_and_says_what_the_p_value_means(
    watched: tuple[Page, Watch], stack: Stack
) -> None:
    page, watch = watched
    signed_in(page, stack.key)
    page.goto("/app/#/compare")
    ready(page, "compare-pick")
    campaigns = api(stack, "/analytics/campaigns", timeRange="30d")["campaigns"]
    picked = sorted(campaigns, key=lambda c: -c["emails_sent"])[:2]
    for campaign in picked:
        page.locator(f'input[value="{campaign["campaign_id"]}"]').check()
    page.get_by_role("button", name="Compare").click()
    ready(page, "compare-result")

    response = requests.post(
        f"{stack.base_url}/api/v1/workspaces/{stack.workspace_id}/analytics/compare",
        json={"campaign_ids": [c["campaign_id"] for c in picked], "time_range": "30d",
              "timezone": stack.timezone},
        headers={"Authorization": f"Bearer {stack.key}"}, timeout=30).json()["data"]
    names = {c["campaign_id"]: c["campaign_name"] for c in response["comparison"]}
    for entry in response["comparison"]:
        shown = page.locator(f'td[data-campaign="{entry["campaign_id"]}"]'
                             '[data-metric="reply_rate"]')
        expect(shown).to_contain_text(f'{entry["metrics"]["reply_rate"]:.2f} %')
    reply = next(t for t in response["statistical_significance"] if t["metric"] == "reply_rate")
    verdict = page.locator('.verdict[data-metric="reply_rate"]')
    assert reply["p_value"] is not None and reply["winner"] is not None
    p = reply["p_value"]
    expected_p = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    expect(verdict).to_contain_text(f"{names[reply['winner']]}'s reply rate is higher")
    expect(verdict).to_contain_text(expected_p)
    expect(verdict).to_contain_text("not significant" if not reply["is_significant"]
                                    else "the difference is significant")
    watch.assert_clean()


def test_refresh_now_runs_a_refresh_job_and_shows_its_freshness(
    watched: tuple[Page, Watch], stack: Stack
) -> None:
    page, watch = watched
    signed_in(page, stack.key)
    expect(page.locator("#as-of")).to_contain_text("Data as of")
    expect(page.locator("#as-of")).to_contain_text("refreshing every 5 min")
    before = page.locator("#as-of").get_attribute("data-as-of")
    page.get_by_role("button", name="Refresh now").click()
    expect(page.locator("#refresh-status")).to_have_text("Up to date", timeout=60_000)
    assert watch.calls_to("/analytics/refresh") and watch.calls_to("/jobs/job_")
    jobs = api(stack, "/jobs", kind="refresh", status="completed")
    assert jobs, "the button created no refresh job"
    after = page.locator("#as-of").get_attribute("data-as-of")
    assert after is not None and before is not None
    assert datetime.fromisoformat(after) > datetime.fromisoformat(before)  # the new refresh
    ready(page, "campaign-list")
    watch.assert_clean()


def test_an_empty_workspace_says_how_to_get_data_and_its_timezone_can_be_changed(
    watched: tuple[Page, Watch], stack: Stack, db: Database
) -> None:
    page, watch = watched
    with db.sessions() as session:
        workspace, key = create_workspace(session, "Empty", "UTC")
    sign_in(page, key)
    listing = ready(page, "campaign-list")
    expect(listing).to_contain_text("No campaigns yet")
    expect(listing).to_contain_text(f"campaign-analytics generate --workspace {workspace.id}")

    with page.expect_request(lambda r: "timezone=Asia%2FKolkata" in r.url):
        page.select_option("#timezone", "Asia/Kolkata")
    page.get_by_role("button", name="Make workspace default").click()
    expect(page.locator(".toast")).to_contain_text("now Asia/Kolkata")
    response = requests.get(f"{stack.base_url}/api/v1/me",
                            headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert response.json()["data"]["workspace"]["timezone"] == "Asia/Kolkata"
    expect(page.locator("#save-timezone")).to_be_hidden()
    watch.assert_clean()


def test_the_exports_panel_lists_exports_and_cancels_a_running_one(
    watched: tuple[Page, Watch], stack: Stack, db: Database
) -> None:
    page, watch = watched
    tenant = tenant_with_events(stack.app.test_client(), db, BIG)
    sign_in(page, tenant.key)
    page.goto("/app/#/exports")
    expect(page.locator('[data-section="exports"]')).to_contain_text("No exports yet")
    page.get_by_label("Type").select_option("events")
    page.click('[data-export="start"]')
    cancel = page.locator("button[data-cancel]")
    expect(cancel).to_be_visible(timeout=30_000)  # the panel follows the running export
    export_id = cancel.get_attribute("data-cancel")
    cancel.click()
    expect(page.locator(".badge").first).to_have_text("canceled", timeout=30_000)
    expect(page.locator(".export-status")).to_have_text("Export canceled.")
    expect(page.locator('[data-export="start"]')).to_be_enabled()
    assert api(stack, f"/analytics/exports/{export_id}", key=tenant.key,
               workspace=tenant.id)["status"] == "canceled"
    assert watch.calls_to(f"DELETE /api/v1/workspaces/{tenant.id}/analytics/exports/{export_id}")

    page.get_by_label("Type").select_option("campaign_performance")
    with page.expect_download(timeout=60_000) as first:
        page.click('[data-export="start"]')
    link = page.locator('[data-section="exports"] a', has_text="Download")
    expect(link).to_have_count(1, timeout=10_000)
    with page.expect_download(timeout=30_000) as again:  # a fresh link, asked for on click
        link.click()
    assert Path(again.value.path()).read_bytes() == Path(first.value.path()).read_bytes()
    rows = table_rows(page, "exports")
    assert [row[0] for row in rows] == ["completed", "canceled"]
    assert rows[0][1] == "campaign_performance" and rows[0][4].endswith("B")  # a size
    assert watch.foreign == []


SCREENS = {
    "campaigns": "#/campaigns", "campaign": None, "overview": "#/overview",
    "compare": "#/compare", "exports": "#/exports",
}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_screen_renders_cleanly_at_desktop_and_phone_width(
    watched: tuple[Page, Watch], stack: Stack, width: str
) -> None:
    """A screenshot of each screen under test-output/dashboard/, no console error, nothing
    fetched from any host but the API's, and no sideways scrolling of the page itself."""
    page, watch = watched
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    signed_in(page, stack.key)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, route in SCREENS.items():
        page.goto(f"/app/{route or '#/campaigns/' + biggest_campaign(stack)}")
        all_ready(page)
        if name == "compare":
            page.locator('[data-section="compare-pick"] input').nth(0).check()
            page.locator('[data-section="compare-pick"] input').nth(1).check()
            page.get_by_role("button", name="Compare").click()
            ready(page, "compare-result")
        path = SCREENSHOTS / f"{name}-{WIDTHS[width][0]}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}"
    watch.assert_clean()
    assert {call.split("?")[0].split("/")[-1] for call in watch.api_calls} >= {
        "me", "campaigns", "analytics", "overview", "deliverability", "engagement-heatmap",
        "snapshot", "exports"}
