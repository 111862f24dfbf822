"""Replies, manual reclassification (the lead follows), suppressions, and the purge."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from campaign_analytics.db import Database
from campaign_analytics.jobs import runner
from campaign_analytics.settings import Settings
from tests.conftest import Tenant
from tests.webapi.test_errors import assert_error
from tests.world import World, count


def _decline(world: World) -> tuple[str, str]:
    lead = world.lead()
    world.post([world.sent("m-r", lead),
                world.event("replied", "m-r", 9, body="Not interested, thanks.",
                            **{"from": "Editor@Example.com"})])
    replies = world.tenant.get(f"/campaigns/{world.campaign}/replies").get_json()["data"]
    return lead, replies[0]["id"]


def test_replies_are_listed_with_their_class(world: World) -> None:
    _, reply_id = _decline(world)
    listed = world.tenant.get(f"/campaigns/{world.campaign}/replies",
                              query_string={"classification": "not_interested"})
    data = listed.get_json()["data"]
    assert [r["id"] for r in data] == [reply_id]
    assert data[0]["from"] == "editor@example.com"
    assert data[0]["classified_by"] == "auto"


def test_correcting_a_decline_lifts_its_consequences(world: World) -> None:
    lead, reply_id = _decline(world)
    assert world.lead_status(lead) == "lost"
    assert world.tenant.get("/suppressions").get_json()["data"][0]["email"] == \
        "editor@example.com"
    response = world.tenant.client.patch(
        f"{world.tenant.prefix}/replies/{reply_id}", headers=world.tenant.headers,
        json={"classification": "interested"})
    data = response.get_json()["data"]
    assert (data["classification"], data["classified_by"]) == ("interested", "manual")
    assert world.lead_status(lead) == "replied"
    assert world.tenant.get("/suppressions").get_json()["data"] == []


def test_marking_a_reply_as_decline_moves_and_suppresses(world: World) -> None:
    lead = world.lead()
    world.post([world.sent("m-q", lead),
                world.event("replied", "m-q", 9, body="Who are you, exactly?")])
    reply_id = world.tenant.get(f"/campaigns/{world.campaign}/replies").get_json()["data"][0]["id"]
    world.tenant.client.patch(f"{world.tenant.prefix}/replies/{reply_id}",
                              headers=world.tenant.headers,
                              json={"classification": "not_interested"})
    assert world.lead_status(lead) == "lost"
    assert [s["email"] for s in world.tenant.get("/suppressions").get_json()["data"]] == [
        "m-q@gmail.com"]


def test_suppression_can_be_removed_once(world: World) -> None:
    _decline(world)
    path = f"{world.tenant.prefix}/suppressions/Editor@example.com"
    assert world.tenant.client.delete(path, headers=world.tenant.headers).status_code == 200
    assert_error(world.tenant.client.delete(path, headers=world.tenant.headers),
                 404, "SUPPRESSION_NOT_FOUND")


def test_replies_of_another_workspace_are_not_found(world: World, make_tenant: Any) -> None:
    _, reply_id = _decline(world)
    other: Tenant = make_tenant()
    assert_error(other.client.patch(f"{other.prefix}/replies/{reply_id}", headers=other.headers,
                                    json={"classification": "interested"}),
                 404, "REPLY_NOT_FOUND")
    assert_error(other.get(f"/campaigns/{world.campaign}/replies"), 404, "CAMPAIGN_NOT_FOUND")
    assert other.get("/suppressions").get_json()["data"] == []


def test_deleting_a_campaign_leaves_no_row_of_it(
    world: World, db: Database, settings: Settings
) -> None:
    lead = world.lead()
    world.post([world.sent("m-d", lead), world.event("opened", "m-d", 3),
                world.event("replied", "m-d", 5, body="Sure, send it."),
                world.event("opened", "m-orphan", 6)])
    other = world.tenant.post("/campaigns", json={"name": "Kept"}).get_json()["data"]["id"]
    world.tenant.post(f"/campaigns/{other}/leads", json={})
    response = world.tenant.client.delete(f"{world.tenant.prefix}/campaigns/{world.campaign}",
                                          headers=world.tenant.headers)
    job_id = response.get_json()["data"]["purge_job_id"]
    # Events for a deleted campaign are refused from now on.
    late = world.post([world.event("opened", "m-d", 7)])
    assert late["rejected"][0]["code"] == "CAMPAIGN_NOT_FOUND"

    assert runner.run(db, settings, job_id, worker="test").status == "completed"
    for table in ("email_events", "messages", "replies", "leads", "campaigns"):
        column = "id" if table == "campaigns" else "campaign_id"
        assert count(db, f"SELECT count(*) FROM {table} WHERE {column} = :c",
                     c=world.campaign) == 0, table
    assert count(db, "SELECT count(*) FROM leads WHERE campaign_id = :c", c=other) == 1
    job = world.tenant.get(f"/jobs/{job_id}").get_json()["data"]
    assert job["result"] == {"events": 4, "replies": 1, "messages": 1, "leads": 1}
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT 1 FROM campaigns WHERE id = :c"),
                            {"c": other}).scalar() == 1
