"""Edge cases found in review: hostile text, nulls, races, early events, purge re-runs."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import text

from campaign_analytics.db import Database
from campaign_analytics.jobs import runner
from campaign_analytics.settings import Settings
from tests.webapi.test_errors import assert_error
from tests.world import World, count


def test_a_nul_character_rejects_only_its_event(world: World) -> None:
    lead = world.lead()
    result = world.post([world.sent("m-nul", lead),
                         world.event("replied", "m-nul", 5, body="hello\u0000world")])
    assert result["accepted"] == 1
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [(1, "VALIDATION_ERROR")]


def test_a_nul_character_fails_only_its_lead(world: World) -> None:
    body = {"leads": [{"website_title": "ok"}, {"website_title": "bad\u0000"}]}
    data = world.tenant.post(f"/campaigns/{world.campaign}/leads/bulk", json=body)
    data = data.get_json()["data"]
    assert [c["index"] for c in data["created"]] == [0]
    assert [(f["index"], f["code"]) for f in data["failed"]] == [(1, "VALIDATION_ERROR")]


def test_null_for_a_required_field_is_an_error(world: World) -> None:
    path = f"{world.tenant.prefix}/campaigns/{world.campaign}"
    headers = world.tenant.headers
    error = assert_error(world.tenant.client.patch(path, headers=headers, json={"name": None}),
                         400, "VALIDATION_ERROR")
    assert "name" in str(error["details"])
    cleared = world.tenant.client.patch(path, headers=headers, json={"description": None})
    assert cleared.status_code == 200
    lead = world.lead()
    assert_error(world.tenant.client.patch(f"{path}/leads/{lead}", headers=headers,
                                           json={"status": None}), 400, "VALIDATION_ERROR")


def test_a_sent_may_not_claim_a_message_early_events_gave_another_campaign(
    world: World,
) -> None:
    world.post([world.event("opened", "m-early", 5)])
    other = world.tenant.post("/campaigns", json={"name": "B"}).get_json()["data"]["id"]
    lead = world.tenant.post(f"/campaigns/{other}/leads", json={}).get_json()["data"]["id"]
    result = world.post([world.sent("m-early", lead, 0, campaign_id=other)])
    assert [r["code"] for r in result["rejected"]] == ["VALIDATION_ERROR"]


def test_an_early_decline_without_sender_suppresses_the_recipient(world: World) -> None:
    lead = world.lead()
    world.post([world.event("replied", "m-late", 9, body="Not interested.")])
    assert world.tenant.get("/suppressions").get_json()["data"] == []
    world.post([world.sent("m-late", lead)])
    emails = [s["email"] for s in world.tenant.get("/suppressions").get_json()["data"]]
    assert emails == ["m-late@gmail.com"]
    assert world.lead_status(lead) == "lost"


def test_correcting_a_reply_never_undoes_a_persons_lost(world: World) -> None:
    lead = world.lead()
    world.post([world.sent("m-p", lead),
                world.event("replied", "m-p", 5, body="Sounds good, send the draft.")])
    path = f"{world.tenant.prefix}/campaigns/{world.campaign}/leads/{lead}"
    world.tenant.client.patch(path, headers=world.tenant.headers, json={"status": "lost"})
    world.post([world.event("replied", "m-p", 9, body="Not interested after all.")])
    replies = world.tenant.get(f"/campaigns/{world.campaign}/replies",
                               query_string={"classification": "not_interested"})
    reply_id = replies.get_json()["data"][0]["id"]
    world.tenant.client.patch(f"{world.tenant.prefix}/replies/{reply_id}",
                              headers=world.tenant.headers, json={"classification": "replied"})
    assert world.lead_status(lead) == "lost"


def test_a_deleted_campaigns_replies_cannot_be_changed(world: World) -> None:
    lead = world.lead()
    world.post([world.sent("m-z", lead), world.event("replied", "m-z", 5, body="Who is this?")])
    reply_id = world.tenant.get(f"/campaigns/{world.campaign}/replies").get_json()["data"][0]["id"]
    world.tenant.client.delete(f"{world.tenant.prefix}/campaigns/{world.campaign}",
                               headers=world.tenant.headers)
    response = world.tenant.client.patch(f"{world.tenant.prefix}/replies/{reply_id}",
                                         headers=world.tenant.headers,
                                         json={"classification": "interested"})
    assert_error(response, 404, "REPLY_NOT_FOUND")


def test_a_manual_move_waits_for_ingestion_and_sees_its_result(
    world: World, db: Database
) -> None:
    lead = world.lead()
    world.post([world.sent("m-race", lead)])
    results: dict[str, Any] = {}
    with db.engine.connect() as ingestion:
        # An ingestion batch holds the lead and moves it contacted -> replied ...
        ingestion.execute(text("SELECT 1 FROM leads WHERE id = :l FOR UPDATE"), {"l": lead})
        ingestion.execute(text("UPDATE leads SET status = 'replied' WHERE id = :l"), {"l": lead})

        def patch() -> None:
            path = f"{world.tenant.prefix}/campaigns/{world.campaign}/leads/{lead}"
            results["response"] = world.tenant.client.patch(
                path, headers=world.tenant.headers, json={"status": "bounced"})

        thread = threading.Thread(target=patch)
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive(), "the manual move did not wait for the row lock"
        ingestion.commit()
    thread.join(timeout=10)
    # ... so contacted -> bounced is judged against 'replied', where it is illegal.
    assert_error(results["response"], 409, "INVALID_STATUS_TRANSITION")
    assert world.lead_status(lead) == "replied"


def test_a_purge_run_twice_removes_nothing_more(
    world: World, db: Database, settings: Settings
) -> None:
    lead = world.lead()
    world.post([world.sent("m-twice", lead), world.event("opened", "m-twice", 2)])
    response = world.tenant.client.delete(f"{world.tenant.prefix}/campaigns/{world.campaign}",
                                          headers=world.tenant.headers)
    job_id = response.get_json()["data"]["purge_job_id"]
    assert count(db, "SELECT count(*) FROM jobs WHERE id = :j", j=job_id) == 1
    assert runner.run(db, settings, job_id, worker="w").status == "completed"
    assert runner.run(db, settings, job_id, worker="w").status == "skipped"
    job = world.tenant.get(f"/jobs/{job_id}").get_json()["data"]
    assert job["result"] == {"events": 2, "replies": 0, "messages": 1, "leads": 1}
    assert job["attempts"] == 1
