"""Campaign management through the API."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error


def make_campaign(tenant: Tenant, name: str = "SaaS Growth Blogs Q3", **fields: Any) -> Any:
    response = tenant.post("/campaigns", json={"name": name, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["data"]


def test_create_and_read_a_campaign(tenant: Tenant) -> None:
    created = make_campaign(tenant, description="Guest posts", keywords=[" SaaS ", "B2B"])
    assert created["id"].startswith("cmp_")
    assert created["status"] == "active"
    assert created["keywords"] == ["SaaS", "B2B"]
    assert created["lead_counts"] == {
        "discovered": 0, "contacted": 0, "replied": 0, "placed": 0, "lost": 0, "bounced": 0,
    }
    assert tenant.get(f"/campaigns/{created['id']}").get_json()["data"] == created


def test_name_is_required_and_bounded(tenant: Tenant) -> None:
    for body in ({}, {"name": ""}, {"name": "x" * 201}, {"name": "ok", "keywords": [""]},
                 {"name": "ok", "owner": "me"}):
        error = assert_error(tenant.post("/campaigns", json=body), 400, "VALIDATION_ERROR")
        assert error["details"]


def test_list_has_lead_counts_and_pages(tenant: Tenant) -> None:
    first = make_campaign(tenant, "First")
    second = make_campaign(tenant, "Second")
    tenant.post(f"/campaigns/{first['id']}/leads", json={"contact_email": "a@b.com"})
    page = tenant.get("/campaigns", query_string={"limit": 1}).get_json()
    assert [c["id"] for c in page["data"]] == [second["id"]]
    rest = tenant.get("/campaigns", query_string={"cursor": page["next_cursor"]}).get_json()
    assert rest["data"][0]["id"] == first["id"]
    assert rest["data"][0]["lead_counts"]["discovered"] == 1


def test_patch_changes_only_given_fields(tenant: Tenant) -> None:
    campaign = make_campaign(tenant, description="keep me")
    response = tenant.client.patch(
        f"{tenant.prefix}/campaigns/{campaign['id']}", headers=tenant.headers,
        json={"status": "paused", "keywords": ["a"]},
    )
    data = response.get_json()["data"]
    assert (data["status"], data["keywords"], data["description"]) == ("paused", ["a"], "keep me")
    bad = tenant.client.patch(f"{tenant.prefix}/campaigns/{campaign['id']}",
                              headers=tenant.headers, json={"status": "running"})
    assert_error(bad, 400, "VALIDATION_ERROR")


def test_deleted_campaign_disappears_at_once(tenant: Tenant) -> None:
    campaign = make_campaign(tenant)
    response = tenant.client.delete(f"{tenant.prefix}/campaigns/{campaign['id']}",
                                    headers=tenant.headers)
    assert response.status_code == 200
    assert response.get_json()["data"]["purge_job_id"].startswith("job_")
    assert_error(tenant.get(f"/campaigns/{campaign['id']}"), 404, "CAMPAIGN_NOT_FOUND")
    assert all(c["id"] != campaign["id"] for c in tenant.get("/campaigns").get_json()["data"])


def test_campaigns_of_another_workspace_are_not_found(make_tenant: Any) -> None:
    mine, theirs = make_tenant(), make_tenant()
    campaign = make_campaign(theirs)
    path = f"/campaigns/{campaign['id']}"
    assert_error(mine.get(path), 404, "CAMPAIGN_NOT_FOUND")
    assert_error(mine.client.patch(mine.prefix + path, headers=mine.headers,
                                   json={"name": "mine now"}), 404, "CAMPAIGN_NOT_FOUND")
    assert_error(mine.client.delete(mine.prefix + path, headers=mine.headers),
                 404, "CAMPAIGN_NOT_FOUND")
    assert_error(mine.post(path + "/leads", json={}), 404, "CAMPAIGN_NOT_FOUND")
    assert mine.get("/campaigns").get_json()["data"] == []
    assert theirs.get(path).get_json()["data"]["name"] == campaign["name"]
