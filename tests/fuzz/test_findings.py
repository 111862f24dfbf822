"""What fuzzing the API found, each pinned with the request that showed it: every one was a
500 or an invalid value quietly accepted, and each is now a 4xx with the JSON envelope.
(The calendar edges came from the hostile-input probe run beside the fuzzer.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.world import World


def assert_rejected(response: Any, code: str = "VALIDATION_ERROR", status: int = 400) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code, error
    return error


@pytest.mark.parametrize(("path", "body"), [
    ("/accounts", {"email": "a@sender.io", "blacklisted": 0}),
    ("/jobs/diagnostics", {"step_seconds": False}),
    ("/jobs/diagnostics", {"steps": "3"}),
    ("/analytics/export", {"export_type": "leads", "include_time_series": 0}),
])
def test_a_json_value_must_have_its_documented_type(tenant: Tenant, path: str,
                                                    body: dict[str, Any]) -> None:
    error = assert_rejected(tenant.post(path, json=body))
    assert set(error["details"]) & set(body), error


def test_an_ip_address_is_text_not_a_number(tenant: Tenant) -> None:
    response = tenant.post("/accounts", json={"email": "a@sender.io", "ip_address": 3232235777})
    assert "ip_address" in assert_rejected(response)["details"]


@pytest.mark.parametrize("path", [
    "/campaigns/{campaign}%00", "/campaigns/{campaign}/leads/lead_%00",
    "/campaigns/%00/analytics", "/campaigns/%00/replies", "/jobs/job_%00",
    "/analytics/exports/exp_%00",
])
def test_a_nul_in_a_path_id_is_a_field_error(world: World, path: str) -> None:
    response = world.tenant.get(path.format(campaign=world.campaign))
    assert assert_rejected(response)["details"]


def test_a_nul_in_an_id_of_a_body_or_query_is_a_field_error(world: World) -> None:
    tenant, campaign = world.tenant, world.campaign
    assert_rejected(tenant.post("/analytics/compare", json={"campaign_ids": [campaign, "c\x00"]}))
    assert_rejected(tenant.post(f"/campaigns/{campaign}/leads/bulk-status",
                                json={"lead_ids": ["l\x00"], "status": "placed"}))
    assert_rejected(tenant.get("/analytics/deliverability", query_string={"accountId": "a\x00"}))


@pytest.mark.parametrize("account_id", ["", "   "])
def test_an_empty_account_id_names_no_account(world: World, account_id: str) -> None:
    leads = f"/campaigns/{world.campaign}/leads"
    assert_rejected(world.tenant.post(leads, json={"account_id": account_id}))
    bulk = world.tenant.post(leads + "/bulk", json={"leads": [{"account_id": account_id}]})
    assert bulk.status_code == 200
    assert [item["code"] for item in bulk.get_json()["data"]["failed"]] == ["VALIDATION_ERROR"]
    lead = world.lead()
    patch = world.tenant.client.patch(f"{world.tenant.prefix}{leads}/{lead}",
                                      json={"account_id": account_id},
                                      headers=world.tenant.headers)
    assert_rejected(patch)


@pytest.mark.parametrize(("start", "end", "timezone"), [
    ("9999-12-30", "9999-12-31", "UTC"),
    ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z", "Etc/GMT+12"),
    ("1899-12-31", "1900-01-01", "UTC"),
])
def test_a_range_at_the_edge_of_the_calendar_is_an_invalid_time_range(
        world: World, start: str, end: str, timezone: str) -> None:
    window = {"startDate": start, "endDate": end, "timezone": timezone}
    analytics = world.tenant.get(f"/campaigns/{world.campaign}/analytics", query_string={
        "timeRange": "custom", "groupBy": "month", **window})
    assert_rejected(analytics, "INVALID_TIME_RANGE")
    export = world.tenant.post("/analytics/export", json={
        "export_type": "events", "time_range": "custom", **window})
    assert_rejected(export, "INVALID_TIME_RANGE")
