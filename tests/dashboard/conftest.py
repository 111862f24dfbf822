"""A real stack for the browser: the API served over HTTP on loopback, a Celery worker
process, a generated and refreshed workspace, and Debian's Chromium driven by Playwright.

Chromium comes from ``apt-get install chromium`` (``.ci/run`` installs it); Playwright's
own browser download cannot work on this machine, so a missing ``/usr/bin/chromium`` fails
the tests with that instruction rather than skipping them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright
from werkzeug.serving import make_server

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from campaign_analytics.generator import generate_dataset
from campaign_analytics.settings import Settings
from campaign_analytics.workspaces import create_workspace
from tests.conftest import process_environment, quiet
from tests.processes import CeleryProcess

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As the machine's own probe starts it: root needs --no-sandbox, and the closed network
# refuses Chromium's background connections unless they are switched off.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
EVENTS = 20_000
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@dataclass
class Stack:
    app: Flask
    base_url: str
    workspace_id: str
    key: str
    timezone: str
    export_dir: Path
    worker: CeleryProcess


@pytest.fixture(scope="module")
def stack(settings: Settings, db: Database, database_url: str, redis_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from webapi import create_app

    workdir = tmp_path_factory.mktemp("dashboard")
    export_dir = workdir / "exports"
    export_dir.mkdir()
    quiet(db, redis_url)
    app = create_app(settings.model_copy(update={"storage_url": f"file://{export_dir}"}))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = {**process_environment(database_url, redis_url), "STORAGE_URL": f"file://{export_dir}"}
    worker = CeleryProcess.start("worker", env, workdir, "dashboard-worker")
    timezone = "America/New_York"
    with db.sessions() as session:
        workspace, key = create_workspace(session, "Dashboard demo", timezone)
    generate_dataset(db, workspace.id, EVENTS, seed=21)
    refresh(db, workspace.id, RefreshMode.FULL)
    try:
        yield Stack(app, f"http://127.0.0.1:{server.server_port}", workspace.id, key, timezone,
                    export_dir, worker)
    finally:
        worker.stop()
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium "
                    "('apt-get install chromium'; .ci/run does it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What a page did that a test must not let pass: console errors, uncaught exceptions,
    and requests to any host but the API's."""

    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    api_calls: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign.append(request.url)
        elif parts.path.startswith("/api/"):
            self.api_calls.append(f"{request.method} {parts.path}?{parts.query}")

    def calls_to(self, path_part: str) -> list[str]:
        return [call for call in self.api_calls if path_part in call]

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.foreign == [], self.foreign


@pytest.fixture
def watched(browser: Browser, stack: Stack, tmp_path: Path) -> Iterator[tuple[Page, Watch]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                  base_url=stack.base_url)
    page = context.new_page()
    watch = Watch(stack.base_url)
    page.on("console", watch.console)
    page.on("pageerror", lambda error: watch.errors.append(f"uncaught: {error}"))
    page.on("request", watch.request)
    try:
        yield page, watch
    finally:
        context.close()


def sign_in(page: Page, key: str) -> None:
    page.goto("/app/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def signed_in(page: Page, key: str) -> None:
    """Signed in, on the campaign list with its data shown."""
    sign_in(page, key)
    ready(page, "campaign-list")


def ready(page: Page, section: str, timeout: float = 30_000) -> Any:
    """The section's element once it shows its data (not loading, not failed)."""
    locator = page.locator(f'[data-section="{section}"]')
    locator.and_(page.locator('[data-state="ready"]')).wait_for(timeout=timeout)
    return locator
