"""Leads: validation, bulk partial success, and the lifecycle table, move by move."""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest
from sqlalchemy import update

from campaign_analytics.db import Database
from campaign_analytics.leads import MANUAL_MOVES
from campaign_analytics.models import Lead
from campaign_analytics.models.vocabulary import LeadStatus
from tests.conftest import Tenant
from tests.webapi.test_campaigns import make_campaign
from tests.webapi.test_errors import assert_error

LEAD = {
    "website_url": "https://example.com", "website_title": "Example Marketing Blog",
    "contact_email": "Editor@Example.com", "quality_score": 0.85, "relevance_score": 0.72,
    "guest_post_likelihood": 0.65, "source": "manual",
}

# The seed-001 lifecycle, written out independently of the code's table.
LEGAL = {
    ("discovered", "contacted"), ("contacted", "replied"), ("contacted", "bounced"),
    ("replied", "placed"), ("replied", "lost"),
}


def test_the_code_table_is_the_seed_lifecycle() -> None:
    coded = {(a.value, b.value) for a, targets in MANUAL_MOVES.items() for b in targets}
    assert coded == LEGAL


@pytest.fixture
def campaign(tenant: Tenant) -> str:
    return str(make_campaign(tenant)["id"])


def add_lead(tenant: Tenant, campaign: str, **fields: Any) -> dict[str, Any]:
    response = tenant.post(f"/campaigns/{campaign}/leads", json={**LEAD, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["data"]


def test_add_and_read_a_lead(tenant: Tenant, campaign: str) -> None:
    lead = add_lead(tenant, campaign)
    assert lead["id"].startswith("lead_")
    assert (lead["status"], lead["qualification"]) == ("discovered", "pending")
    assert lead["contact_email"] == "editor@example.com"
    assert lead["website_url"] == "https://example.com"
    assert tenant.get(f"/campaigns/{campaign}/leads/{lead['id']}").get_json()["data"] == lead


@pytest.mark.parametrize("field,value", [
    ("quality_score", 1.5), ("relevance_score", -0.1), ("contact_email", "not-an-email"),
    ("website_url", "ftp//nope"), ("status", "placed"), ("nickname", "x"),
])
def test_each_bad_field_is_named(tenant: Tenant, campaign: str, field: str, value: Any) -> None:
    response = tenant.post(f"/campaigns/{campaign}/leads", json={**LEAD, field: value})
    assert field in assert_error(response, 400, "VALIDATION_ERROR")["details"]


def test_unknown_account_is_rejected(tenant: Tenant, campaign: str) -> None:
    response = tenant.post(f"/campaigns/{campaign}/leads", json={**LEAD, "account_id": "acct_x"})
    assert_error(response, 404, "ACCOUNT_NOT_FOUND")


def test_bulk_add_reports_each_failure_by_index(tenant: Tenant, campaign: str) -> None:
    account = tenant.post("/accounts", json={"email": "me@sender.io"}).get_json()["data"]
    items = [LEAD, {**LEAD, "quality_score": 7}, "not an object",
             {**LEAD, "account_id": account["id"]}, {**LEAD, "account_id": "acct_nope"}]
    body = tenant.post(f"/campaigns/{campaign}/leads/bulk", json={"leads": items}).get_json()
    data = body["data"]
    assert [item["index"] for item in data["created"]] == [0, 3]
    assert [(f["index"], f["code"]) for f in data["failed"]] == [
        (1, "VALIDATION_ERROR"), (2, "VALIDATION_ERROR"), (4, "ACCOUNT_NOT_FOUND"),
    ]
    assert "quality_score" in data["failed"][0]["message"]
    listed = tenant.get(f"/campaigns/{campaign}/leads").get_json()["data"]
    assert {lead["id"] for lead in listed} == {item["id"] for item in data["created"]}


def test_bulk_over_the_limit_is_413(tenant: Tenant, campaign: str) -> None:
    response = tenant.post(f"/campaigns/{campaign}/leads/bulk",
                           json={"leads": [{}] * 10_001})
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert tenant.get(f"/campaigns/{campaign}/leads").get_json()["data"] == []


def _force_status(db: Database, lead_id: str, status: str) -> None:
    with db.sessions() as session:
        session.execute(update(Lead).where(Lead.id == lead_id).values(status=status))
        session.commit()


@pytest.mark.parametrize("start,target", list(product(
    [s.value for s in LeadStatus], [s.value for s in LeadStatus])))
def test_every_manual_move(tenant: Tenant, campaign: str, db: Database,
                           start: str, target: str) -> None:
    lead = add_lead(tenant, campaign)
    _force_status(db, lead["id"], start)
    response = tenant.client.patch(f"{tenant.prefix}/campaigns/{campaign}/leads/{lead['id']}",
                                   headers=tenant.headers, json={"status": target})
    if (start, target) in LEGAL or start == target:
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["data"]["status"] == target
    else:
        error = assert_error(response, 409, "INVALID_STATUS_TRANSITION")
        assert error["details"] == {"from": start, "to": target}
        shown = tenant.get(f"/campaigns/{campaign}/leads/{lead['id']}").get_json()["data"]
        assert shown["status"] == start


def test_placing_and_qualifying_record_when(tenant: Tenant, campaign: str, db: Database) -> None:
    lead = add_lead(tenant, campaign)
    _force_status(db, lead["id"], "replied")
    path = f"{tenant.prefix}/campaigns/{campaign}/leads/{lead['id']}"
    data = tenant.client.patch(path, headers=tenant.headers,
                               json={"status": "placed", "qualification": "qualified"}
                               ).get_json()["data"]
    assert data["placed_at"] and data["qualified_at"]
    data = tenant.client.patch(path, headers=tenant.headers,
                               json={"qualification": "disqualified"}).get_json()["data"]
    assert data["qualified_at"] is None


def test_bulk_status_partial_success(tenant: Tenant, campaign: str, db: Database) -> None:
    a, b, c = (add_lead(tenant, campaign)["id"] for _ in range(3))
    _force_status(db, c, "placed")
    other = make_campaign(tenant, "Other")
    foreign = add_lead(tenant, other["id"])["id"]
    body = tenant.post(f"/campaigns/{campaign}/leads/bulk-status",
                       json={"lead_ids": [a, b, c, "lead_missing", foreign, a],
                             "status": "contacted"}).get_json()["data"]
    assert body["updated"] == [a, b]
    assert [(f["lead_id"], f["code"]) for f in body["failed"]] == [
        (c, "INVALID_STATUS_TRANSITION"), ("lead_missing", "LEAD_NOT_FOUND"),
        (foreign, "LEAD_NOT_FOUND"),
    ]
    statuses = {lead["id"]: lead["status"]
                for lead in tenant.get(f"/campaigns/{campaign}/leads").get_json()["data"]}
    assert statuses == {a: "contacted", b: "contacted", c: "placed"}


def test_list_filters_by_status(tenant: Tenant, campaign: str, db: Database) -> None:
    a, b = add_lead(tenant, campaign)["id"], add_lead(tenant, campaign)["id"]
    _force_status(db, b, "contacted")
    listed = tenant.get(f"/campaigns/{campaign}/leads",
                        query_string={"status": "contacted"}).get_json()["data"]
    assert [lead["id"] for lead in listed] == [b]
    listed = tenant.get(f"/campaigns/{campaign}/leads",
                        query_string={"status": "discovered"}).get_json()["data"]
    assert [lead["id"] for lead in listed] == [a]


def test_leads_of_another_workspace_are_not_found(make_tenant: Any) -> None:
    mine, theirs = make_tenant(), make_tenant()
    campaign = make_campaign(theirs)["id"]
    lead = add_lead(theirs, campaign)["id"]
    assert_error(mine.get(f"/campaigns/{campaign}/leads/{lead}"), 404, "CAMPAIGN_NOT_FOUND")
    own = make_campaign(mine)["id"]
    assert_error(mine.get(f"/campaigns/{own}/leads/{lead}"), 404, "LEAD_NOT_FOUND")
    body = mine.post(f"/campaigns/{own}/leads/bulk-status",
                     json={"lead_ids": [lead], "status": "contacted"}).get_json()["data"]
    assert body["failed"][0]["code"] == "LEAD_NOT_FOUND"
