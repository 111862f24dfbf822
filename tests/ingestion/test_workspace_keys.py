"""Events and messages have no key to their workspace (migration 0008): they go with their
campaign. These tests fail if any path leaves a row behind: a campaign purge, a workspace's
deletion (also while a batch of the workspace is being written), or a writer that stores a
row under one workspace with another workspace's campaign."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from campaign_analytics.db import Database
from campaign_analytics.generator.generate import generate_dataset
from campaign_analytics.ingestion.batch import ingest_batch
from campaign_analytics.ingestion.files import ingest_file
from campaign_analytics.jobs import runner
from campaign_analytics.settings import Settings
from tests.conftest import Tenant
from tests.webapi.test_campaigns import make_campaign
from tests.world import World, count, next_id

TABLES = ("email_events", "messages", "replies")
GENERATED_END = datetime(2026, 11, 20, tzinfo=UTC)


def rows_of(db: Database, workspace_id: str) -> dict[str, int]:
    return {table: count(db, f"SELECT count(*) FROM {table} WHERE workspace_id = :w",
                         w=workspace_id) for table in TABLES}


def strays(db: Database) -> dict[str, int]:
    """Rows whose campaign belongs to another workspace: the campaign's cascade would not
    remove them with their own workspace."""
    return {table: count(db, f"SELECT count(*) FROM {table} t JOIN campaigns c "
                             "ON c.id = t.campaign_id WHERE c.workspace_id <> t.workspace_id")
            for table in TABLES}


def fill(world: World, db: Database, tmp_path: Path) -> None:
    """Every kind of row, through every writer: the API (messages, repeats, replies,
    early events, a message born after its events), a file and the generator."""
    lead = world.lead()
    early = f"m-{next_id()}"
    world.post([world.sent("m-1", lead), world.event("opened", "m-1", 3),
                world.event("replied", "m-1", 5, body="Sure, send it."),
                world.event("delivered", early, 1), world.event("opened", f"x-{next_id()}", 2)])
    world.post([world.sent(early, lead, 0)])  # born with history
    path = tmp_path / "events.jsonl"
    events = [world.sent(f"f-{n}", lead, n) for n in range(5)]
    events += [world.event("replied", f"f-{n}", n + 1, body="Not interested, thanks.")
               for n in range(5)]
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    assert ingest_file(db, world.tenant.id, path, batch_size=4).accepted == 10
    generate_dataset(db, world.tenant.id, 1_000, seed=7, end=GENERATED_END)


def test_no_writer_stores_a_row_under_another_workspaces_campaign(
    world: World, db: Database, make_tenant: Callable[..., Tenant], tmp_path: Path,
) -> None:
    fill(world, db, tmp_path)
    other = make_tenant()
    theirs = make_campaign(other, "Theirs")["id"]
    # Another workspace's campaign is refused by the API and by the file path.
    refused = world.post([world.sent(f"m-{next_id()}", world.lead(), campaign_id=theirs),
                          world.event("opened", f"m-{next_id()}", 1, campaign_id=theirs)])
    assert [r["code"] for r in refused["rejected"]] == ["CAMPAIGN_NOT_FOUND"] * 2
    path = tmp_path / "theirs.jsonl"
    path.write_text(json.dumps(world.event("opened", "m-t", 1, campaign_id=theirs)) + "\n")
    assert ingest_file(db, world.tenant.id, path).rejected == 1
    assert all(rows_of(db, world.tenant.id).values())
    assert strays(db) == dict.fromkeys(TABLES, 0)


def test_a_deleted_workspace_leaves_no_event_or_message(
    world: World, db: Database, make_tenant: Callable[..., Tenant], tmp_path: Path,
) -> None:
    fill(world, db, tmp_path)
    # A campaign deleted but not purged yet, with rows, goes too.
    gone = make_campaign(world.tenant, "Deleted")["id"]
    world.post([world.sent(f"m-{next_id()}", world.tenant.post(
        f"/campaigns/{gone}/leads", json={}).get_json()["data"]["id"], campaign_id=gone)])
    world.tenant.client.delete(f"{world.tenant.prefix}/campaigns/{gone}",
                               headers=world.tenant.headers)
    kept = World(make_tenant(), "", "")
    kept.campaign = make_campaign(kept.tenant, "Kept")["id"]
    kept.account = kept.tenant.post("/accounts", json={"email": f"k{next_id()}@sender.io"}
                                    ).get_json()["data"]["id"]
    kept.post([kept.sent("m-1", kept.lead()), kept.event("opened", "m-1", 2)])
    before = rows_of(db, kept.tenant.id)
    assert all(rows_of(db, world.tenant.id).values())

    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM workspaces WHERE id = :w"), {"w": world.tenant.id})
    assert rows_of(db, world.tenant.id) == dict.fromkeys(TABLES, 0)
    assert rows_of(db, kept.tenant.id) == before


def test_a_workspace_deleted_during_a_batch_leaves_none_of_it(
    world: World, db: Database,
) -> None:
    """The batch's rows lock their campaign's key: the deletion waits for the commit and
    then removes them."""
    lead = world.lead()
    with db.engine.connect() as conn, conn.begin() as transaction:
        result = ingest_batch(conn, world.tenant.id, [
            world.sent("m-race", lead), world.event("opened", "m-race", 1),
            world.event("opened", "m-early", 2)])
        assert result.accepted == 3
        deleted = threading.Event()

        def delete_workspace() -> None:
            with db.engine.begin() as other:
                other.execute(text("DELETE FROM workspaces WHERE id = :w"),
                              {"w": world.tenant.id})
            deleted.set()

        thread = threading.Thread(target=delete_workspace)
        thread.start()
        assert not deleted.wait(1), "the deletion did not wait for the batch"
        transaction.commit()
    thread.join(timeout=10)
    assert deleted.is_set()
    assert rows_of(db, world.tenant.id) == dict.fromkeys(TABLES, 0)


def test_a_purged_campaign_leaves_no_event_or_message_of_its_workspace(
    world: World, db: Database, settings: Settings, tmp_path: Path,
) -> None:
    """The purge deletes by campaign; counted here by workspace, which has no other
    campaign, so a row stored with a wrong campaign would show."""
    lead = world.lead()
    world.post([world.sent("m-p", lead), world.event("opened", "m-p", 3),
                world.event("replied", "m-p", 5, body="Sure."),
                world.event("clicked", f"m-{next_id()}", 4, url="https://a.example/")])
    path = tmp_path / "more.jsonl"
    path.write_text("".join(json.dumps(world.sent(f"p-{n}", lead, n)) + "\n" for n in range(3)))
    ingest_file(db, world.tenant.id, path)
    assert all(rows_of(db, world.tenant.id).values())
    response = world.tenant.client.delete(f"{world.tenant.prefix}/campaigns/{world.campaign}",
                                          headers=world.tenant.headers)
    job_id = response.get_json()["data"]["purge_job_id"]
    assert runner.run(db, settings, job_id, worker="test").status == "completed"
    assert rows_of(db, world.tenant.id) == dict.fromkeys(TABLES, 0)
