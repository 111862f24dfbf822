"""Workspace isolation over every endpoint in the OpenAPI document (SPEC §4): another
workspace's path, or an id that exists only in another workspace, is a 404 with the
resource's not-found code, answered exactly as for an id that exists nowhere, and nothing
of the other workspace comes back or changes.

Two workspaces, A and B, each get one of every resource (``furnish``). The operations come
from ``/api/v1/openapi.json``, so a new endpoint is probed without editing this file, or
fails ``test_every_operation_can_be_probed`` saying what to add: a resource for a new id
parameter (``RESOURCE_OF``), a body recipe (``RECIPES``), a reason to be public
(``PUBLIC``), or, for an operation behind a key outside the workspace's path, the test that
proves it answers only the key's own workspace (``KEY_SCOPED``).
tests/webapi/test_openapi.py proves every route is in the document.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from werkzeug.test import TestResponse

from campaign_analytics.db import Database
from campaign_analytics.exports import downloads
from campaign_analytics.exports.storage import LocalStorage
from campaign_analytics.settings import Settings
from tests.conftest import Tenant, tenant_factory
from tests.exports.test_api import completed, token_path
from tests.jobs.helpers import load
from tests.webapi.test_errors import assert_error
from tests.world import World, at, next_id

T = TypeVar("T")
Ids = dict[str, str]  # resource name -> id (the suppression's id is its e-mail address)

SCOPED = "/api/v1/workspaces/{workspace_id}"

# Operations without an API key, and why they may answer anyone.
PUBLIC = {
    "GET /healthz": "liveness only",
    "GET /readyz": "whether the database and the broker answer",
    "GET /metrics": "counters without tenant rows (docs/security.md: keep it internal)",
    "GET /api/v1/openapi.json": "this document",
    "GET /api/v1/downloads/{token}": "the signed token is the authorisation; its scope is "
                                     "test_a_download_token_reaches_only_the_export_it_names",
}

# Operations behind a key but outside the workspace's path: the key alone names the
# workspace, so there is no other workspace's path to probe. Each says which test scopes it.
KEY_SCOPED = {
    "GET /api/v1/me": "answers the caller's own workspace; "
                      "test_me_answers_with_the_keys_own_workspace_only",
}

# The resource that fills each id-carrying parameter, in the path or in the query string.
RESOURCE_OF = {
    "workspace_id": "workspace", "campaign_id": "campaign", "lead_id": "lead",
    "account_id": "account", "reply_id": "reply", "export_id": "export", "job_id": "job",
    "email": "suppression", "campaignId": "campaign", "accountId": "account",
    "webhook_id": "webhook", "delivery_id": "delivery", "schedule_id": "schedule",
}
NOT_FOUND = {
    "workspace": "WORKSPACE_NOT_FOUND", "campaign": "CAMPAIGN_NOT_FOUND",
    "campaign2": "CAMPAIGN_NOT_FOUND", "lead": "LEAD_NOT_FOUND",
    "account": "ACCOUNT_NOT_FOUND", "reply": "REPLY_NOT_FOUND",
    "export": "EXPORT_NOT_FOUND", "job": "JOB_NOT_FOUND",
    "suppression": "SUPPRESSION_NOT_FOUND", "webhook": "WEBHOOK_NOT_FOUND",
    "delivery": "WEBHOOK_DELIVERY_NOT_FOUND", "schedule": "SCHEDULE_NOT_FOUND",
}
# Webhooks point at a closed loopback port (the matrix's app allows private URLs): any
# delivery attempt fails at once.
WEBHOOK_URL = "http://127.0.0.1:9/hooks"
# A query parameter or body property with such a name carries ids.
ID_NAME = re.compile(r"(?:^id|_id|Id)s?$")


def _sent_event(ids: Ids) -> dict[str, Any]:
    message = f"probe-{next_id()}"
    return {"external_id": f"e-{message}", "type": "sent", "occurred_at": at(0),
            "campaign_id": ids["campaign"], "message_id": message, "lead_id": ids["lead"],
            "account_id": ids["account"], "recipient": f"{message}@gmail.com"}


# A valid body per operation, built from a workspace's ids. A body that requires nothing and
# names no ids needs no entry: it is sent as {}.
RECIPES: dict[str, Callable[[Ids], Any]] = {
    # Both fields differ from furnish()'s, so a change leaking into B would show in view().
    "PATCH /": lambda ids: {"name": "Renamed by a probe", "timezone": "Asia/Kolkata"},
    "POST /accounts": lambda ids: {"email": f"probe{next_id()}@sender.io"},
    "POST /campaigns": lambda ids: {"name": "Probe"},
    "POST /campaigns/{campaign_id}/leads": lambda ids: {"account_id": ids["account"]},
    "POST /campaigns/{campaign_id}/leads/bulk": lambda ids: {
        "leads": [{"account_id": ids["account"]}]},
    "POST /campaigns/{campaign_id}/leads/bulk-status": lambda ids: {
        "lead_ids": [ids["lead"]], "status": "contacted"},
    "PATCH /campaigns/{campaign_id}/leads/{lead_id}": lambda ids: {
        "account_id": ids["account"]},
    "PATCH /replies/{reply_id}": lambda ids: {"classification": "not_interested"},
    "POST /events": lambda ids: {"events": [_sent_event(ids)]},
    "POST /analytics/compare": lambda ids: {"campaign_ids": [ids["campaign"],
                                                             ids["campaign2"]]},
    "POST /analytics/export": lambda ids: {"export_type": "leads",
                                           "campaign_ids": [ids["campaign"]]},
    "POST /analytics/refresh": lambda ids: {"mode": "full", "campaign_ids": [ids["campaign"]]},
    "POST /webhooks": lambda ids: {"url": WEBHOOK_URL, "events": ["export.failed"]},
    "PATCH /webhooks/{webhook_id}": lambda ids: {"description": "Changed by a probe"},
    "POST /export-schedules": lambda ids: {
        "name": "Probe", "schedule": {"type": "daily", "time": "06:00"},
        "export": {"export_type": "leads", "campaign_ids": [ids["campaign"]]}},
    "PATCH /export-schedules/{schedule_id}": lambda ids: {
        "name": "Changed by a probe",
        "export": {"export_type": "leads", "campaign_ids": [ids["campaign"]]}},
}


def _empty_body(ids: Ids) -> dict[str, Any]:
    return {}


# --- the document ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any

    def send(self, client: FlaskClient, key: str) -> TestResponse:
        return client.open(self.path, method=self.method, query_string=self.query,
                           json=self.body, headers={"Authorization": f"Bearer {key}"})

    def mentions(self, value: str) -> bool:
        return value in self.path or value in json.dumps([self.query, self.body])


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    path_params: tuple[str, ...]
    id_query: tuple[str, ...]
    has_body: bool

    @property
    def name(self) -> str:
        """How RECIPES name it: the method and the path under the workspace."""
        return f"{self.method} {self.template.removeprefix(SCOPED) or '/'}"

    def path_resources(self) -> list[str]:
        return [RESOURCE_OF[name] for name in self.path_params if name != "workspace_id"]

    def request(self, ids: Ids) -> Request:
        path = self.template
        for name in self.path_params:
            path = path.replace(f"{{{name}}}", ids[RESOURCE_OF[name]])
        body = RECIPES.get(self.name, _empty_body)(ids) if self.has_body else None
        return Request(self.method, path,
                       {name: ids[RESOURCE_OF[name]] for name in self.id_query}, body)


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return components[ref.rsplit("/", 1)[1]] if ref else schema


def _property_names(schema: dict[str, Any], components: dict[str, Any],
                    seen: frozenset[str] = frozenset()) -> set[str]:
    """Every property name anywhere in a body schema, through references."""
    ref = schema.get("$ref", "")
    if ref in seen:
        return set()
    schema = _resolve(schema, components)
    properties = schema.get("properties", {})
    nested = [*properties.values(), schema.get("items", {}),
              *(sub for key in ("anyOf", "allOf", "oneOf") for sub in schema.get(key, []))]
    names = set(properties)
    for sub in nested:
        names |= _property_names(sub, components, seen | {ref})
    return names


def _gaps(operation: Operation, entry: dict[str, Any], components: dict[str, Any]) -> list[str]:
    """What the matrix lacks to fill this operation's parameters and body."""
    gaps = [
        f"{operation.name}: parameter {p['name']!r} carries an id: map it to a resource in "
        "RESOURCE_OF (and give both workspaces one in furnish())"
        for p in entry["parameters"]
        if (p["in"] == "path" or ID_NAME.search(p["name"])) and p["name"] not in RESOURCE_OF
    ]
    if operation.has_body and operation.name not in RECIPES:
        schema = _resolve(entry["requestBody"]["content"]["application/json"]["schema"],
                          components)
        needs = sorted(schema.get("required", [])) + sorted(
            name for name in _property_names(schema, components) if ID_NAME.search(name))
        if needs:
            gaps.append(f"{operation.name}: its body needs {needs}: add a recipe to RECIPES "
                        "building a valid body from a workspace's ids")
    return gaps


