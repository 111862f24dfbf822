"""The webhook endpoints: private addresses refused, the secret shown once and stored only
encrypted, events validated, changes, rotation, deletion, pagination."""

from __future__ import annotations

import base64

import psycopg
import pytest
from cryptography.fernet import InvalidToken
from flask import Flask

from campaign_analytics.settings import Settings
from campaign_analytics.webhooks import keys
from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error
from tests.webhooks.conftest import ALL_EVENTS, CLOSED_URL, DOCS_SNIPPET, send, subscribe

# A literal public address: no DNS needed, and no test ever makes this webhook deliver.
PUBLIC_URL = "https://93.184.215.14/hooks"

@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "http://[::ffff:a00:1]/hook",  # IPv4-mapped 10.0.0.1
    "http://10.1.2.3/hook",
    "http://172.16.0.5/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data",  # link-local: cloud metadata
    "http://[fe80::1]/hook",
    "http://100.64.0.1/hook",  # CGNAT
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one number
    "http://[2002:7f00:1::]/hook",  # 6to4 around 127.0.0.1
    "http://[2002:a00:1::]/hook",  # 6to4 around 10.0.0.1
    "http://[fec0::1]/hook",  # site-local
])
def test_a_url_resolving_to_a_non_public_address_is_refused(tenant: Tenant, url: str) -> None:
    error = assert_error(tenant.post("/webhooks", json={"url": url, "events": ALL_EVENTS}),
                         400, "VALIDATION_ERROR")
    assert list(error["details"]) == ["url"], error
    assert "public" in error["details"]["url"][0] or "resolve" in error["details"]["url"][0]

@pytest.mark.parametrize("url", ["ftp://93.184.215.14/x", "https://user:pw@93.184.215.14/x",
                                 "not a url", "https://no-such-host.invalid/hook",
                                 "http://93.184.215.14:0/hook"])
def test_a_url_that_is_not_a_callable_http_url_is_refused(tenant: Tenant, url: str) -> None:
    error = assert_error(tenant.post("/webhooks", json={"url": url, "events": ALL_EVENTS}),
                         400, "VALIDATION_ERROR")
    assert list(error["details"]) == ["url"], error

def test_private_urls_are_allowed_when_the_operator_says_so(owner: Tenant) -> None:
    assert subscribe(owner, CLOSED_URL)["url"] == CLOSED_URL

def test_events_are_validated(tenant: Tenant) -> None:
    for events in (["export.started"], [], "export.completed"):
        error = assert_error(tenant.post("/webhooks", json={"url": PUBLIC_URL,
                                                            "events": events}),
                             400, "VALIDATION_ERROR")
        assert any(name.startswith("events") for name in error["details"]), error
    twice = subscribe(tenant, PUBLIC_URL, ["refresh.failed", "refresh.failed"])
    assert twice["events"] == ["refresh.failed"]

