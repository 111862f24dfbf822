"""Per-workspace rate limits (SPEC §4, §11.24), counted in the real test Redis.

Each test builds its own apps with small budgets and a key prefix of its own, and deletes
only the keys under that prefix afterwards.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask, Response

import webapi
from campaign_analytics.db import Database
from campaign_analytics.settings import Settings
from campaign_analytics.workspaces import create_workspace
from tests.conftest import Tenant, free_port
from webapi.auth import workspace_blueprint
from webapi.limits import rate_limited
from webapi.openapi import operation
from webapi.responses import ok

SMALL_LIMITS = {
    "rate_limit_default": 3,
    "rate_limit_exports": 2,
    "rate_limit_campaign_analytics": 4,
    "rate_limit_overview": 4,
    "rate_limit_deliverability": 4,
}

# A stand-in for the export endpoints being written: a view in the "exports" category.
probe = workspace_blueprint("rate_limit_probe", __name__)


@probe.post("/rate-limit-probe")
@rate_limited("exports")
@operation("Probe in the exports category", response=None, tags=("tests",))
def create_probe(workspace_id: str) -> Response:
    return ok({"workspace_id": workspace_id})


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"ratelimit-test-{secrets.token_hex(6)}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def limited_settings(settings: Settings, key_prefix: str) -> Settings:
    return settings.model_copy(update={**SMALL_LIMITS, "rate_limit_key_prefix": key_prefix})


@pytest.fixture
def make_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Settings], Flask]]:
    """Apps with the probe blueprint registered; their database pools closed afterwards."""
    monkeypatch.setattr(webapi, "BLUEPRINTS", (*webapi.BLUEPRINTS, probe))
    apps: list[Flask] = []

    def make(settings: Settings) -> Flask:
        apps.append(webapi.create_app(settings))
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["database"].engine.dispose()


@pytest.fixture
def workspace(db: Database) -> Callable[[Flask], Tenant]:
    def make(app: Flask) -> Tenant:
        with db.sessions() as session:
            created, key = create_workspace(session, "Limited", "UTC")
        return Tenant(app.test_client(), created.id, key)

    return make


def _headers(response: Any) -> tuple[str | None, str | None]:
    return response.headers.get("X-RateLimit-Limit"), response.headers.get("X-RateLimit-Remaining")


def test_the_request_after_the_limit_gets_429_with_retry_after(
    make_app: Any, limited_settings: Settings, workspace: Any
) -> None:
    tenant = workspace(make_app(limited_settings))
    for remaining in ("2", "1", "0"):
        response = tenant.get("/campaigns")
        assert response.status_code == 200
        assert _headers(response) == ("3", remaining)
        assert "Retry-After" not in response.headers

    rejected = tenant.get("/campaigns")
    assert rejected.status_code == 429
    assert rejected.get_json()["success"] is False
    assert rejected.get_json()["error"]["code"] == "RATE_LIMITED"
    assert "3 requests per minute" in rejected.get_json()["error"]["message"]
    assert 1 <= int(rejected.headers["Retry-After"]) <= 60
    assert _headers(rejected) == ("3", "0")


def test_every_request_counts_rejected_and_invalid_ones_included(
    make_app: Any, limited_settings: Settings, workspace: Any, redis_url: str,
    key_prefix: str,
) -> None:
    tenant = workspace(make_app(limited_settings))
    invalid = tenant.post("/campaigns", json={"name": ""})
    assert invalid.status_code == 400
    assert _headers(invalid) == ("3", "2")  # error responses carry the headers too
    assert [tenant.get("/campaigns").status_code for _ in range(4)] == [200, 200, 429, 429]

    client = redis.Redis.from_url(redis_url)
    counters = [int(client.get(key) or 0) for key in client.scan_iter(match=f"*{key_prefix}*")]
    client.close()
    assert counters == [5]


def test_each_workspace_has_its_own_budget(
    make_app: Any, limited_settings: Settings, workspace: Any
) -> None:
    app = make_app(limited_settings)
    busy, quiet = workspace(app), workspace(app)
    assert [busy.get("/campaigns").status_code for _ in range(4)][-1] == 429

    response = quiet.get("/campaigns")
    assert response.status_code == 200
    assert _headers(response) == ("3", "2")


def test_two_api_processes_share_the_budget(
    make_app: Any, limited_settings: Settings, workspace: Any
) -> None:
    first = workspace(make_app(limited_settings))
    second = Tenant(make_app(limited_settings).test_client(), first.id, first.key)
    statuses = [tenant.get("/campaigns").status_code for tenant in (first, second, first)]
    assert statuses == [200, 200, 200]
    assert second.get("/campaigns").status_code == 429


def test_a_category_has_its_own_budget_apart_from_the_default(
    make_app: Any, limited_settings: Settings, workspace: Any
) -> None:
    tenant = workspace(make_app(limited_settings))
    responses = [tenant.post("/rate-limit-probe") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [_headers(r) for r in responses] == [("2", "1"), ("2", "0"), ("2", "0")]

    default = tenant.get("/campaigns")
    assert default.status_code == 200
    assert _headers(default) == ("3", "2")


def test_requests_without_a_valid_key_spend_nothing(
    make_app: Any, limited_settings: Settings, workspace: Any
) -> None:
    app = make_app(limited_settings)
    tenant, other = workspace(app), workspace(app)
    client = app.test_client()
    for _ in range(5):
        unauthorized = client.get(f"{tenant.prefix}/campaigns",
                                  headers={"Authorization": "Bearer nope"})
        assert unauthorized.status_code == 401
        assert "X-RateLimit-Limit" not in unauthorized.headers
        # Another workspace's key on this path: 404, charged to nobody.
        assert client.get(f"{tenant.prefix}/campaigns", headers=other.headers).status_code == 404

    assert _headers(tenant.get("/campaigns")) == ("3", "2")
    assert _headers(other.get("/campaigns")) == ("3", "2")


def test_public_endpoints_are_not_limited(make_app: Any, limited_settings: Settings) -> None:
    client = make_app(limited_settings).test_client()
    for _ in range(5):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response.headers


def test_without_redis_the_api_answers_and_counts_in_memory(
    make_app: Any, limited_settings: Settings, workspace: Any, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(limited_settings.model_copy(update={"rate_limit_storage_url": unreachable}))
    tenant = workspace(app)
    with caplog.at_level(logging.WARNING):
        statuses = [tenant.get("/campaigns").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "falling back to in-memory storage" in caplog.text


def test_limits_can_be_switched_off(
    make_app: Any, limited_settings: Settings, workspace: Any
) -> None:
    tenant = workspace(make_app(limited_settings.model_copy(update={"rate_limits_enabled": False})))
    responses = [tenant.get("/campaigns") for _ in range(5)]
    assert {r.status_code for r in responses} == {200}
    assert "X-RateLimit-Limit" not in responses[-1].headers


def test_unknown_categories_are_refused_when_the_view_is_declared() -> None:
    with pytest.raises(ValueError, match="category"):
        rate_limited("analytics")  # type: ignore[arg-type]


def test_the_openapi_document_describes_429_and_the_headers(
    make_app: Any, limited_settings: Settings
) -> None:
    document = make_app(limited_settings).test_client().get("/api/v1/openapi.json").get_json()
    listing = document["paths"]["/api/v1/workspaces/{workspace_id}/campaigns"]["get"]
    rejected = listing["responses"]["429"]
    assert "3 requests per minute" in rejected["description"]
    assert set(rejected["headers"]) == {"X-RateLimit-Limit", "X-RateLimit-Remaining",
                                        "X-RateLimit-Reset", "Retry-After"}
    assert "X-RateLimit-Limit" in listing["responses"]["200"]["headers"]
    probe_doc = document["paths"]["/api/v1/workspaces/{workspace_id}/rate-limit-probe"]["post"]
    assert "'exports'" in probe_doc["responses"]["429"]["description"]
    assert "429" not in document["paths"]["/healthz"]["get"]["responses"]
    assert set(document["components"]["headers"]) >= set(rejected["headers"])