def scoped_operations(client: FlaskClient) -> list[Operation]:
    """The workspace-scoped operations; fails naming whatever the matrix cannot fill."""
    document = client.get("/api/v1/openapi.json").get_json()
    components = document["components"]["schemas"]
    problems: list[str] = []
    operations: list[Operation] = []
    documented: set[str] = set()
    key_scoped: set[str] = set()
    for path, methods in document["paths"].items():
        for method, entry in methods.items():
            name = f"{method.upper()} {path}"
            documented.add(name)
            if entry.get("security") == []:
                if name not in PUBLIC:
                    problems.append(f"{name} is public: add it to PUBLIC with why it carries "
                                    "no tenant data")
                continue
            if not path.startswith(SCOPED):
                key_scoped.add(name)
                if name not in KEY_SCOPED:
                    problems.append(f"{name} needs a key but is outside {SCOPED}: the matrix "
                                    "cannot scope it; add it to KEY_SCOPED with the test that "
                                    "proves it answers only the key's own workspace")
                continue
            parameters = entry["parameters"]
            operation = Operation(
                method.upper(), path,
                tuple(p["name"] for p in parameters if p["in"] == "path"),
                tuple(p["name"] for p in parameters
                      if p["in"] == "query" and ID_NAME.search(p["name"])),
                "requestBody" in entry)
            problems += _gaps(operation, entry, components)
            operations.append(operation)
    problems += [f"PUBLIC lists {name}, which the document no longer has"
                 for name in PUBLIC.keys() - documented]
    problems += [f"KEY_SCOPED lists {name}, which is no longer an operation behind a key "
                 f"outside {SCOPED}" for name in KEY_SCOPED.keys() - key_scoped]
    if problems:
        pytest.fail("The isolation matrix cannot probe every operation:\n" + "\n".join(problems))
    return operations


