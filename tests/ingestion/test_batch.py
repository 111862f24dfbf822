"""The batch writer's shortcuts give what the long way gave: message states set at birth,
state lookups for messages that existed before, checks split around the ingest lock, and
file batches stored in file order."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from campaign_analytics.db import Database
from campaign_analytics.ingestion.files import ingest_file
from tests.webapi.test_campaigns import make_campaign
from tests.world import World, count, next_id


def _state(db: Database, message: str) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(text("SELECT state FROM messages WHERE message_id = :m"),
                                {"m": message}).scalar_one())


def test_a_message_born_in_the_batch_takes_its_newest_state(world: World, db: Database) -> None:
    lead = world.lead()
    late, tie, failed = (f"m-{next_id()}" for _ in range(3))
    assert world.post([
        world.sent(late, lead, 0), world.event("bounced", late, 5, bounce_type="soft"),
        world.event("delivered", late, 2), world.event("opened", late, 9),
        world.sent(tie, lead, 0), world.event("delivered", tie, 1),
        world.event("bounced", tie, 1, bounce_type="soft"),  # same instant: the later wins
        world.event("failed", failed, 3, lead_id=lead, account_id=world.account,
                    recipient="x@yahoo.com"),
    ])["accepted"] == 8
    assert (_state(db, late), _state(db, tie), _state(db, failed)) == (
        "bounced", "bounced", "failed")


def test_a_message_stored_before_follows_its_newest_event(world: World, db: Database) -> None:
    lead = world.lead()
    m = f"m-{next_id()}"
    world.post([world.sent(m, lead, 0)])
    assert _state(db, m) == "sent"
    world.post([world.event("delivered", m, 10), world.event("opened", m, 20)])
    assert _state(db, m) == "delivered"
    world.post([world.event("bounced", m, 5, bounce_type="soft")])  # older than delivered
    assert _state(db, m) == "delivered"
    world.post([world.sent(m, lead, 30)])  # a retried send is newer
    assert _state(db, m) == "sent"


def test_a_refused_sent_still_ties_its_message_to_the_early_campaign(world: World) -> None:
    lead = world.lead()
    m = f"m-{next_id()}"
    world.post([world.event("delivered", m, 1)])  # an early event names world.campaign
    other = make_campaign(world.tenant, "Other")["id"]
    result = world.post([
        world.sent(m, "lead_nope", 0, campaign_id=other),
        world.event("opened", m, 5, campaign_id=other),
        world.sent(m, lead, 0),
    ])
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (0, "LEAD_NOT_FOUND"), (1, "VALIDATION_ERROR")]
    assert result["accepted"] == 1


def test_a_repeat_after_a_refused_first_is_stored(world: World, db: Database) -> None:
    lead = world.lead()
    m = f"m-{next_id()}"
    world.post([world.sent(m, lead, 0)])
    other = make_campaign(world.tenant, "Other")["id"]
    first = world.event("opened", m, 5, campaign_id=other)  # refused: m is world.campaign's
    again = {**first, "campaign_id": world.campaign}  # same external_id, now valid
    result = world.post([first, again])
    assert (result["accepted"], result["duplicates"]) == (1, 0)
    assert [r["code"] for r in result["rejected"]] == ["VALIDATION_ERROR"]
    assert count(db, "SELECT count(*) FROM email_events WHERE external_id = :e",
                 e=first["external_id"]) == 1


def test_file_batches_are_stored_in_file_order(
    world: World, db: Database, tmp_path: Path
) -> None:
    lead = world.lead()
    other = make_campaign(world.tenant, "Other")["id"]
    other_lead = world.tenant.post(f"/campaigns/{other}/leads", json={
        "contact_email": "other@example.com"}).get_json()["data"]["id"]
    m = f"m-{next_id()}"
    events = [world.sent(m, lead, 0)] + [world.event("opened", f"x-{next_id()}", n)
                                         for n in range(9)]
    # The same message claimed by another campaign in each later batch: always refused.
    for n in range(5):
        events += [world.sent(m, other_lead, n + 1, campaign_id=other)]
        events += [world.event("opened", f"x-{next_id()}", n) for _ in range(9)]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    report = ingest_file(db, world.tenant.id, path, batch_size=10)
    assert (report.accepted, report.rejected) == (55, 5)
    assert {code for _, code, _ in report.first_rejections} == {"VALIDATION_ERROR"}
    assert count(db, "SELECT count(*) FROM messages WHERE message_id = :m AND campaign_id = :c",
                 m=m, c=world.campaign) == 1
