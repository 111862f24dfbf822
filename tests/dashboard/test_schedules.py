"""The Exports screen's schedules (docs/schedules.md) in a real browser: each schedule's
name, cadence in words, timezone, next run and status as the API gives them, its last run
downloaded through the exports panel's own link, and Pause / Resume.

The stack is lighter than test_dashboard.py's: the API over HTTP and no worker; the run is
made by beat's tick function and its export run in-process, as a worker would."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update
from werkzeug.serving import make_server

from campaign_analytics.db import Database
from campaign_analytics.exports.storage import LocalStorage
from campaign_analytics.models import ExportSchedule
from campaign_analytics.schedules.runs import run_due_schedules
from campaign_analytics.settings import Settings
from tests.conftest import Tenant, tenant_factory
from tests.dashboard.conftest import Watch, ready, sign_in
from tests.dashboard.test_dashboard import SCREENSHOTS
from tests.exports.test_api import run_now
from tests.jobs.helpers import RecordingPublisher, load

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(settings: Settings, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Flask, str, LocalStorage]]:
    from webapi import create_app

    export_dir = tmp_path_factory.mktemp("schedule-exports")
    app = create_app(settings.model_copy(update={"storage_url": f"file://{export_dir}"}))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", LocalStorage(export_dir)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser, served: tuple[Flask, str, LocalStorage]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                  base_url=served[1])
    page = context.new_page()
    watch = Watch(served[1])
    page.on("console", watch.console)
    page.on("pageerror", lambda error: watch.errors.append(f"uncaught: {error}"))
    page.on("request", watch.request)
    try:
        yield page
        watch.assert_clean()
    finally:
        context.close()


def made_run(db: Database, settings: Settings, storage: LocalStorage, schedule_id: str) -> str:
    """The schedule's run, made by beat's tick and completed as a worker would."""
    due = datetime.now(UTC).replace(second=0, microsecond=0)
    with db.sessions() as session:
        session.execute(update(ExportSchedule).where(ExportSchedule.id == schedule_id)
                        .values(next_run_at=due))
        session.commit()
        report = run_due_schedules(session, RecordingPublisher(), settings,
                                   due + timedelta(seconds=1))
    export_id = report.runs[schedule_id]
    run_now(db, storage, export_id)
    return export_id


def test_the_exports_screen_lists_schedules_downloads_their_runs_and_pauses_them(
    page: Page, served: tuple[Flask, str, LocalStorage], db: Database, settings: Settings,
) -> None:
    app, _, storage = served
    tenant: Tenant = tenant_factory(app.test_client(), db)("Scheduler", "Europe/Berlin")
    body: dict[str, Any] = {"name": "Daily leads", "schedule": {"type": "daily", "time": "07:30"},
                            "export": {"export_type": "leads", "time_range": "7d"}}
    schedule = tenant.post("/export-schedules", json=body).get_json()["data"]
    export_id = made_run(db, settings, storage, schedule["id"])

    sign_in(page, tenant.key)
    page.goto("/app/#/exports")
    section = ready(page, "schedules")
    row = section.locator("tbody tr").first
    cells = [text.strip() for text in row.locator("td").all_inner_texts()]
    assert cells[:3] == ["Daily leads", "At 07:30 every day", "Europe/Berlin"]
    assert cells[4] == "active"
    shown = tenant.get(f"/export-schedules/{schedule['id']}").get_json()["data"]
    # The next run in the schedule's own timezone ("30 Nov 2026, 07:30").
    day = datetime.fromisoformat(shown["next_run_at"].replace("Z", "+00:00")).astimezone(
        ZoneInfo("Europe/Berlin"))
    assert cells[3].startswith(f"{day.day} ") and cells[3].endswith(f"{day.year}, 07:30")

    run = row.locator(f'[data-run="{export_id}"]')
    expect(run.locator(".badge")).to_have_text("completed")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "exports-schedules-1280.png", full_page=True)
    with page.expect_download(timeout=30_000) as download:
        run.get_by_role("link", name="Download").click()
    assert hashlib.sha256(Path(download.value.path()).read_bytes()).hexdigest() == (
        load(db, export_id).file_sha256)

    row.get_by_role("button", name="Pause").click()
    expect(section.locator('tbody tr td[data-key="status"]').first).to_have_text("paused")
    paused = tenant.get(f"/export-schedules/{schedule['id']}").get_json()["data"]
    assert (paused["status"], paused["next_run_at"]) == ("paused", None)
    section.locator("tbody tr").first.get_by_role("button", name="Resume").click()
    expect(section.locator("tbody tr").first.get_by_role("button", name="Pause")).to_be_visible()
    assert tenant.get(f"/export-schedules/{schedule['id']}").get_json()["data"][
        "status"] == "active"
