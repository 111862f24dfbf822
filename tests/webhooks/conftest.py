"""Arrangements for webhook tests: an app that may call loopback URLs (the receivers tests
start), the documented verification snippet imported from docs/examples, and a receiver."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from campaign_analytics.db import Database
from campaign_analytics.settings import Settings
from tests.conftest import Tenant, tenant_factory

DOCS_SNIPPET = Path(__file__).resolve().parents[2] / "docs" / "examples" / "verify_webhook.py"
# A loopback port nothing listens on: an attempt, if any worker made one, fails at once.
CLOSED_URL = "http://127.0.0.1:9/hooks"
ALL_EVENTS = ["export.completed", "export.failed", "refresh.completed", "refresh.failed"]


def load_snippet() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_webhook", DOCS_SNIPPET)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def snippet() -> ModuleType:
    return load_snippet()


@pytest.fixture(scope="session")
def private_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private_urls": True,
                                       "webhook_backoff_base_seconds": 0.5})


@pytest.fixture(scope="session")
def private_app(private_settings: Settings) -> Flask:
    """WEBHOOK_ALLOW_PRIVATE_URLS=true, as in development and tests."""
    from webapi import create_app

    return create_app(private_settings)


@pytest.fixture
def owner(private_app: Flask, db: Database) -> Tenant:
    """A workspace on the app that accepts loopback URLs."""
    return tenant_factory(private_app.test_client(), db)()


def subscribe(tenant: Tenant, url: str = CLOSED_URL, events: list[str] | None = None
              ) -> dict[str, Any]:
    response = tenant.post("/webhooks", json={"url": url, "events": events or ALL_EVENTS})
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


def send(client: FlaskClient, method: str, tenant: Tenant, path: str, body: Any = None
         ) -> Any:
    return client.open(tenant.prefix + path, method=method, json=body, headers=tenant.headers)


@dataclass
class Receiver:
    """An HTTP endpoint on loopback that answers ``failures`` 500s, then 200s, and keeps
    every request it got (headers and raw body)."""

    failures: int
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/campaigns"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((dict(self.headers.items()), body))
                failing = len(receiver.requests) <= receiver.failures
                self.send_response(500 if failing else 200)
                self.end_headers()
                self.wfile.write(b"try again later" if failing else b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver(failures=2)
    started.start()
    yield started
    started.stop()
