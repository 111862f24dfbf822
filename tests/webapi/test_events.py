"""POST /events: every type, idempotency, rejection codes, out-of-order events, lead moves."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from campaign_analytics.db import Database
from tests.webapi.test_campaigns import make_campaign
from tests.webapi.test_errors import assert_error
from tests.world import T0, World, count, next_id


def test_every_type_is_stored_and_a_resend_stores_nothing(world: World, db: Database) -> None:
    lead = world.lead()
    m = f"m-{next_id()}"
    events = [
        world.sent(m, lead, 0, step=1, variant="B"),
        world.event("delivered", m, 1),
        world.event("opened", m, 60, user_agent="Mozilla/5.0", ip="203.0.113.9"),
        world.event("clicked", m, 61, url="https://example.com/pricing"),
        world.event("replied", m, 90, **{"from": "editor@example.com",
                                          "subject": "Re: Guest post idea",
                                          "body": "Sounds good, send me a draft."}),
        world.event("bounced", m, 91, bounce_type="soft", reason="Mailbox full"),
        world.event("spam_complaint", m, 92),
        world.event("unsubscribed", m, 93),
        world.event("failed", f"m-{next_id()}", 5, lead_id=lead, account_id=world.account,
                    recipient="other@yahoo.co.uk"),
    ]
    assert world.post(events) == {"accepted": 9, "duplicates": 0, "rejected": []}
    assert world.post(events) == {"accepted": 0, "duplicates": 9, "rejected": []}
    stored = count(db, "SELECT count(*) FROM email_events WHERE campaign_id = :c",
                   c=world.campaign)
    assert stored == 9
    with db.engine.connect() as conn:
        message = conn.execute(text(
            "SELECT step, variant, mailbox_provider, sent_at, lead_id FROM messages "
            "WHERE message_id = :m"), {"m": m}).one()
        failed = conn.execute(text(
            "SELECT state, mailbox_provider, sent_at FROM messages "
            "WHERE campaign_id = :c AND message_id <> :m"), {"c": world.campaign, "m": m}).one()
        reply = conn.execute(text(
            'SELECT classification, classified_by, lead_id, "from" FROM replies '
            "WHERE message_id = :m"), {"m": m}).one()
    assert tuple(message) == (1, "B", "gmail", T0, lead)
    assert tuple(failed) == ("failed", "yahoo", None)
    assert tuple(reply) == ("interested", "auto", lead, "editor@example.com")
    assert world.lead_status(lead) == "replied"


def test_repeats_inside_one_batch_are_duplicates(world: World, db: Database) -> None:
    lead = world.lead()
    event = world.sent("m-rep", lead)
    assert world.post([event, event, dict(event)]) == {
        "accepted": 1, "duplicates": 2, "rejected": []}


def test_each_bad_event_is_rejected_alone(world: World, make_tenant: Any) -> None:
    lead = world.lead()
    other = make_tenant()
    foreign_campaign = make_campaign(other)["id"]
    good = world.sent("m-good", lead)
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    batch = [
        good,
        world.event("opened", "m-good", 5, campaign_id="cmp_nope"),
        world.event("opened", "m-good", 5, campaign_id=foreign_campaign),
        world.sent("m-x", "lead_nope"),
        world.sent("m-y", lead, account_id="acct_nope"),
        world.event("teleported", "m-good", 5),
        {**world.event("opened", "m-good", 5), "occurred_at": future},
        world.event("bounced", "m-good", 5),  # no bounce_type
        {k: v for k, v in world.event("opened", "m-good", 5).items() if k != "message_id"},
        world.event("opened", "m-good", 5, colour="red"),
        {**world.event("opened", "m-good", 5), "occurred_at": "2026-11-02T09:15:00"},
        "not an object",
        world.event("delivered", "m-good", 6),
    ]
    result = world.post(batch)
    assert result["accepted"] == 2
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (1, "CAMPAIGN_NOT_FOUND"), (2, "CAMPAIGN_NOT_FOUND"), (3, "LEAD_NOT_FOUND"),
        (4, "ACCOUNT_NOT_FOUND"), (5, "INVALID_EVENT_TYPE"), (6, "TIMESTAMP_IN_FUTURE"),
        (7, "MISSING_FIELD"), (8, "MISSING_FIELD"), (9, "VALIDATION_ERROR"),
        (10, "VALIDATION_ERROR"), (11, "VALIDATION_ERROR"),
    ]
    assert all(r["message"] for r in result["rejected"])


def test_an_event_may_not_move_a_message_to_another_campaign(world: World) -> None:
    lead = world.lead()
    world.post([world.sent("m-owned", lead)])
    other = make_campaign(world.tenant, "Other")["id"]
    result = world.post([world.event("opened", "m-owned", 5, campaign_id=other)])
    assert [r["code"] for r in result["rejected"]] == ["VALIDATION_ERROR"]


def test_more_than_ten_thousand_events_is_413(world: World) -> None:
    response = world.tenant.post("/events", json={"events": [{}] * 10_001})
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("kind,fields,expected", [
    ("bounced", {"bounce_type": "hard", "reason": "User unknown"}, "bounced"),
    ("bounced", {"bounce_type": "soft", "reason": "Mailbox full"}, "contacted"),
    ("replied", {"body": "Sounds great, please send the draft over!"}, "replied"),
    ("replied", {"body": "Not interested, please remove me from your list."}, "lost"),
    ("replied", {"subject": "Out of Office", "body": "I am out of the office until Monday."},
     "contacted"),
])
def test_lead_moves(world: World, kind: str, fields: dict[str, Any], expected: str) -> None:
    lead = world.lead()
    m = f"m-{next_id()}"
    world.post([world.sent(m, lead)])
    assert world.lead_status(lead) == "contacted"
    world.post([world.event(kind, m, 30, **fields)])
    assert world.lead_status(lead) == expected


def test_a_decline_suppresses_the_address(world: World) -> None:
    lead = world.lead()
    world.post([world.sent("m-decline", lead),
                world.event("replied", "m-decline", 9, body="No thanks, not interested.")])
    emails = [s["email"] for s in world.tenant.get("/suppressions").get_json()["data"]]
    assert emails == ["m-decline@gmail.com"]


def test_events_before_their_sent_count_once_it_arrives(world: World, db: Database) -> None:
    lead = world.lead()
    m = f"m-{next_id()}"
    early = [world.event("delivered", m, 1),
             world.event("replied", m, 40, body="Yes please, send me your draft."),
             world.event("bounced", m, 50, bounce_type="hard")]
    assert world.post(early)["accepted"] == 3
    assert world.lead_status(lead) == "discovered"
    assert count(db, "SELECT count(*) FROM replies WHERE message_id = :m AND lead_id IS NULL",
                 m=m) == 1
    assert world.post([world.sent(m, lead, 0)])["accepted"] == 1
    # sent -> contacted, reply (t=40) -> replied, hard bounce (t=50) only moves contacted.
    assert world.lead_status(lead) == "replied"
    assert count(db, "SELECT count(*) FROM replies WHERE message_id = :m AND lead_id = :l",
                 m=m, l=lead) == 1
    assert count(db, "SELECT count(*) FROM messages WHERE message_id = :m AND state = 'bounced'",
                 m=m) == 1


def test_automatic_moves_never_undo_a_manual_placed(world: World, db: Database) -> None:
    lead = world.lead()
    m = f"m-{next_id()}"
    world.post([world.sent(m, lead),
                world.event("replied", m, 5, body="Sounds good, send it over.")])
    path = f"{world.tenant.prefix}/campaigns/{world.campaign}/leads/{lead}"
    world.tenant.client.patch(path, headers=world.tenant.headers, json={"status": "placed"})
    world.post([world.event("replied", m, 60, body="Actually, not interested anymore.")])
    assert world.lead_status(lead) == "placed"


def test_concurrent_overlapping_batches_store_each_event_once(
    world: World, app: Flask, db: Database
) -> None:
    leads = [world.lead() for _ in range(5)]
    events = [world.sent(f"mc-{i}", leads[i % 5], i) for i in range(300)]
    events += [world.event("opened", f"mc-{i}", i + 30) for i in range(300)]
    batches = [events[start:start + 250] for start in range(0, 600, 50)] * 2

    def send(batch: list[dict[str, Any]]) -> dict[str, Any]:
        response = app.test_client().post(
            world.tenant.prefix + "/events", json={"events": batch},
            headers=world.tenant.headers)
        assert response.status_code == 202, response.get_data(as_text=True)
        return dict(response.get_json()["data"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, batches))
    assert sum(r["accepted"] for r in results) == 600
    assert sum(r["accepted"] + r["duplicates"] for r in results) == sum(map(len, batches))
    assert count(db, "SELECT count(*) FROM email_events WHERE campaign_id = :c",
                 c=world.campaign) == 600
    assert count(db, "SELECT count(*) FROM messages WHERE campaign_id = :c",
                 c=world.campaign) == 300
    assert {world.lead_status(lead) for lead in leads} == {"contacted"}
