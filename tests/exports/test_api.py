"""The export endpoints through HTTP (SPEC §8, §11.27-31): request, validation, idempotency,
status, download links, DELETE, retention, campaign deletion and workspace isolation.

Exports are run in-process here (claimed and run as a worker would, against the app's own
storage directory); tests/exports/test_api_workers.py runs them on real worker processes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from campaign_analytics.db import Database
from campaign_analytics.exports.job import export
from campaign_analytics.exports.storage import LocalStorage
from campaign_analytics.jobs import runner, store
from campaign_analytics.settings import Settings
from tests.conftest import Tenant, tenant_factory
from tests.exports.conftest import claim
from tests.jobs.helpers import load, set_job, submit
from tests.world import World

EXPORT = "/analytics/export"


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-exports")


@pytest.fixture(scope="module")
def export_settings(settings: Settings, export_dir: Path) -> Settings:
    return settings.model_copy(update={"storage_url": f"file://{export_dir}"})


@pytest.fixture(scope="module")
def export_app(export_settings: Settings) -> Flask:
    from webapi import create_app

    return create_app(export_settings)


@pytest.fixture
def api(export_app: Flask) -> FlaskClient:
    return export_app.test_client()


@pytest.fixture
def app_storage(export_dir: Path) -> LocalStorage:
    return LocalStorage(export_dir)


@pytest.fixture
def make_api_tenant(api: FlaskClient, db: Database) -> Any:
    """Tenants whose requests reach the app that writes to this test's storage."""
    return tenant_factory(api, db, "Exporter")


@pytest.fixture
def shop(make_api_tenant: Any) -> World:
    """A workspace with a campaign, an account, a lead and a few events in the last 30 days."""
    tenant = make_api_tenant()
    campaign = tenant.post("/campaigns", json={"name": "Shop"}).get_json()["data"]["id"]
    account = tenant.post("/accounts", json={"email": f"s{secrets.token_hex(3)}@sender.io"})
    world = World(tenant, campaign, account.get_json()["data"]["id"])
    lead = world.lead()
    world.post([world.sent("m-1", lead), world.event("opened", "m-1", 5),
                world.event("clicked", "m-1", 6)])
    return world


def delete(tenant: Tenant, path: str) -> Any:
    return tenant.client.delete(tenant.prefix + path, headers=tenant.headers)


