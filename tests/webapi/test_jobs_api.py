"""GET /jobs and /jobs/{id}: scoping, filters, cursor pagination."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from campaign_analytics.db import Database
from campaign_analytics.models import Job
from tests.webapi.test_errors import assert_error


def test_diagnostic_job_is_accepted_and_readable(tenant: Any) -> None:
    response = tenant.post("/jobs/diagnostics", json={"steps": 2, "step_seconds": 0})
    assert response.status_code == 202
    job = response.get_json()["data"]
    assert job["job_id"].startswith("job_")
    assert job["status"] == "queued"
    assert job["kind"] == "diagnostic"
    assert job["created_at"].endswith("Z")
    shown = tenant.get(f"/jobs/{job['job_id']}").get_json()["data"]
    assert shown["job_id"] == job["job_id"]
    assert shown["params"] == {"steps": 2, "step_seconds": 0.0}


def test_job_of_another_workspace_is_not_found(make_tenant: Any) -> None:
    mine, theirs = make_tenant(), make_tenant()
    job_id = theirs.post("/jobs/diagnostics", json={}).get_json()["data"]["job_id"]
    assert_error(mine.get(f"/jobs/{job_id}"), 404, "JOB_NOT_FOUND")
    assert all(job["job_id"] != job_id for job in mine.get("/jobs").get_json()["data"])


def test_pagination_walks_every_job_once_newest_first(tenant: Any) -> None:
    created = [
        tenant.post("/jobs/diagnostics", json={"steps": 1}).get_json()["data"]["job_id"]
        for _ in range(7)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = tenant.get("/jobs", query_string=query).get_json()
        seen += [job["job_id"] for job in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))


def test_filters_by_status_and_kind(tenant: Any, db: Database) -> None:
    ids = [tenant.post("/jobs/diagnostics", json={}).get_json()["data"]["job_id"]
           for _ in range(2)]
    with db.sessions() as session:
        session.execute(update(Job).where(Job.id == ids[0]).values(status="failed"))
        session.commit()
    failed = tenant.get("/jobs", query_string={"status": "failed"}).get_json()["data"]
    assert [job["job_id"] for job in failed] == [ids[0]]
    diagnostic = tenant.get("/jobs", query_string={"kind": "diagnostic"}).get_json()["data"]
    assert {job["job_id"] for job in diagnostic} == set(ids)


def test_bad_list_parameters_are_validation_errors(tenant: Any) -> None:
    for query in ({"limit": 501}, {"limit": 0}, {"cursor": "!!notacursor"},
                  {"status": "done"}, {"kind": "nope"}, {"unknown": "x"}):
        assert_error(tenant.get("/jobs", query_string=query), 400, "VALIDATION_ERROR")


def test_workspace_endpoint_shows_the_callers_workspace(make_tenant: Any) -> None:
    tenant = make_tenant("Acme", "Asia/Kolkata")
    data = tenant.get("").get_json()["data"]
    assert data["id"] == tenant.id
    assert data["name"] == "Acme"
    assert data["timezone"] == "Asia/Kolkata"
