"""Liveness, readiness and metrics need no key."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant


def test_healthz_and_readyz(client: Any) -> None:
    assert client.get("/healthz").get_json() == {"success": True, "data": {"status": "ok"}}
    assert client.get("/readyz").get_json() == {
        "success": True, "data": {"database": "ok", "broker": "ok"},
    }


def test_metrics_count_requests_and_unfinished_jobs(client: Any, tenant: Tenant) -> None:
    tenant.get("/jobs")
    tenant.post("/jobs/diagnostics", json={"steps": 1})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'http_requests_total{endpoint="/api/v1/workspaces/<workspace_id>/jobs"' in text
    assert 'jobs_unfinished{kind="diagnostic",status="queued"}' in text
    assert tenant.key not in text