# --- two furnished workspaces ---------------------------------------------------------------

@dataclass(frozen=True)
class Estate:
    """A workspace with one of every resource; every text it holds contains ``mark``."""

    key: str
    mark: str
    ids: Ids


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> LocalStorage:
    return LocalStorage(tmp_path_factory.mktemp("isolation-exports"))


@pytest.fixture(scope="module")
def api(settings: Settings, storage: LocalStorage) -> FlaskClient:
    """An app whose exports land in ``storage``, so they can be completed in-process."""
    from webapi import create_app

    return create_app(settings.model_copy(update={"storage_url": f"file://{storage.root}",
                                                  "webhook_allow_private_urls": True})
                      ).test_client()


def created(response: TestResponse, field: str = "id") -> str:
    assert response.status_code in (201, 202), response.get_data(as_text=True)
    return str(response.get_json()["data"][field])


def furnish(tenant: Tenant, mark: str, db: Database, storage: LocalStorage) -> Estate:
    campaign = created(tenant.post("/campaigns", json={"name": f"Campaign {mark}"}))
    second = created(tenant.post("/campaigns", json={"name": f"Second {mark}"}))
    account = created(tenant.post("/accounts", json={"email": f"sender-{mark}@sender.io"}))
    world = World(tenant, campaign, account)
    lead = world.lead(f"lead-{mark}@example.com")
    replier = f"editor-{mark}@example.com"
    world.post([world.sent(f"m-{mark}", lead, recipient=replier, subject=f"Idea {mark}"),
                world.event("replied", f"m-{mark}", 30, subject=f"Re: Idea {mark}",
                            body="Not interested, thanks.", **{"from": replier})])
    [reply] = tenant.get(f"/campaigns/{campaign}/replies").get_json()["data"]
    [suppression] = tenant.get("/suppressions").get_json()["data"]
    assert suppression["email"] == replier  # the decline suppressed its sender
    job = created(tenant.post("/jobs/diagnostics", json={"steps": 1}), "job_id")
    webhook = created(tenant.post("/webhooks", json={
        "url": WEBHOOK_URL, "events": ["export.completed"], "description": f"Hook {mark}"}))
    export = completed(db, storage, tenant, {"export_type": "replies"})["export_id"]
    schedule = created(tenant.post("/export-schedules", json={
        "name": f"Schedule {mark}", "schedule": {"type": "weekly", "weekday": "monday",
                                                "time": "08:00"},
        "export": {"export_type": "events", "campaign_ids": [campaign]}}))
    [delivery] = tenant.get(f"/webhooks/{webhook}/deliveries").get_json()["data"]
    return Estate(tenant.key, mark, {
        "workspace": tenant.id, "campaign": campaign, "campaign2": second, "lead": lead,
        "account": account, "reply": reply["id"], "export": export, "job": job,
        "suppression": replier, "webhook": webhook, "delivery": delivery["id"],
        "schedule": schedule})


