"""Sending accounts."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error


def test_create_derives_domain_and_defaults(tenant: Tenant) -> None:
    response = tenant.post("/accounts", json={"email": "Outreach@Mail.Example.co.uk"})
    assert response.status_code == 201
    account = response.get_json()["data"]
    assert account["id"].startswith("acct_")
    assert (account["email"], account["domain"]) == (
        "outreach@mail.example.co.uk", "mail.example.co.uk")
    assert (account["blacklisted"], account["blacklist_checked_at"]) == (False, None)


def test_duplicate_email_is_409(tenant: Tenant) -> None:
    tenant.post("/accounts", json={"email": "a@x.io"})
    assert_error(tenant.post("/accounts", json={"email": "A@x.io"}), 409,
                 "ACCOUNT_ALREADY_EXISTS")


def test_bad_fields_are_named(tenant: Tenant) -> None:
    error = assert_error(tenant.post("/accounts", json={"email": "nope", "ip_address": "999.1"}),
                         400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"email", "ip_address"}


def test_patch_blacklisted_records_the_check(tenant: Tenant) -> None:
    account = tenant.post("/accounts", json={"email": "b@x.io", "ip_address": "10.0.0.1"})
    account_id = account.get_json()["data"]["id"]
    data = tenant.client.patch(f"{tenant.prefix}/accounts/{account_id}", headers=tenant.headers,
                               json={"blacklisted": True}).get_json()["data"]
    assert data["blacklisted"] is True and data["blacklist_checked_at"]
    assert data["ip_address"] == "10.0.0.1"
    listed = tenant.get("/accounts").get_json()["data"]
    assert [a["id"] for a in listed] == [account_id]


def test_accounts_of_another_workspace_are_not_found(make_tenant: Any) -> None:
    mine, theirs = make_tenant(), make_tenant()
    account_id = theirs.post("/accounts", json={"email": "t@x.io"}).get_json()["data"]["id"]
    assert_error(mine.client.patch(f"{mine.prefix}/accounts/{account_id}", headers=mine.headers,
                                   json={"blacklisted": True}), 404, "ACCOUNT_NOT_FOUND")
    assert mine.get("/accounts").get_json()["data"] == []