def request_export(tenant: Tenant, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {**tenant.headers, **({"Idempotency-Key": key} if key else {})}
    return tenant.client.post(tenant.prefix + EXPORT, json=body, headers=headers)


def run_now(db: Database, storage: LocalStorage, job_id: str) -> None:
    """Claim and run the export as a worker would, then complete it."""
    ctx = claim(db, job_id)
    result = export(ctx, storage)
    with db.sessions() as session:
        assert store.complete(session, job_id, ctx.attempt, result)


def completed(db: Database, storage: LocalStorage, tenant: Tenant,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = request_export(tenant, body or {"export_type": "events"})
    assert response.status_code == 202, response.get_json()
    export_id = response.get_json()["data"]["export_id"]
    run_now(db, storage, export_id)
    status = tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert status["status"] == "completed", status
    return dict(status)


def token_path(url: str) -> str:
    return "/api/v1/downloads/" + url.rsplit("/", 1)[1]


# --- request and validation ------------------------------------------------------------------

def test_a_request_answers_202_queued_with_an_estimate(shop: World) -> None:
    before = datetime.now(UTC)
    response = request_export(shop.tenant, {"export_type": "events"})
    assert response.status_code == 202
    data = response.get_json()["data"]
    assert set(data) == {"export_id", "status", "estimated_completion", "download_url"}
    assert data["export_id"].startswith("exp_") and data["status"] == "queued"
    assert data["download_url"] is None
    estimate = datetime.fromisoformat(data["estimated_completion"].replace("Z", "+00:00"))
    assert before < estimate < before + timedelta(minutes=1)


@pytest.mark.parametrize(("body", "field"), [
    ({"export_type": "everything"}, "export_type"),
    ({"export_type": "events", "format": "xml"}, "format"),
    ({"export_type": "events", "compression": "zip"}, "compression"),
    ({"format": "csv"}, "export_type"),
    ({"export_type": "events", "colour": "blue"}, "colour"),
    ({"export_type": "leads", "include_time_series": True}, "body"),
    ({"export_type": "events", "campaign_ids": []}, "campaign_ids"),
])
def test_bad_fields_are_validation_errors_with_details(
    shop: World, body: dict[str, Any], field: str
) -> None:
    response = request_export(shop.tenant, body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"], error


def test_a_bad_timezone_is_a_validation_error(shop: World) -> None:
    response = request_export(shop.tenant, {"export_type": "events", "timezone": "Mars/Base"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert "timezone" in response.get_json()["error"]["details"]


@pytest.mark.parametrize("body", [
    {"time_range": "45d"},
    {"time_range": "custom", "startDate": "2026-11-10"},
    {"time_range": "custom", "startDate": "2026-11-10", "endDate": "2026-11-01"},
    {"time_range": "7d", "startDate": "2026-11-01", "endDate": "2026-11-02"},
    {"startDate": "2024-01-01", "endDate": "2026-01-01"},
    {"startDate": "yesterday", "endDate": "2026-11-02"},
])
def test_bad_time_ranges_are_invalid_time_range(shop: World, body: dict[str, Any]) -> None:
    response = request_export(shop.tenant, {"export_type": "events", **body})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "INVALID_TIME_RANGE"


def test_raw_exports_take_any_instant_rollup_ones_quarter_hours(shop: World) -> None:
    """SPEC §11.3: a datetime range is exact; only campaign_performance reads the rollups,
    whose grain is 15 minutes."""
    odd = {"time_range": "custom", "startDate": "2026-11-01T10:07:00Z",
           "endDate": "2026-11-02T08:53:30+01:00"}
    assert request_export(shop.tenant, {"export_type": "events", **odd}).status_code == 202
    rolled = request_export(shop.tenant, {"export_type": "campaign_performance", **odd})
    assert rolled.status_code == 400
    assert rolled.get_json()["error"]["code"] == "INVALID_TIME_RANGE"
    assert "quarter hour" in rolled.get_json()["error"]["message"]


def test_unknown_deleted_or_foreign_campaigns_are_not_found(
    shop: World, make_api_tenant: Any
) -> None:
    other = make_api_tenant("Other")
    theirs = other.post("/campaigns", json={"name": "Theirs"}).get_json()["data"]["id"]
    gone = shop.tenant.post("/campaigns", json={"name": "Gone"}).get_json()["data"]["id"]
    assert delete(shop.tenant, f"/campaigns/{gone}").status_code in (200, 202, 204)
    for campaign in ("cmp_nope", theirs, gone):
        response = request_export(shop.tenant, {"export_type": "leads",
                                                "campaign_ids": [shop.campaign, campaign]})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "CAMPAIGN_NOT_FOUND"
        assert theirs not in str(response.get_json()["error"]) or campaign == theirs


# --- idempotency ------------------------------------------------------------------------------

def test_the_same_idempotency_key_returns_the_same_export(shop: World) -> None:
    body = {"export_type": "leads", "time_range": "7d"}
    first = request_export(shop.tenant, body, key="k-1").get_json()["data"]
    again = request_export(shop.tenant, {**body, "format": "csv"}, key="k-1")
    assert again.status_code == 202
    assert again.get_json()["data"]["export_id"] == first["export_id"]
    assert again.get_json()["data"]["estimated_completion"] == first["estimated_completion"]
    other = request_export(shop.tenant, body, key="k-2").get_json()["data"]
    assert other["export_id"] != first["export_id"]


def test_the_same_key_with_another_body_is_refused(shop: World) -> None:
    request_export(shop.tenant, {"export_type": "leads"}, key="k-body")
    response = request_export(shop.tenant, {"export_type": "replies"}, key="k-body")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_the_schedules_keys_are_reserved(shop: World) -> None:
    """A client cannot take a scheduled run's place by sending its key first."""
    response = request_export(shop.tenant, {"export_type": "leads"}, key="schedule:sch_x:2026")
    assert response.status_code == 400
    assert "reserved" in str(response.get_json()["error"]["details"])


def test_a_key_is_remembered_for_24_hours_and_per_workspace(
    shop: World, db: Database, make_api_tenant: Any
) -> None:
    first = request_export(shop.tenant, {"export_type": "leads"}, key="k-day")
    export_id = first.get_json()["data"]["export_id"]
    elsewhere = request_export(make_api_tenant("Else"), {"export_type": "leads"}, key="k-day")
    assert elsewhere.get_json()["data"]["export_id"] != export_id
    set_job(db, export_id, created_at=datetime.now(UTC) - timedelta(hours=25))
    later = request_export(shop.tenant, {"export_type": "replies"}, key="k-day")
    assert later.status_code == 202
    assert later.get_json()["data"]["export_id"] != export_id
    assert load(db, export_id).idempotency_key is None  # the old export itself stays


def test_a_bad_idempotency_key_header_is_a_validation_error(shop: World) -> None:
    response = request_export(shop.tenant, {"export_type": "leads"}, key="x" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]["details"]


# --- status -----------------------------------------------------------------------------------

def test_status_shows_queued_then_the_completed_file(
    shop: World, db: Database, app_storage: LocalStorage, export_settings: Settings
) -> None:
    export_id = request_export(shop.tenant, {"export_type": "events", "format": "jsonl",
                                             "time_range": "30d"}).get_json()["data"]["export_id"]
    queued = shop.tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert queued["status"] == "queued" and queued["download_url"] is None
    assert queued["progress"] == {"rows_written": 0, "rows_total": None, "percent": 0.0}
    assert queued["expires_at"] is None and queued["file_expires_at"] is None
    assert queued["parameters"]["time_range"]["period"] == "30d"
    assert queued["parameters"]["time_range"]["timezone"] == "UTC"
    assert queued["parameters"]["time_range"]["end"].endswith("T00:00:00Z")
    assert queued["parameters"]["campaign_ids"] is None

    run_now(db, app_storage, export_id)
    before = datetime.now(UTC)
    done = shop.tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert done["status"] == "completed" and done["export_type"] == "events"
    assert (done["format"], done["compression"]) == ("jsonl", "none")
    assert done["row_count"] == 3
    assert done["progress"] == {"rows_written": 3, "rows_total": 3, "percent": 100.0}
    assert done["content_type"] == "application/x-ndjson"
    assert done["file_name"] == f"{export_id}_events.jsonl"
    assert done["error"] is None and done["started_at"] and done["completed_at"]
    data = app_storage.local_path(load(db, export_id).file_key or "").read_bytes()
    assert done["file_size_bytes"] == len(data)
    assert done["sha256"] == hashlib.sha256(data).hexdigest()
    expires = datetime.fromisoformat(done["expires_at"].replace("Z", "+00:00"))
    ttl = export_settings.download_url_ttl_seconds
    assert before + timedelta(seconds=ttl - 5) < expires < before + timedelta(seconds=ttl + 5)
    completed_at = datetime.fromisoformat(done["completed_at"].replace("Z", "+00:00"))
    file_expires = datetime.fromisoformat(done["file_expires_at"].replace("Z", "+00:00"))
    assert file_expires - completed_at == timedelta(days=7)
    assert done["download_url"].startswith("http://localhost/api/v1/downloads/")
    again = shop.tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert again["download_url"] and again["sha256"] == done["sha256"]


def test_the_time_range_is_shown_in_the_exports_timezone(shop: World) -> None:
    export_id = request_export(shop.tenant, {
        "export_type": "leads", "startDate": "2026-11-01", "endDate": "2026-11-07",
        "timezone": "Asia/Kolkata"}).get_json()["data"]["export_id"]
    shown = shop.tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert shown["parameters"]["time_range"] == {
        "start": "2026-11-01T00:00:00+05:30", "end": "2026-11-08T00:00:00+05:30",
        "period": "custom", "timezone": "Asia/Kolkata"}


def test_a_failed_export_shows_export_failed(shop: World, db: Database) -> None:
    export_id = request_export(shop.tenant, {"export_type": "events"}).get_json()["data"][
        "export_id"]
    set_job(db, export_id, status="failed", error_code="EXPORT_FAILED",
            error_message="Export storage refused the file", finished_at=datetime.now(UTC))
    data = shop.tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert data["error"]["code"] == "EXPORT_FAILED"
    assert data["error"]["message"] == "Export storage refused the file"
    assert data["download_url"] is None and data["completed_at"] is None


def test_the_list_is_newest_first_and_paginated(shop: World) -> None:
    ids = [request_export(shop.tenant, {"export_type": kind}).get_json()["data"]["export_id"]
           for kind in ("leads", "replies", "events")]
    first = shop.tenant.get("/analytics/exports?limit=2").get_json()
    assert [item["export_id"] for item in first["data"]] == ids[::-1][:2]
    rest = shop.tenant.get(f"/analytics/exports?limit=2&cursor={first['next_cursor']}")
    assert [item["export_id"] for item in rest.get_json()["data"]] == ids[:1]
    assert rest.get_json()["next_cursor"] is None
    assert shop.tenant.get("/analytics/exports?limit=501").status_code == 400


# --- downloads --------------------------------------------------------------------------------

def test_the_download_link_serves_the_file(
    shop: World, db: Database, app_storage: LocalStorage, api: FlaskClient
) -> None:
    status = completed(db, app_storage, shop.tenant, {"export_type": "events",
                                                      "compression": "gzip"})
    response = api.get(token_path(status["download_url"]))  # no API key
    assert response.status_code == 200
    body = response.get_data()
    assert response.headers["Content-Type"] == "application/gzip"
    assert "Content-Encoding" not in response.headers
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename={status['export_id']}_events.csv.gz")
    assert int(response.headers["Content-Length"]) == status["file_size_bytes"] == len(body)
    assert hashlib.sha256(body).hexdigest() == status["sha256"]
    assert response.headers["ETag"] == f'"{status["sha256"]}"'
    assert "X-RateLimit-Limit" not in response.headers


def test_range_and_conditional_requests(
    shop: World, db: Database, app_storage: LocalStorage, api: FlaskClient
) -> None:
    status = completed(db, app_storage, shop.tenant)
    path = token_path(status["download_url"])
    whole = api.get(path).get_data()
    assert api.get(path).headers["Content-Type"] == "text/csv; charset=utf-8"
    part = api.get(path, headers={"Range": "bytes=5-19"})
    assert part.status_code == 206
    assert part.get_data() == whole[5:20]
    assert part.headers["Content-Range"] == f"bytes 5-19/{len(whole)}"
    unchanged = api.get(path, headers={"If-None-Match": f'"{status["sha256"]}"'})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    stale_range = api.get(path, headers={"Range": "bytes=0-3", "If-Range": '"other"'})
    assert stale_range.status_code == 200 and stale_range.get_data() == whole


def test_a_tampered_token_is_403(
    shop: World, db: Database, app_storage: LocalStorage, api: FlaskClient
) -> None:
    path = token_path(completed(db, app_storage, shop.tenant)["download_url"])
    flipped = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    for bad in (flipped, "/api/v1/downloads/not-a-token", path + "x"):
        response = api.get(bad)
        assert response.status_code == 403, bad
        assert response.get_json()["error"]["code"] == "DOWNLOAD_INVALID"


def test_a_token_signed_with_another_key_is_403_unless_that_key_is_an_old_one(
    shop: World, db: Database, app_storage: LocalStorage, export_settings: Settings
) -> None:
    from webapi import create_app

    before = export_settings.model_copy(update={"secret_key": "the-key-before-rotation"})
    old_app = create_app(before)
    with old_app.test_request_context():
        from campaign_analytics.exports import downloads

        export_id = completed(db, app_storage, shop.tenant)["export_id"]
        token = downloads.issue(before, load(db, export_id)).token
    path = f"/api/v1/downloads/{token}"
    assert create_app(export_settings).test_client().get(path).status_code == 403
    rotated = export_settings.model_copy(update={
        "download_old_secret_keys": "unrelated, the-key-before-rotation"})
    assert create_app(rotated).test_client().get(path).status_code == 200


def test_an_expired_token_is_410(
    shop: World, db: Database, app_storage: LocalStorage, export_settings: Settings
) -> None:
    from webapi import create_app

    brief = create_app(export_settings.model_copy(update={"download_url_ttl_seconds": 1}))
    client = brief.test_client()
    tenant = Tenant(client, shop.tenant.id, shop.tenant.key)
    status = completed(db, app_storage, tenant)
    path = token_path(status["download_url"])
    assert client.get(path).status_code == 200
    time.sleep(2.2)
    response = client.get(path)
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "DOWNLOAD_EXPIRED"
    fresh = tenant.get(f"/analytics/exports/{status['export_id']}").get_json()["data"]
    assert client.get(token_path(fresh["download_url"])).status_code == 200


# --- DELETE, retention, campaign deletion -----------------------------------------------------

def test_delete_of_a_completed_export_removes_the_file_and_expires_it(
    shop: World, db: Database, app_storage: LocalStorage, api: FlaskClient
) -> None:
    status = completed(db, app_storage, shop.tenant)
    path = app_storage.local_path(load(db, status["export_id"]).file_key or "")
    assert path.is_file()
    response = delete(shop.tenant, f"/analytics/exports/{status['export_id']}")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["status"] == "expired" and data["download_url"] is None
    assert data["sha256"] == status["sha256"]  # the record stays, the file goes
    assert not path.exists() and not path.parent.exists()
    gone = api.get(token_path(status["download_url"]))
    assert gone.status_code == 410
    assert gone.get_json()["error"]["code"] == "DOWNLOAD_EXPIRED"
    again = delete(shop.tenant, f"/analytics/exports/{status['export_id']}")
    assert again.status_code == 200 and again.get_json()["data"]["status"] == "expired"


def test_delete_of_a_queued_export_cancels_it(
    shop: World, db: Database, settings: Settings, app_storage: LocalStorage
) -> None:
    export_id = request_export(shop.tenant, {"export_type": "events"}).get_json()["data"][
        "export_id"]
    response = delete(shop.tenant, f"/analytics/exports/{export_id}")
    assert response.get_json()["data"]["status"] == "canceled"
    assert runner.run(db, settings, export_id, worker="late").status == "skipped"
    assert load(db, export_id).status == "canceled"
    assert not (app_storage.root / "exports" / shop.tenant.id / export_id).exists()


def test_a_canceled_run_that_already_stored_its_file_leaves_nothing(
    shop: World, db: Database, app_storage: LocalStorage
) -> None:
    """The race: the file was recorded, then DELETE came before the run completed."""
    export_id = request_export(shop.tenant, {"export_type": "events"}).get_json()["data"][
        "export_id"]
    ctx = claim(db, export_id)
    result = export(ctx, app_storage)
    assert app_storage.exists(result["file_key"])
    assert delete(shop.tenant, f"/analytics/exports/{export_id}").get_json()["data"][
        "status"] == "canceled"
    with db.sessions() as session:
        assert not store.complete(session, export_id, ctx.attempt, result)
    assert not app_storage.exists(result["file_key"])
    assert load(db, export_id).file_key is None


def test_retention_expires_old_exports_and_removes_their_files(
    shop: World, db: Database, app_storage: LocalStorage, export_app: Flask
) -> None:
    from tasks.maintenance import expire_exports

    old = completed(db, app_storage, shop.tenant)
    recent = completed(db, app_storage, shop.tenant, {"export_type": "leads"})
    old_file = app_storage.local_path(load(db, old["export_id"]).file_key or "")
    set_job(db, old["export_id"], finished_at=datetime.now(UTC) - timedelta(days=7, hours=1))
    with export_app.app_context():
        assert expire_exports.run() >= 1
        assert expire_exports.run() == 0  # a second run (a second beat) does nothing
    assert load(db, old["export_id"]).status == "expired" and not old_file.exists()
    assert load(db, recent["export_id"]).status == "completed"
    data = shop.tenant.get(f"/analytics/exports/{old['export_id']}").get_json()["data"]
    assert data["status"] == "expired" and data["download_url"] is None
    assert data["file_expires_at"] is not None


def test_deleting_a_campaign_removes_the_exports_scoped_to_it_alone(
    shop: World, db: Database, app_storage: LocalStorage, export_app: Flask
) -> None:
    from tasks.maintenance import expire_exports

    second = shop.tenant.post("/campaigns", json={"name": "Second"}).get_json()["data"]["id"]
    alone = completed(db, app_storage, shop.tenant, {"export_type": "events",
                                                     "campaign_ids": [shop.campaign]})
    both = completed(db, app_storage, shop.tenant, {"export_type": "events",
                                                    "campaign_ids": [shop.campaign, second]})
    waiting = request_export(shop.tenant, {"export_type": "leads",
                                           "campaign_ids": [shop.campaign]})
    alone_file = app_storage.local_path(load(db, alone["export_id"]).file_key or "")
    assert delete(shop.tenant, f"/campaigns/{shop.campaign}").status_code < 300
    assert load(db, alone["export_id"]).status == "expired"
    assert load(db, waiting.get_json()["data"]["export_id"]).status == "canceled"
    assert load(db, both["export_id"]).status == "completed"
    with export_app.app_context():
        expire_exports.run()
    assert not alone_file.exists()
    assert load(db, alone["export_id"]).file_key is None


# --- isolation and limits ---------------------------------------------------------------------

def test_every_export_endpoint_is_workspace_isolated(
    shop: World, db: Database, app_storage: LocalStorage, make_api_tenant: Any
) -> None:
    status = completed(db, app_storage, shop.tenant)
    export_id = status["export_id"]
    other = make_api_tenant("Snoop")
    for response in (other.get(f"/analytics/exports/{export_id}"),
                     delete(other, f"/analytics/exports/{export_id}")):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "EXPORT_NOT_FOUND"
        assert status["sha256"] not in response.get_data(as_text=True)
    assert other.get("/analytics/exports").get_json()["data"] == []
    assert load(db, export_id).status == "completed"
    # Their key on our workspace's paths: the workspace does not exist for them.
    snoop = Tenant(other.client, shop.tenant.id, other.key)
    for response in (snoop.get(f"/analytics/exports/{export_id}"),
                     snoop.get("/analytics/exports"),
                     delete(snoop, f"/analytics/exports/{export_id}"),
                     request_export(snoop, {"export_type": "events"})):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "WORKSPACE_NOT_FOUND"
    # A job of another kind is not an export.
    job_id = submit(db, shop.tenant.id)
    response = shop.tenant.get(f"/analytics/exports/{job_id}")
    assert response.get_json()["error"]["code"] == "EXPORT_NOT_FOUND"


def test_no_api_key_is_401(shop: World, api: FlaskClient) -> None:
    assert api.post(shop.tenant.prefix + EXPORT, json={"export_type": "events"}
                    ).status_code == 401
    assert api.get(shop.tenant.prefix + "/analytics/exports").status_code == 401


@pytest.fixture
def limited_app(export_settings: Settings, redis_url: str) -> Iterator[Flask]:
    from webapi import create_app

    prefix = f"ratelimit-exports-{secrets.token_hex(6)}"
    yield create_app(export_settings.model_copy(update={
        "rate_limit_exports": 10, "rate_limit_default": 1000,
        "rate_limit_key_prefix": prefix}))
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_export_requests_are_limited_to_10_a_minute(limited_app: Flask, shop: World) -> None:
    tenant = Tenant(limited_app.test_client(), shop.tenant.id, shop.tenant.key)
    answers = [request_export(tenant, {"export_type": "events"}) for _ in range(10)]
    assert [answer.status_code for answer in answers] == [202] * 10
    assert answers[0].headers["X-RateLimit-Limit"] == "10"
    refused = request_export(tenant, {"export_type": "events"})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) >= 1
    polled = tenant.get("/analytics/exports")  # polling draws on the default budget
    assert polled.status_code == 200 and polled.headers["X-RateLimit-Limit"] == "1000"


def test_the_openapi_document_describes_the_export_endpoints(api: FlaskClient) -> None:
    paths = api.get("/api/v1/openapi.json").get_json()["paths"]
    create = paths["/api/v1/workspaces/{workspace_id}/analytics/export"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ExportRequest")
    assert "`campaign_performance`" in create["description"]
    assert "`occurred_at` (datetime)" in create["description"]
    assert {"202", "409", "429"} <= set(create["responses"])
    item = "/api/v1/workspaces/{workspace_id}/analytics/exports/{export_id}"
    assert {"get", "delete"} <= set(paths[item])
    download = paths["/api/v1/downloads/{token}"]["get"]
    assert download["security"] == [] and {"403", "410"} <= set(download["responses"])