@pytest.fixture
def estates(api: FlaskClient, db: Database, storage: LocalStorage) -> tuple[Estate, Estate]:
    """Workspaces A and B, furnished alike."""
    make = tenant_factory(api, db)

    def estate(label: str) -> Estate:
        mark = f"{label}{secrets.token_hex(6)}"
        return furnish(make(f"Workspace {mark}"), mark, db, storage)

    return estate("a"), estate("b")


# --- checks ---------------------------------------------------------------------------------

# A fresh download link, and when it stops working, on every read of a completed export.
VOLATILE = frozenset({"download_url", "expires_at"})


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(item) for item in value]
    return value


def view(client: FlaskClient, operations: list[Operation], estate: Estate) -> dict[str, Any]:
    """Everything the workspace's own key can read, proving each resource is visible."""
    seen: dict[str, Any] = {}
    for operation in operations:
        if operation.method == "GET":
            response = operation.request(estate.ids).send(client, estate.key)
            assert response.status_code == 200, (operation.name, response.get_json())
            seen[operation.name] = _stable(response.get_json())
    text = json.dumps(seen)
    assert estate.mark in text
    assert [v for v in estate.ids.values() if v not in text] == []
    return seen


def absent(resource: str, value: str) -> str:
    """An id of the same shape that exists in no workspace."""
    if resource == "suppression":
        return f"nobody-{secrets.token_hex(4)}@example.com"
    return f"{value.split('_', 1)[0]}_absent{secrets.token_hex(6)}"


def assert_reveals_nothing(response: TestResponse, request: Request, other: Estate) -> None:
    """Neither the other workspace's texts nor any of its ids but those the caller sent."""
    text = response.get_data(as_text=True)
    for echoed in filter(request.mentions, other.ids.values()):
        text = text.replace(echoed, "<sent>")
    assert other.mark not in text, text
    assert [value for value in other.ids.values() if value in text] == [], text


def assert_refused(response: TestResponse, code: str) -> None:
    """404 with ``code``; bulk endpoints answer per item (SPEC §6), so for them a success in
    which nothing was done and every item failed with ``code``."""
    if response.status_code == 404:
        assert_error(response, 404, code)
        return
    assert response.status_code in (200, 202), response.get_data(as_text=True)
    data = response.get_json()["data"]
    assert not any(data.get(done) for done in ("created", "updated", "accepted")), data
    assert {item["code"] for items in ("failed", "rejected") for item in data.get(items, [])
            } == {code}, data


