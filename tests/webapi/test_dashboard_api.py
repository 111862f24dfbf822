"""What the browser dashboard needs from the API: the caller's own workspace from its key
alone (``GET /api/v1/me``), renaming a workspace and changing its timezone (``PATCH
/workspaces/{id}``), every campaign's numbers in one request (``GET
/analytics/campaigns``), and the page itself at ``/app/``.

The campaign table is checked three ways: against each campaign's own analytics for the
same window and timezone on a generated data set, against plain SQL over the messages, and
against numbers worked out by hand for a small data set posted through ``POST /events``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

import webapi
from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.apikeys import create_key
from campaign_analytics.db import Database
from campaign_analytics.generator import generate_dataset
from campaign_analytics.models import ApiKey
from campaign_analytics.settings import Settings
from campaign_analytics.workspaces import create_workspace
from tests.analytics.test_overview import delete_campaign, parse_utc, set_status, stored_as_of
from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error
from tests.world import World, next_id
from webapi.dashboard import STATIC

ROW_FIELDS = {"campaign_id", "campaign_name", "status", "emails_sent", "emails_delivered",
              "emails_opened", "emails_replied", "open_rate", "click_rate", "reply_rate",
              "created_at", "leads"}
# A row's numbers and the campaign analytics' field each must equal.
FROM_SUMMARY = ("emails_sent", "emails_delivered", "emails_opened", "emails_replied")
FROM_RATES = ("open_rate", "click_rate", "reply_rate")
ZERO_ROW = {**dict.fromkeys(FROM_SUMMARY, 0), **dict.fromkeys(FROM_RATES, 0.0)}
ONE_UTC_DAY = {"timeRange": "custom", "startDate": "2026-11-02", "endDate": "2026-11-02"}
POSITIVE_REPLY = "Sounds good, please send the draft over."


def me(client: FlaskClient, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return client.get("/api/v1/me", headers=headers)


def patch_workspace(tenant: Tenant, body: Any) -> Any:
    return tenant.client.patch(tenant.prefix, headers=tenant.headers, json=body)


def read(tenant: Tenant, path: str, **query: str) -> dict[str, Any]:
    response = tenant.get(path, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json()["data"])


def table(tenant: Tenant, **query: str) -> dict[str, Any]:
    return read(tenant, "/analytics/campaigns", **query)


def sent_in_window(db: Database, workspace_id: str, time_range: dict[str, str]
                   ) -> dict[str, int]:
    """Plain SQL: messages per campaign whose send falls in [start, end)."""
    with db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT campaign_id, count(*) FROM messages WHERE workspace_id = :ws "
            "AND sent_at >= :start AND sent_at < :end GROUP BY campaign_id"),
            {"ws": workspace_id, "start": parse_utc(time_range["start"]),
             "end": parse_utc(time_range["end"])}).all()
    return {campaign_id: int(count) for campaign_id, count in rows}


def live_campaigns_newest_first(db: Database, workspace_id: str) -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT id FROM campaigns WHERE workspace_id = :ws AND deleted_at IS NULL "
            "ORDER BY created_at DESC, id DESC"), {"ws": workspace_id}).scalars())


def leads_per_campaign(db: Database, workspace_id: str) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT campaign_id, count(*) FROM leads "
                                 "WHERE workspace_id = :ws GROUP BY 1"), {"ws": workspace_id})
        return {campaign_id: int(count) for campaign_id, count in rows}


# --- GET /api/v1/me -------------------------------------------------------------------------

def test_me_names_the_keys_workspace_the_key_and_the_refresh_schedule(
    client: FlaskClient, make_tenant: Any, db: Database, settings: Settings
) -> None:
    tenant = make_tenant("Kolkata desk", "Asia/Kolkata")
    with db.sessions() as session:
        second, second_plain = create_key(session, tenant.id, "dashboard")
        session.commit()
        keys = {key.name: (key.id, key.prefix, key.hash) for key in session.scalars(
            select(ApiKey).where(ApiKey.workspace_id == tenant.id))}
    shown = tenant.get("").get_json()["data"]
    assert shown["name"] == "Kolkata desk"

    for name, plain in (("default", tenant.key), ("dashboard", second_plain)):
        response = me(client, plain)
        assert response.status_code == 200, response.get_data(as_text=True)
        key_id, prefix, digest = keys[name]
        assert response.get_json() == {"success": True, "data": {
            "workspace": {"id": tenant.id, "name": "Kolkata desk", "timezone": "Asia/Kolkata",
                          "created_at": shown["created_at"]},
            "key": {"id": key_id, "name": name, "prefix": prefix},
            "refresh": {"incremental_every_seconds": settings.refresh_incremental_seconds,
                        "full_cron": settings.refresh_full_cron},
        }}
        assert plain.startswith(prefix) and len(prefix) < len(plain)
        body = response.get_data(as_text=True)
        # Neither the secret nor its digest, of this key or of the workspace's other one.
        for secret in (tenant.key, second_plain, *(v[2] for v in keys.values())):
            assert secret not in body
        assert hashlib.sha256(plain.encode()).hexdigest() == digest
    assert second.id == keys["dashboard"][0]


def test_me_refuses_a_missing_bad_or_revoked_key(client: FlaskClient, tenant: Tenant,
                                                 db: Database) -> None:
    with db.sessions() as session:
        revoked, revoked_plain = create_key(session, tenant.id, "revoked")
        session.commit()
    assert me(client, revoked_plain).status_code == 200  # works until revoked
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE api_keys SET revoked_at = now() WHERE id = :id"),
                     {"id": revoked.id})

    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer nope"},
                    {"Authorization": f"Bearer {tenant.key}x"},
                    {"Authorization": f"Basic {tenant.key}"},
                    {"Authorization": f"Bearer {revoked_plain}"}):
        response = client.get("/api/v1/me", headers=headers)
        assert_error(response, 401, "UNAUTHORIZED")
        assert tenant.id not in response.get_data(as_text=True)
    assert me(client, tenant.key).status_code == 200  # the workspace's other key still works


def test_me_is_documented_behind_a_key(client: FlaskClient) -> None:
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/me"]["get"]
    assert operation.get("security") != []
    assert "401" in operation["responses"]


# --- PATCH /workspaces/{workspace_id} -------------------------------------------------------

def test_patch_changes_only_the_fields_given(client: FlaskClient, tenant: Tenant) -> None:
    before = tenant.get("").get_json()["data"]
    renamed = patch_workspace(tenant, {"name": "  Outreach EU  "})
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    assert renamed.get_json()["data"] == {**before, "name": "Outreach EU"}

    moved = patch_workspace(tenant, {"timezone": "Europe/Berlin"})
    expected = {**before, "name": "Outreach EU", "timezone": "Europe/Berlin"}
    assert moved.get_json()["data"] == expected
    assert patch_workspace(tenant, {}).get_json()["data"] == expected
    both = patch_workspace(tenant, {"name": "Both", "timezone": "Asia/Kolkata"})
    expected = {**before, "name": "Both", "timezone": "Asia/Kolkata"}
    assert both.get_json()["data"] == expected
    assert tenant.get("").get_json()["data"] == expected
    assert me(client, tenant.key).get_json()["data"]["workspace"] == expected


@pytest.mark.parametrize(("body", "field"), [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "utc"}, "timezone"),
    ({"timezone": ""}, "timezone"),
    ({"timezone": 5}, "timezone"),
    ({"timezone": None}, None),
    ({"name": None}, None),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "a\x00b"}, "name"),
    ({"name": "Fine", "colour": "red"}, "colour"),
    ({"id": "ws_other"}, "id"),
    (["name"], None),
])
def test_patch_refuses_a_bad_body_and_changes_nothing(tenant: Tenant, body: Any,
                                                      field: str | None) -> None:
    before = tenant.get("").get_json()["data"]
    error = assert_error(patch_workspace(tenant, body), 400, "VALIDATION_ERROR")
    assert error["details"], error
    if field is not None:
        assert field in error["details"], error
    if field == "timezone":
        assert list(error["details"]) == ["timezone"], error
    assert tenant.get("").get_json()["data"] == before


def test_patch_refuses_a_body_that_is_not_json(tenant: Tenant) -> None:
    response = tenant.client.patch(tenant.prefix, headers=tenant.headers, data="{name:",
                                   content_type="application/json")
    assert_error(response, 400, "INVALID_JSON")


def test_another_workspace_cannot_be_patched(make_tenant: Any) -> None:
    mine, theirs = make_tenant("Mine"), make_tenant("Theirs")
    response = mine.client.patch(theirs.prefix, headers=mine.headers,
                                 json={"name": "Hijacked", "timezone": "Asia/Tokyo"})
    assert_error(response, 404, "WORKSPACE_NOT_FOUND")
    data = theirs.get("").get_json()["data"]
    assert (data["name"], data["timezone"]) == ("Theirs", "UTC")


def test_a_new_timezone_is_the_default_of_every_windowed_read(tenant: Tenant,
                                                              db: Database) -> None:
    """A message sent at 02:00 UTC on 3 November is the evening of the 2nd in New York: the
    same request without ``timezone`` counts it only once the workspace is in New York,
    with no refresh in between (the rollups are in UTC)."""
    world = new_world(tenant, "Evening")
    world.post([world.sent("m-evening", world.lead(), 1005),
                world.event("delivered", "m-evening", 1006)])
    refresh(db, tenant.id, RefreshMode.FULL)
    campaign_path = f"/campaigns/{world.campaign}/analytics"
    reads = {
        "analytics": lambda: read(tenant, campaign_path, **ONE_UTC_DAY),
        "overview": lambda: read(tenant, "/analytics/overview", **ONE_UTC_DAY),
        "table": lambda: table(tenant, **ONE_UTC_DAY),
    }

    def sent(name: str, data: dict[str, Any]) -> int:
        if name == "table":
            return int(data["campaigns"][0]["emails_sent"])
        return int(data["summary"]["emails_sent"])

    for name, get in reads.items():
        data = get()
        assert data["time_range"] == {"start": "2026-11-02T00:00:00Z",
                                      "end": "2026-11-03T00:00:00Z",
                                      "period": "custom", "timezone": "UTC"}, name
        assert sent(name, data) == 0, name

    assert patch_workspace(tenant, {"timezone": "America/New_York"}).status_code == 200
    for name, get in reads.items():
        data = get()
        assert data["time_range"] == {"start": "2026-11-02T00:00:00-05:00",
                                      "end": "2026-11-03T00:00:00-05:00",
                                      "period": "custom", "timezone": "America/New_York"}, name
        assert sent(name, data) == 1, name
    # The default of a relative range, too; an explicit timezone still wins.
    assert table(tenant)["time_range"]["timezone"] == "America/New_York"
    assert read(tenant, "/analytics/overview", timeRange="7d")["time_range"]["timezone"] \
        == "America/New_York"
    explicit = table(tenant, **ONE_UTC_DAY, timezone="UTC")
    assert explicit["time_range"]["timezone"] == "UTC"
    assert explicit["campaigns"][0]["emails_sent"] == 0


# --- GET /analytics/campaigns: a generated data set -----------------------------------------

GENERATED_END = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
# (query, timezone it must resolve in); the last is the workspace's own default.
GENERATED_CASES = [
    ({"timeRange": "custom", "startDate": "2026-10-01", "endDate": "2026-11-20",
      "timezone": "UTC"}, "UTC"),
    ({"timeRange": "custom", "startDate": "2026-10-20", "endDate": "2026-11-08",
      "timezone": "America/New_York"}, "America/New_York"),
    ({"timeRange": "custom", "startDate": "2026-11-01T06:30:00Z",
      "endDate": "2026-11-15T18:00:00+05:30", "timezone": "Asia/Kolkata"}, "Asia/Kolkata"),
    ({"timeRange": "custom", "startDate": "2026-08-01", "endDate": "2026-11-20"},
     "Europe/Paris"),
]


@pytest.fixture(scope="module")
def generated(app: Flask, db: Database) -> Tenant:
    """About 10,000 generated events in six campaigns, refreshed in full."""
    with db.sessions() as session:
        workspace, key = create_workspace(session, "Campaign table", "Europe/Paris")
    generate_dataset(db, workspace.id, 10_000, seed=23, end=GENERATED_END)
    refresh(db, workspace.id, RefreshMode.FULL)
    return Tenant(app.test_client(), workspace.id, key)


@pytest.mark.parametrize(("query", "timezone"), GENERATED_CASES,
                         ids=[zone for _, zone in GENERATED_CASES])
def test_each_row_equals_the_campaigns_own_analytics(generated: Tenant, db: Database,
                                                     query: dict[str, str],
                                                     timezone: str) -> None:
    data = table(generated, **query)
    assert data["time_range"]["timezone"] == timezone
    assert parse_utc(data["as_of"]) == stored_as_of(db, generated.id)
    rows = data["campaigns"]
    assert [row["campaign_id"] for row in rows] == live_campaigns_newest_first(db, generated.id)
    assert len(rows) >= 4

    sql_sent = sent_in_window(db, generated.id, data["time_range"])
    leads = leads_per_campaign(db, generated.id)
    for row in rows:
        assert set(row) == ROW_FIELDS
        own = read(generated, f"/campaigns/{row['campaign_id']}/analytics", **query)
        assert own["time_range"] == data["time_range"]
        assert {"campaign_id": row["campaign_id"], "campaign_name": row["campaign_name"],
                "status": row["status"], "created_at": row["created_at"]} == {
            "campaign_id": own["campaign"]["id"], "campaign_name": own["campaign"]["name"],
            "status": own["campaign"]["status"], "created_at": own["campaign"]["created_at"]}
        assert {name: row[name] for name in FROM_SUMMARY} == {
            name: own["summary"][name] for name in FROM_SUMMARY}, row["campaign_name"]
        assert {name: row[name] for name in FROM_RATES} == {
            name: own["rates"][name] for name in FROM_RATES}, row["campaign_name"]
        assert row["emails_sent"] == sql_sent.get(row["campaign_id"], 0)
        assert row["leads"] == leads.get(row["campaign_id"], 0) == own["leads"]["total"]
    # Real numbers, not a table of zeros; and the rows add up to the overview's totals.
    assert sum(row["emails_sent"] for row in rows) > 200
    assert sum(row["emails_opened"] for row in rows) > 0
    assert sum(row["emails_replied"] for row in rows) > 0
    summary = read(generated, "/analytics/overview", **query)["summary"]
    for name in FROM_SUMMARY:
        assert sum(row[name] for row in rows) == summary[name], name


def test_the_windows_really_differ(generated: Tenant) -> None:
    """The cases above are not the same numbers four times over."""
    totals = {tuple(row["emails_sent"] for row in table(generated, **query)["campaigns"])
              for query, _ in GENERATED_CASES}
    assert len(totals) == len(GENERATED_CASES)


# --- GET /analytics/campaigns: a hand-built data set ----------------------------------------

def new_world(tenant: Tenant, name: str) -> World:
    response = tenant.post("/campaigns", json={"name": name})
    assert response.status_code == 201, response.get_data(as_text=True)
    account = tenant.post("/accounts", json={"email": f"s{next_id()}@sender.io"})
    return World(tenant, response.get_json()["data"]["id"], account.get_json()["data"]["id"])


def post(world: World, events: list[dict[str, Any]]) -> None:
    result = world.post(events)
    assert result["rejected"] == [], result


def created_at(tenant: Tenant, campaign: str) -> str:
    return str(tenant.get(f"/campaigns/{campaign}").get_json()["data"]["created_at"])


def build_small_workspace(tenant: Tenant) -> dict[str, World]:
    """Old: four messages around 2 November (UTC), one failure, a ghost open. Quiet: two
    leads, nothing sent, paused. Doomed: a delivered message, deleted later."""
    old = new_world(tenant, "Old")
    first, second, third = old.lead(), old.lead(), old.lead()
    post(old, [
        # In the UTC day: delivered, opened twice, clicked, replied.
        old.sent("m-1", first, 0), old.event("delivered", "m-1", 1),
        old.event("opened", "m-1", 30), old.event("clicked", "m-1", 35),
        old.event("opened", "m-1", 40), old.event("replied", "m-1", 60, body=POSITIVE_REPLY),
        # In the UTC day: delivered only.
        old.sent("m-2", second, 5), old.event("delivered", "m-2", 6),
        # Sent the day before; its first open is in the day.
        old.sent("m-3", third, -24 * 60), old.event("delivered", "m-3", -24 * 60 + 1),
        old.event("opened", "m-3", 20),
        # 02:00 UTC on the 3rd: the evening of the 2nd in New York.
        old.sent("m-4", first, 1005), old.event("delivered", "m-4", 1006),
        old.event("opened", "m-4", 1010),
        # A failure is not a send; an open of a message never sent is not counted.
        old.event("failed", "m-5", 10, lead_id=third, account_id=old.account,
                  recipient="m-5@gmail.com"),
        old.event("opened", "ghost-1", 20),
    ])
    quiet = new_world(tenant, "Quiet")
    for _ in range(2):
        quiet.lead()
    set_status(tenant, quiet.campaign, "paused")
    doomed = new_world(tenant, "Doomed")
    post(doomed, [doomed.sent("m-6", doomed.lead(), 2), doomed.event("delivered", "m-6", 3)])
    return {"old": old, "quiet": quiet, "doomed": doomed}


@pytest.fixture
def small(make_tenant: Any, db: Database) -> tuple[Tenant, dict[str, World], Tenant]:
    """The hand-built workspace, refreshed, and another workspace busy the same day."""
    mine, theirs = make_tenant("Mine"), make_tenant("Theirs")
    worlds = build_small_workspace(mine)
    other = new_world(theirs, "Theirs")
    post(other, [other.sent(f"t-{n}", other.lead(), n) for n in range(3)])
    for tenant in (mine, theirs):
        refresh(db, tenant.id, RefreshMode.FULL)
    return mine, worlds, theirs


def row(campaign: str, name: str, status: str, created: str, leads: int,
        **numbers: Any) -> dict[str, Any]:
    return {"campaign_id": campaign, "campaign_name": name, "status": status,
            "created_at": created, "leads": leads, **ZERO_ROW, **numbers}


def test_rows_hold_the_numbers_worked_out_by_hand(
    small: tuple[Tenant, dict[str, World], Tenant], db: Database
) -> None:
    mine, worlds, theirs = small
    old, quiet, doomed = worlds["old"], worlds["quiet"], worlds["doomed"]
    data = table(mine, **ONE_UTC_DAY)
    assert data["time_range"] == {"start": "2026-11-02T00:00:00Z",
                                  "end": "2026-11-03T00:00:00Z",
                                  "period": "custom", "timezone": "UTC"}
    assert parse_utc(data["as_of"]) == stored_as_of(db, mine.id)
    assert data["campaigns"] == [
        row(doomed.campaign, "Doomed", "active", created_at(mine, doomed.campaign), 1,
            emails_sent=1, emails_delivered=1),
        row(quiet.campaign, "Quiet", "paused", created_at(mine, quiet.campaign), 2),
        # Sent m-1 and m-2; delivered m-1 and m-2; opened m-1 and m-3 (first opens in the
        # day); clicked and replied m-1.
        row(old.campaign, "Old", "active", created_at(mine, old.campaign), 3,
            emails_sent=2, emails_delivered=2, emails_opened=2, emails_replied=1,
            open_rate=100.0, click_rate=50.0, reply_rate=50.0),
    ]
    assert sent_in_window(db, mine.id, data["time_range"]) == {old.campaign: 2,
                                                               doomed.campaign: 1}

    # New York's 2 November is 05:00 to 05:00 UTC: m-4 is sent, delivered and opened in it
    # too, while m-3 stays out (its open at 04:35 local is still in): 3 of everything sent.
    new_york = table(mine, **ONE_UTC_DAY, timezone="America/New_York")
    [_, _, old_row] = new_york["campaigns"]
    assert {name: old_row[name] for name in (*FROM_SUMMARY, *FROM_RATES)} == {
        "emails_sent": 3, "emails_delivered": 3, "emails_opened": 3, "emails_replied": 1,
        "open_rate": 100.0, "click_rate": 33.33, "reply_rate": 33.33}
    assert sent_in_window(db, mine.id, new_york["time_range"])[old.campaign] == 3

    text_of_mine = str(data) + str(new_york)
    assert theirs.id not in text_of_mine and "Theirs" not in text_of_mine
    [their_row] = table(theirs, **ONE_UTC_DAY)["campaigns"]
    assert (their_row["campaign_name"], their_row["emails_sent"]) == ("Theirs", 3)
    assert_error(theirs.client.get(f"{mine.prefix}/analytics/campaigns",
                                   headers=theirs.headers), 404, "WORKSPACE_NOT_FOUND")


def test_a_deleted_campaign_leaves_and_a_new_one_arrives_with_zeros(
    small: tuple[Tenant, dict[str, World], Tenant], db: Database
) -> None:
    mine, worlds, _ = small
    before = table(mine, **ONE_UTC_DAY)["campaigns"]
    delete_campaign(mine, worlds["doomed"].campaign)
    newest = new_world(mine, "Newest")  # after the last refresh: listed at once
    after = table(mine, **ONE_UTC_DAY)
    assert after["campaigns"] == [
        row(newest.campaign, "Newest", "active", created_at(mine, newest.campaign), 0),
        *before[1:]]
    assert worlds["doomed"].campaign not in str(after)


def test_rows_are_newest_first_ties_by_id_descending(
    small: tuple[Tenant, dict[str, World], Tenant], db: Database
) -> None:
    mine, worlds, _ = small
    campaigns = [worlds[name].campaign for name in ("old", "quiet", "doomed")]
    with db.engine.begin() as conn:  # one instant for all three
        conn.execute(text("UPDATE campaigns SET created_at = '2026-10-01T12:00:00Z' "
                          "WHERE id = ANY(:ids)"), {"ids": campaigns})
    rows = table(mine, **ONE_UTC_DAY)["campaigns"]
    assert [r["campaign_id"] for r in rows] == sorted(campaigns, reverse=True)
    assert {r["created_at"] for r in rows} == {"2026-10-01T12:00:00Z"}

    with db.engine.begin() as conn:  # the smallest id, made the newest
        conn.execute(text("UPDATE campaigns SET created_at = '2026-10-02T12:00:00Z' "
                          "WHERE id = :id"), {"id": min(campaigns)})
    rows = table(mine, **ONE_UTC_DAY)["campaigns"]
    assert [r["campaign_id"] for r in rows] == [
        min(campaigns), *sorted(set(campaigns) - {min(campaigns)}, reverse=True)]


def test_an_empty_workspace_has_an_empty_table(make_tenant: Any) -> None:
    tenant = make_tenant("Empty", "Asia/Kolkata")
    data = table(tenant)
    assert data["campaigns"] == []
    assert data["as_of"] is None  # never refreshed
    assert (data["time_range"]["period"], data["time_range"]["timezone"]) == (
        "30d", "Asia/Kolkata")
    assert data["time_range"]["start"].endswith("T00:00:00+05:30")


@pytest.mark.parametrize(("query", "status", "code"), [
    ({"timeRange": "custom"}, 400, "INVALID_TIME_RANGE"),
    ({"timeRange": "custom", "startDate": "2026-11-05", "endDate": "2026-11-01"}, 400,
     "INVALID_TIME_RANGE"),
    ({"timeRange": "custom", "startDate": "2025-01-01", "endDate": "2026-11-01"}, 400,
     "INVALID_TIME_RANGE"),
    ({"timeRange": "5d"}, 400, "INVALID_TIME_RANGE"),
    ({"timezone": "Mars/Olympus_Mons"}, 400, "VALIDATION_ERROR"),
    ({"sort": "name"}, 400, "VALIDATION_ERROR"),
])
def test_bad_windows_are_refused(tenant: Tenant, query: dict[str, str], status: int,
                                 code: str) -> None:
    assert_error(tenant.get("/analytics/campaigns", query_string=query), status, code)


# --- GET /analytics/campaigns: the overview's rate limit ------------------------------------

@pytest.fixture
def limited(settings: Settings, redis_url: str, db: Database) -> Iterator[Tenant]:
    """An app whose overview budget is 2 a minute (default 50), under a key prefix of its
    own whose Redis keys are deleted afterwards."""
    prefix = f"ratelimit-dashboard-{secrets.token_hex(6)}"
    app = webapi.create_app(settings.model_copy(update={
        "rate_limit_overview": 2, "rate_limit_default": 50, "rate_limit_key_prefix": prefix}))
    with db.sessions() as session:
        workspace, key = create_workspace(session, "Limited", "UTC")
    yield Tenant(app.test_client(), workspace.id, key)
    app.extensions["database"].engine.dispose()
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_the_table_spends_the_overview_budget(limited: Tenant) -> None:
    def limits(response: Any) -> tuple[int, str | None, str | None]:
        return (response.status_code, response.headers.get("X-RateLimit-Limit"),
                response.headers.get("X-RateLimit-Remaining"))

    assert limits(limited.get("/analytics/campaigns")) == (200, "2", "1")
    assert limits(limited.get("/analytics/overview")) == (200, "2", "0")
    refused = limited.get("/analytics/campaigns")
    assert_error(refused, 429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert limits(limited.get("/campaigns")) == (200, "50", "49")  # another budget
    me = limited.client.get("/api/v1/me", headers=limited.headers)  # the default budget too
    assert limits(me) == (200, "50", "48")


def test_the_table_is_documented_with_its_limit(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    operation = paths["/api/v1/workspaces/{workspace_id}/analytics/campaigns"]["get"]
    assert "429" in operation["responses"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"workspace_id", "timeRange", "startDate", "endDate", "timezone"} <= names


# --- the dashboard at /app/ -----------------------------------------------------------------

def assert_protected(response: Any) -> None:
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'self'")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_app_without_its_slash_redirects_permanently(client: FlaskClient) -> None:
    response = client.get("/app")
    assert response.status_code == 308
    assert response.headers["Location"] in ("/app/", "http://localhost/app/")


def test_app_serves_the_page_with_protective_headers(client: FlaskClient) -> None:
    page = STATIC / "index.html"
    assert page.is_file(), f"{page} is missing"
    response = client.get("/app/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.get_data() == page.read_bytes()
    assert_protected(response)


def test_the_vendored_chart_library_is_served_as_javascript(client: FlaskClient) -> None:
    script = STATIC / "vendor" / "chart.umd.min.js"
    response = client.get("/app/vendor/chart.umd.min.js")
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert response.get_data() == script.read_bytes()
    assert b"Chart.js v4.6.1" in response.get_data()[:200]
    assert_protected(response)


OUTSIDE = [Path(webapi.__file__).resolve().parents[1] / "pyproject.toml",
           Path(webapi.dashboard.__file__).resolve()]


@pytest.mark.parametrize("path", [
    "/app/nothing-here.js",
    "/app/vendor/chart.umd.js",
    "/app/vendor/",
    "/app/vendor",
    "/app/../pyproject.toml",
    "/app/../../pyproject.toml",
    "/app/../__init__.py",
    "/app/vendor/../../__init__.py",
    "/app/%2e%2e/__init__.py",
    "/app/..%2f__init__.py",
    "/app/..%2f..%2f..%2fpyproject.toml",
    "/app/%2e%2e%2f%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/app/..\\__init__.py",
    "/app//etc/passwd",
    "/app/%2fetc%2fpasswd",
])
def test_a_missing_or_outside_file_is_the_json_404(client: FlaskClient, path: str) -> None:
    response = client.get(path, follow_redirects=True)
    assert_error(response, 404, "NOT_FOUND")
    body = response.get_data()
    for outside in OUTSIDE:
        assert outside.read_bytes()[:200] not in body
    assert b"root:" not in body


def test_the_dashboard_answers_other_methods_with_the_json_envelope(
    client: FlaskClient,
) -> None:
    assert_error(client.post("/app/"), 405, "METHOD_NOT_ALLOWED")
    assert_error(client.delete("/app/vendor/chart.umd.min.js"), 405, "METHOD_NOT_ALLOWED")
