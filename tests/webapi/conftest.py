"""Fixtures shared by the API tests."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.webapi.test_campaigns import make_campaign
from tests.webapi.world import World, next_id


@pytest.fixture
def world(tenant: Tenant) -> World:
    """A campaign and a sending account in a fresh workspace."""
    campaign = make_campaign(tenant)["id"]
    account = tenant.post("/accounts", json={"email": f"s{next_id()}@sender.io"})
    return World(tenant, campaign, account.get_json()["data"]["id"])