def assert_answered_as_if_absent(client: FlaskClient, key: str, operation: Operation,
                                 ids: Ids, resources: Iterable[str],
                                 response: TestResponse) -> None:
    """The same answer as for ids that exist nowhere: existence elsewhere is not leaked."""
    foreign = {resource: ids[resource] for resource in resources}
    nowhere = {resource: absent(resource, value) for resource, value in foreign.items()}
    control = operation.request({**ids, **nowhere}).send(client, key)

    def normal(answer: TestResponse, values: Iterable[str]) -> tuple[int, Any]:
        text = answer.get_data(as_text=True)
        for value in values:
            text = text.replace(value, "<id>")
        return answer.status_code, json.loads(text)

    assert normal(response, foreign.values()) == normal(control, nowhere.values())


def each(items: Iterable[T], check: Callable[[T], None], name: Callable[[T], str]) -> None:
    """Run every check and report all failures together."""
    failures = []
    for item in items:
        try:
            check(item)
        except AssertionError as exc:
            failures.append(f"{name(item)}: {exc}")
    assert not failures, f"{len(failures)} failed:\n" + "\n\n".join(failures)


def swaps(operation: Operation, a: Estate, b: Estate) -> list[tuple[str, ...]]:
    """Which of B's ids to put in A's request, one set per probe: each resource the
    operation names (in its path, query or body) alone, then all of its path's at once."""
    path = operation.path_resources()
    named = [*path, *(RESOURCE_OF[name] for name in operation.id_query)]
    if operation.has_body:
        named += [r for r in NOT_FOUND if r != "workspace" and b.ids[r] in json.dumps(
            operation.request({**a.ids, r: b.ids[r]}).body)]
    single = [(resource,) for resource in dict.fromkeys(named)]
    return single + ([tuple(path)] if len(path) > 1 else [])


# --- the matrix -----------------------------------------------------------------------------

def test_every_operation_can_be_probed(api: FlaskClient) -> None:
    """A new path, parameter or body fails here until the matrix knows how to fill it."""
    assert scoped_operations(api)


def test_every_read_shows_only_the_callers_workspace(
    api: FlaskClient, estates: tuple[Estate, Estate]
) -> None:
    """Lists, overviews and snapshots included: what A reads of its own holds nothing of B."""
    a, b = estates
    seen = json.dumps(view(api, scoped_operations(api), a))
    assert b.mark not in seen
    assert [value for value in b.ids.values() if value in seen] == []


def test_another_workspaces_path_is_not_found(
    api: FlaskClient, estates: tuple[Estate, Estate]
) -> None:
    a, b = estates
    operations = scoped_operations(api)
    before = view(api, operations, b)

    def check(operation: Operation) -> None:
        request = operation.request(b.ids)
        response = request.send(api, a.key)
        assert_error(response, 404, "WORKSPACE_NOT_FOUND")
        assert_reveals_nothing(response, request, b)
        assert_answered_as_if_absent(api, a.key, operation, b.ids, ["workspace"], response)

    each(operations, check, lambda operation: operation.name)
    assert view(api, operations, b) == before


def test_another_workspaces_ids_are_not_found_in_paths_queries_and_bodies(
    api: FlaskClient, estates: tuple[Estate, Estate]
) -> None:
    a, b = estates
    operations = scoped_operations(api)
    before = view(api, operations, b)
    probes = [(operation, swap) for operation in operations for swap in swaps(operation, a, b)]

    def check(probe: tuple[Operation, tuple[str, ...]]) -> None:
        operation, swap = probe
        ids = {**a.ids, **{resource: b.ids[resource] for resource in swap}}
        request = operation.request(ids)
        response = request.send(api, a.key)
        assert_refused(response, NOT_FOUND[swap[0]])
        assert_reveals_nothing(response, request, b)
        assert_answered_as_if_absent(api, a.key, operation, ids, swap, response)

    each(probes, check, lambda probe: f"{probe[0].name} with B's {', '.join(probe[1])}")
    # Every operation that names anything of A's besides the workspace itself was probed.
    assert {operation.name for operation, _ in probes} == {
        operation.name for operation in operations
        if any(operation.request(a.ids).mentions(value)
               for resource, value in a.ids.items() if resource != "workspace")}
    assert view(api, operations, b) == before


