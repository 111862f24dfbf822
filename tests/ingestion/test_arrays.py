"""The ids a batch sends under the ingest lock go as ``text[]`` literals built in Python:
any text the API accepts as an id must come back unchanged."""

from __future__ import annotations

from sqlalchemy import text

from campaign_analytics.db import Database
from campaign_analytics.pgarrays import boolean_array, text_array
from tests.webapi.test_campaigns import make_campaign
from tests.world import World, count

HOSTILE = [
    "plain", "", " ", "  padded  ", "NULL", "null", "a,b", "{braces}", "}", "{", '"quoted"',
    '"', "back\\slash", "\\", '\\"', "semi;colon", "new\nline", "tab\there", "ünïcødé ✉",
    "<m-1@mail.example.com>", "'single'", "$1", "%s", "x" * 190,
]


def test_text_array_round_trips_any_text(db: Database) -> None:
    with db.engine.connect() as conn:
        for values in ([], HOSTILE, [HOSTILE[-1]], sorted(HOSTILE)):
            back = conn.execute(text("SELECT CAST(:a AS text[])"),
                                {"a": text_array(values)}).scalar_one()
            assert back == values
        flags = [True, False, False, True]
        assert conn.execute(text("SELECT CAST(:a AS boolean[])"),
                            {"a": boolean_array(flags)}).scalar_one() == flags


def test_hostile_message_ids_are_looked_up_and_updated(world: World, db: Database) -> None:
    lead = world.lead()
    ids = [f"m{n}-{value}" for n, value in enumerate(HOSTILE) if value.strip()]
    first = world.post([world.sent(m, lead, 0, recipient=f"r{n}@example.com")
                        for n, m in enumerate(ids)])
    assert (first["accepted"], first["rejected"]) == (len(ids), [])
    # Existing messages: found by the lookup (a repeat sent is no new message), their
    # states updated, and a claim by another campaign refused.
    other = make_campaign(world.tenant, "Other")["id"]
    second = world.post([world.event("delivered", m, 5) for m in ids]
                        + [world.event("opened", ids[0], 6, campaign_id=other)])
    assert second["accepted"] == len(ids)
    assert [r["code"] for r in second["rejected"]] == ["VALIDATION_ERROR"]
    with db.engine.connect() as conn:
        stored = dict(conn.execute(text(
            "SELECT message_id, state FROM messages WHERE workspace_id = :w"),
            {"w": world.tenant.id}).all())
    assert stored == dict.fromkeys(ids, "delivered")
    assert count(db, "SELECT count(*) FROM email_events WHERE workspace_id = :w",
                 w=world.tenant.id) == 2 * len(ids)
