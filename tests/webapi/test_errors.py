"""Every failure answers the JSON envelope: never HTML, never a stack trace."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from campaign_analytics.db import Database
from campaign_analytics.models import ApiKey
from campaign_analytics.settings import Settings
from tests.conftest import Tenant, free_port


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body["error"]


def test_unknown_route_is_json_404(client: Any) -> None:
    assert_error(client.get("/nope"), 404, "NOT_FOUND")
    assert_error(client.get("/api/v1/workspaces/ws_x/nothing-here"), 404, "NOT_FOUND")


def test_wrong_method_is_json_405_with_allow(client: Any) -> None:
    response = client.delete("/healthz")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_invalid_json(tenant: Tenant) -> None:
    response = tenant.client.post(
        tenant.prefix + "/jobs/diagnostics", data="{not json",
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "INVALID_JSON")


def test_non_json_body_is_invalid_json(tenant: Tenant) -> None:
    response = tenant.client.post(
        tenant.prefix + "/jobs/diagnostics", data="steps=3", headers=tenant.headers,
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 400, "INVALID_JSON")


def test_validation_error_lists_each_field(tenant: Tenant) -> None:
    error = assert_error(
        tenant.post("/jobs/diagnostics", json={"steps": 0, "colour": "red"}),
        400, "VALIDATION_ERROR",
    )
    assert set(error["details"]) == {"steps", "colour"}


def test_a_json_array_body_is_a_validation_error(tenant: Tenant) -> None:
    assert_error(tenant.post("/jobs/diagnostics", json=[1, 2]), 400, "VALIDATION_ERROR")


def test_missing_key_is_401(client: Any, tenant: Tenant) -> None:
    response = client.get(tenant.prefix + "/jobs")
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer ca_wrong", "Basic dXNlcjpwYXNz", "Bearer ", "ca_x"])
def test_bad_key_is_401(client: Any, tenant: Tenant, header: str) -> None:
    assert_error(client.get(tenant.prefix + "/jobs", headers={"Authorization": header}),
                 401, "UNAUTHORIZED")


def test_revoked_key_is_401(tenant: Tenant, db: Database) -> None:
    assert tenant.get("/jobs").status_code == 200
    with db.sessions() as session:
        session.execute(update(ApiKey).where(ApiKey.workspace_id == tenant.id)
                        .values(revoked_at=datetime.now(UTC)))
        session.commit()
    assert_error(tenant.get("/jobs"), 401, "UNAUTHORIZED")


def test_another_workspace_is_404_not_403(make_tenant: Any) -> None:
    mine, theirs = make_tenant("Mine"), make_tenant("Theirs")
    response = mine.client.get(theirs.prefix + "/jobs", headers=mine.headers)
    assert_error(response, 404, "WORKSPACE_NOT_FOUND")
    response = mine.client.get("/api/v1/workspaces/ws_doesnotexist/jobs", headers=mine.headers)
    assert_error(response, 404, "WORKSPACE_NOT_FOUND")


def test_unexpected_exception_is_json_500(settings: Settings) -> None:
    from webapi import create_app

    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    error = assert_error(response, 500, "INTERNAL_ERROR")
    assert "secret internals" not in response.get_data(as_text=True)
    assert error["message"] == "Internal server error"


def _app_with(settings: Settings, **changes: Any) -> Flask:
    from webapi import create_app

    return create_app(settings.model_copy(update=changes))


def test_database_down_is_503_and_readyz_says_which(settings: Settings, tenant: Tenant) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/nope"
    client = _app_with(settings, database_url=closed).test_client()
    response = client.get(tenant.prefix + "/jobs", headers=tenant.headers)
    assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert response.headers["Retry-After"]
    error = assert_error(client.get("/readyz"), 503, "SERVICE_UNAVAILABLE")
    assert error["details"] == {"database": "unreachable", "broker": "ok"}


def test_broker_down_fails_readyz(settings: Settings) -> None:
    client = _app_with(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0").test_client()
    error = assert_error(client.get("/readyz"), 503, "SERVICE_UNAVAILABLE")
    assert error["details"] == {"database": "ok", "broker": "unreachable"}


def test_oversized_body_is_413(tenant: Tenant) -> None:
    response = tenant.client.post(
        tenant.prefix + "/jobs/diagnostics", data=b"x" * (64 * 1024 * 1024 + 1),
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