def test_each_workspace_can_do_everything_the_probes_were_refused(
    api: FlaskClient, estates: tuple[Estate, Estate]
) -> None:
    """The refusals above are about whose ids they were: the same requests with B's own
    key succeed (deletions last, so nothing they remove is needed later)."""
    _, b = estates
    operations = sorted(scoped_operations(api), key=lambda operation: operation.method == "DELETE")

    def check(operation: Operation) -> None:
        response = operation.request(b.ids).send(api, b.key)
        assert response.status_code in (200, 201, 202), response.get_data(as_text=True)

    each(operations, check, lambda operation: operation.name)


# --- operations the key alone scopes --------------------------------------------------------

def test_me_answers_with_the_keys_own_workspace_only(
    api: FlaskClient, estates: tuple[Estate, Estate]
) -> None:
    """``GET /api/v1/me`` has no workspace in its path to swap: each estate's key gets its
    own workspace (named with its own mark) and nothing of the other estate."""
    a, b = estates
    for mine, other in ((a, b), (b, a)):
        response = api.get("/api/v1/me", headers={"Authorization": f"Bearer {mine.key}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        workspace = response.get_json()["data"]["workspace"]
        assert workspace["id"] == mine.ids["workspace"]
        assert mine.mark in workspace["name"]
        text = response.get_data(as_text=True)
        assert other.mark not in text, text
        assert [value for value in other.ids.values() if value in text] == [], text
        assert mine.key not in text and other.key not in text


# --- the public download endpoint -----------------------------------------------------------

def _splice(token: str, claims: dict[str, str]) -> str:
    """``token`` with its payload replaced, its timestamp and signature kept."""
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join([payload, *token.split(".")[1:]])


def test_a_download_token_reaches_only_the_export_it_names(
    api: FlaskClient, estates: tuple[Estate, Estate], db: Database, settings: Settings,
) -> None:
    a, b = estates
    status = Tenant(api, b.ids["workspace"], b.key).get(
        f"/analytics/exports/{b.ids['export']}").get_json()["data"]
    path = token_path(status["download_url"])
    served = api.get(path)
    assert served.status_code == 200 and served.headers["ETag"] == f'"{status["sha256"]}"'

    token = path.rsplit("/", 1)[1]
    b_file, a_file = (str(load(db, e.ids["export"]).file_key) for e in (b, a))
    a_claims = {"e": a.ids["export"], "w": a.ids["workspace"], "k": a_file}
    # B's signature on A's claims, or the right claims signed for another purpose: invalid.
    for forged in (_splice(token, a_claims),
                   URLSafeTimedSerializer(settings.secret_key, salt="another-purpose"
                                          ).dumps(a_claims)):
        assert_error(api.get(f"/api/v1/downloads/{forged}"), 403, "DOWNLOAD_INVALID")
    # Genuinely signed claims that do not name one export of one workspace with its file:
    # nothing is served, whichever claim is off.
    signer = URLSafeTimedSerializer(settings.secret_key, salt=downloads.SALT)
    b_claims = {"e": b.ids["export"], "w": b.ids["workspace"], "k": b_file}
    for claim, value in (("w", a.ids["workspace"]), ("k", a_file), ("e", a.ids["export"])):
        mixed = signer.dumps({**b_claims, claim: value})
        assert_error(api.get(f"/api/v1/downloads/{mixed}"), 410, "DOWNLOAD_EXPIRED")
    assert api.get(f"/api/v1/downloads/{signer.dumps(b_claims)}").get_data() == served.get_data()

