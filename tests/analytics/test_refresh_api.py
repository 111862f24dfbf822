"""Refresh requests: validation of the scope (no worker needed)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant


def test_campaign_ids_need_a_full_refresh(world: Any) -> None:
    response = world.tenant.post("/analytics/refresh", json={
        "mode": "incremental", "campaign_ids": [world.campaign]})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and "campaign_ids" in error["details"]


def test_another_workspaces_campaign_is_not_found(world: Any, make_tenant: Any) -> None:
    other: Tenant = make_tenant("Other")
    response = other.post("/analytics/refresh", json={
        "mode": "full", "campaign_ids": [world.campaign]})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "CAMPAIGN_NOT_FOUND"


def test_a_full_refresh_of_one_campaign_names_its_scope(world: Any) -> None:
    response = world.tenant.post("/analytics/refresh", json={
        "mode": "full", "campaign_ids": [world.campaign]})
    assert response.status_code == 202
    data = response.get_json()["data"]
    assert (data["mode"], data["scope"]) == ("full", {"campaign_ids": [world.campaign]})