def test_the_secret_is_shown_once_and_stored_only_encrypted(
    app: Flask, tenant: Tenant, database_url: str, settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    created = subscribe(tenant, PUBLIC_URL, ["export.completed"])
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    webhook_id = created["id"]
    rotated = tenant.post(f"/webhooks/{webhook_id}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.get_json()["data"]["secret"]
    assert new_secret.startswith("whsec_") and new_secret != secret

    reads = [tenant.get(f"/webhooks/{webhook_id}"), tenant.get("/webhooks")]
    for read in reads:
        assert read.status_code == 200
        assert "secret" not in read.get_data(as_text=True)
    shown = reads[0].get_json()["data"]
    assert shown["id"] == webhook_id and shown["events"] == ["export.completed"]

    # What a dump of the table shows: ciphertext that only the key decrypts.
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        dump = str(conn.execute("SELECT * FROM webhooks WHERE id = %s", (webhook_id,)).fetchall())
        stored = conn.execute("SELECT secret_ciphertext FROM webhooks WHERE id = %s",
                              (webhook_id,)).fetchone()
    assert stored is not None
    for plain in (secret, new_secret):
        assert plain not in dump and plain.removeprefix("whsec_") not in dump
    assert keys.decrypt(settings, bytes(stored[0])) == new_secret
    other_key = settings.model_copy(update={"webhook_secret_keys": "another-key"})
    with pytest.raises(InvalidToken):
        keys.decrypt(other_key, bytes(stored[0]))
    assert secret not in caplog.text and new_secret not in caplog.text
    assert secret[6:] not in caplog.text and new_secret[6:] not in caplog.text

def test_secret_keys_rotate_the_first_encrypts_and_every_one_decrypts(
    settings: Settings,
) -> None:
    old = settings.model_copy(update={"webhook_secret_keys": "old-key"})
    both = settings.model_copy(update={"webhook_secret_keys": "new-key, old-key"})
    stored = keys.encrypt(old, "whsec_abc")
    assert keys.decrypt(both, stored) == "whsec_abc"
    assert keys.decrypt(both, keys.encrypt(both, "whsec_def")) == "whsec_def"
    with pytest.raises(InvalidToken):
        keys.decrypt(old, keys.encrypt(both, "whsec_def"))

def test_a_secret_key_rotation_by_the_documented_procedure_keeps_webhooks_working(
    settings: Settings,
) -> None:
    """Without WEBHOOK_SECRET_KEYS secrets are under SECRET_KEY; the documented rotation moves
    the old SECRET_KEY to DOWNLOAD_OLD_SECRET_KEYS, which must still decrypt them."""
    before = settings.model_copy(update={"secret_key": "key-before", "webhook_secret_keys": None})
    after = before.model_copy(update={"secret_key": "key-after",
                                      "download_old_secret_keys": "key-before"})
    assert keys.decrypt(after, keys.encrypt(before, "whsec_abc")) == "whsec_abc"


def test_change_disable_and_delete(app: Flask, tenant: Tenant) -> None:
    client = app.test_client()
    webhook = subscribe(tenant, PUBLIC_URL)
    path = f"/webhooks/{webhook['id']}"
    changed = send(client, "PATCH", tenant, path, {
        "events": ["export.failed"], "status": "disabled", "description": "ops channel"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    data = changed.get_json()["data"]
    assert (data["events"], data["status"], data["description"]) == (
        ["export.failed"], "disabled", "ops channel")
    cleared = send(client, "PATCH", tenant, path, {"description": None})
    assert cleared.get_json()["data"]["description"] is None
    refused = send(client, "PATCH", tenant, path, {"url": "http://10.0.0.8/x"})
    assert list(assert_error(refused, 400, "VALIDATION_ERROR")["details"]) == ["url"]
    assert tenant.get(path).get_json()["data"]["url"] == PUBLIC_URL
    assert_error(send(client, "PATCH", tenant, path, {"status": None}), 400,
                 "VALIDATION_ERROR")

    deleted = send(client, "DELETE", tenant, path)
    assert deleted.get_json()["data"] == {"id": webhook["id"], "deleted": True}
    for response in (tenant.get(path), send(client, "DELETE", tenant, path),
                     tenant.get(f"{path}/deliveries"),
                     tenant.post(f"{path}/rotate-secret")):
        assert_error(response, 404, "WEBHOOK_NOT_FOUND")

def test_the_list_pages_newest_first(tenant: Tenant) -> None:
    made = [subscribe(tenant, PUBLIC_URL)["id"] for _ in range(3)]
    first = tenant.get("/webhooks?limit=2").get_json()
    rest = tenant.get(f"/webhooks?limit=2&cursor={first['next_cursor']}").get_json()
    assert [w["id"] for w in first["data"] + rest["data"]] == made[::-1]
    assert rest["next_cursor"] is None

def test_an_unknown_delivery_is_not_found(tenant: Tenant) -> None:
    webhook = subscribe(tenant, PUBLIC_URL)
    response = tenant.post(f"/webhooks/{webhook['id']}/deliveries/whd_nothing/redeliver")
    assert_error(response, 404, "WEBHOOK_DELIVERY_NOT_FOUND")


def test_the_documented_check_is_the_tested_file() -> None:
    """docs/webhooks.md quotes docs/examples/verify_webhook.py from its constants on."""
    code = DOCS_SNIPPET.read_text()
    quoted = code[code.index("TOLERANCE_SECONDS ="):]
    assert quoted.strip() in DOCS_SNIPPET.parents[1].joinpath("webhooks.md").read_text()
