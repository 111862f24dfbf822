"""With S3 storage (moto_server, a real HTTP S3), the status hands out a presigned URL that
downloads the file as an attachment; a signed link reaching the API redirects to one."""

from __future__ import annotations

import hashlib
import secrets
import urllib.request
from typing import Any

import boto3
from flask import Flask

from campaign_analytics.db import Database
from campaign_analytics.exports import downloads
from campaign_analytics.exports.job import export
from campaign_analytics.exports.storage import S3Storage
from campaign_analytics.jobs import store
from campaign_analytics.settings import Settings
from campaign_analytics.workspaces import create_workspace
from tests.conftest import Tenant
from tests.exports.conftest import MotoServer, claim
from tests.jobs.helpers import load


def test_s3_exports_download_through_presigned_urls(
    settings: Settings, db: Database, moto_server: MotoServer, aws_env: None
) -> None:
    from webapi import create_app

    bucket = f"exports-{secrets.token_hex(4)}"
    boto3.client("s3", endpoint_url=moto_server.endpoint).create_bucket(Bucket=bucket)
    s3_settings = settings.model_copy(update={"storage_url": f"s3://{bucket}/api",
                                              "s3_endpoint_url": moto_server.endpoint})
    app: Flask = create_app(s3_settings)
    with db.sessions() as session:
        workspace, key = create_workspace(session, "S3", "UTC")
    tenant = Tenant(app.test_client(), workspace.id, key)
    tenant.post("/campaigns", json={"name": "Bucketed"})
    response = tenant.post("/analytics/export", json={"export_type": "campaign_performance"})
    export_id = response.get_json()["data"]["export_id"]
    ctx = claim(db, export_id)
    storage = S3Storage(bucket, "api", endpoint_url=moto_server.endpoint)
    result: dict[str, Any] = export(ctx, storage)
    with db.sessions() as session:
        assert store.complete(session, export_id, ctx.attempt, result)

    status = tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert status["download_url"].startswith(f"{moto_server.endpoint}/{bucket}/api/exports/")
    assert status["expires_at"] is not None
    with urllib.request.urlopen(status["download_url"], timeout=10) as fetched:
        body = fetched.read()
        assert fetched.headers["Content-Disposition"].startswith("attachment; filename=")
        assert fetched.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert hashlib.sha256(body).hexdigest() == status["sha256"]

    with app.test_request_context():
        token = downloads.issue(s3_settings, load(db, export_id)).token
    redirected = tenant.client.get(f"/api/v1/downloads/{token}")
    assert redirected.status_code == 302
    assert redirected.headers["Location"].startswith(moto_server.endpoint)
