"""Whole answers of campaign analytics and the overview are kept per process under a key
naming everything they depend on; the live lead numbers in them are versioned by
``lead_changes`` rows that triggers write for every change of leads and replies. So a kept
answer is never stale: after any writer — the API, ingestion, a reply correction, plain SQL
— the next answer shows the change, checked against SQL straight on the tables."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from psycopg import pq
from sqlalchemy import event, text

from campaign_analytics.analytics.lead_versions import fold
from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.analytics.scheduling import schedule_refreshes
from campaign_analytics.db import Database
from tests.conftest import Tenant
from tests.world import World, count

POSITIVE = ("interested", "replied")


def expected_leads(db: Database, campaign: str) -> dict[str, Any]:
    """The lead numbers of SPEC §7 from the tables, not from the code under test."""
    with db.engine.connect() as conn:
        statuses = dict(conn.execute(text(
            "SELECT status, count(*) FROM leads WHERE campaign_id = :c GROUP BY status"),
            {"c": campaign}).all())
        qualifications = dict(conn.execute(text(
            "SELECT qualification, count(*) FROM leads WHERE campaign_id = :c "
            "GROUP BY qualification"), {"c": campaign}).all())
        replied = conn.execute(text(
            "SELECT count(DISTINCT lead_id) FROM replies WHERE campaign_id = :c "
            "AND classification IN ('interested', 'replied')"), {"c": campaign}).scalar_one()
    return {"total": sum(statuses.values()), "statuses": statuses,
            "qualifications": qualifications, "replied": replied}


def shown_leads(world: World) -> dict[str, Any]:
    data = world.tenant.get(f"/campaigns/{world.campaign}/analytics?timeRange=7d").get_json()
    leads = data["data"]["leads"]
    return {"total": leads["total"],
            "statuses": {k: v for k, v in leads["by_status"].items() if v},
            "qualifications": {k: v for k, v in leads["by_qualification"].items() if v},
            "replied": leads["funnel"]["replied"]}


def assert_current(world: World, db: Database) -> dict[str, Any]:
    expected = expected_leads(db, world.campaign)
    for _ in range(2):  # the second answer is the kept one
        assert shown_leads(world) == expected
    return expected


def reply_of(world: World) -> str:
    return str(world.tenant.get(f"/campaigns/{world.campaign}/replies").get_json()
               ["data"][0]["id"])


def patch(tenant: Tenant, path: str, body: dict[str, Any]) -> None:
    response = tenant.client.patch(tenant.prefix + path, headers=tenant.headers, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_every_writer_of_leads_and_replies_shows_at_once(world: World, db: Database) -> None:
    refresh(db, world.tenant.id, RefreshMode.FULL)  # from here on answers are kept
    first, second = world.lead(), world.lead()
    assert assert_current(world, db)["total"] == 2

    world.post([world.sent("kc-1", first),
                world.event("replied", "kc-1", 30, body="Sounds great, send me the draft")])
    assert assert_current(world, db)["replied"] == 1  # ingestion: a reply and a lead move

    patch(world.tenant, f"/replies/{reply_of(world)}", {"classification": "not_interested"})
    assert assert_current(world, db)["replied"] == 0  # a correction: the lead is lost

    lead_path = f"/campaigns/{world.campaign}/leads/{second}"
    patch(world.tenant, lead_path, {"status": "contacted"})
    patch(world.tenant, lead_path, {"qualification": "qualified"})
    assert assert_current(world, db)["qualifications"]["qualified"] == 1

    bulk = world.tenant.post(f"/campaigns/{world.campaign}/leads/bulk", json={
        "leads": [{"contact_email": f"bulk{n}@example.com"} for n in range(3)]})
    added = [lead["id"] for lead in bulk.get_json()["data"]["created"]]
    world.tenant.post(f"/campaigns/{world.campaign}/leads/bulk-status",
                      json={"lead_ids": added, "status": "contacted"})
    assert assert_current(world, db)["statuses"]["contacted"] == 4

    with db.engine.begin() as conn:  # any writer at all, not only this code
        conn.execute(text("UPDATE leads SET status = 'placed' WHERE id = :l"), {"l": second})
    assert assert_current(world, db)["statuses"]["placed"] == 1
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM leads WHERE id = :l"), {"l": added[0]})
    assert assert_current(world, db)["total"] == 4


def test_the_campaign_and_the_refresh_show_at_once(world: World, db: Database) -> None:
    refresh(db, world.tenant.id, RefreshMode.FULL)
    lead = world.lead()
    path = (f"/campaigns/{world.campaign}/analytics?timeRange=custom&startDate=2026-11-01"
            "&endDate=2026-11-03")  # the world's events happen on 2026-11-02
    before = world.tenant.get(path).get_json()["data"]
    patch(world.tenant, f"/campaigns/{world.campaign}", {"name": "Renamed", "status": "paused"})
    world.post([world.sent("kc-2", lead, 1), world.event("delivered", "kc-2", 2)])
    renamed = world.tenant.get(path).get_json()["data"]
    assert (renamed["campaign"]["name"], renamed["campaign"]["status"]) == ("Renamed", "paused")
    assert renamed["summary"] == before["summary"]  # the rollups have not moved yet
    refresh(db, world.tenant.id, RefreshMode.INCREMENTAL)
    after = world.tenant.get(path).get_json()["data"]
    assert after["as_of"] > before["as_of"]
    assert (after["summary"]["emails_sent"], after["progress"]["sent"]) == (1, 1)


def test_the_overview_follows_campaigns_at_once(tenant: Tenant, db: Database) -> None:
    refresh(db, tenant.id, RefreshMode.FULL)

    def summary() -> dict[str, Any]:
        answers = [tenant.get("/analytics/overview").get_json()["data"]["summary"]
                   for _ in range(2)]
        assert answers[0] == answers[1]
        return answers[0]

    def live(active_only: bool) -> int:
        status = " AND status = 'active'" if active_only else ""
        return count(db, "SELECT count(*) FROM campaigns WHERE workspace_id = :w AND "
                         f"deleted_at IS NULL{status}", w=tenant.id)

    made = [tenant.post("/campaigns", json={"name": f"C{n}"}).get_json()["data"]["id"]
            for n in range(3)]
    assert (summary()["total_campaigns"], summary()["active_campaigns"]) == (3, 3)
    patch(tenant, f"/campaigns/{made[0]}", {"status": "paused"})
    tenant.client.delete(f"{tenant.prefix}/campaigns/{made[1]}", headers=tenant.headers)
    shown = summary()
    assert (shown["total_campaigns"], shown["active_campaigns"]) == (live(False), live(True))
    assert (shown["total_campaigns"], shown["active_campaigns"]) == (2, 1)


def version(db: Database, campaign: str) -> int:
    return count(db, "SELECT coalesce(sum(weight), 0) FROM lead_changes WHERE campaign_id = :c",
                 c=campaign)


def test_a_fold_keeps_every_snapshots_version_and_misses_no_change_in_flight(
    world: World, db: Database,
) -> None:
    refresh(db, world.tenant.id, RefreshMode.FULL)
    lead = world.lead()
    assert_current(world, db)
    with db.engine.connect() as writer:  # a change in flight while the marks are folded
        writer.execute(text("UPDATE leads SET qualification = 'qualified', "
                            "qualified_at = now() WHERE id = :l"), {"l": lead})
        world.lead(), world.lead()
        committed = version(db, world.campaign)
        rows = "SELECT count(*) FROM lead_changes WHERE campaign_id = :c"
        assert count(db, rows, c=world.campaign) == 3
        with db.engine.begin() as conn:
            fold(conn)
        assert count(db, rows, c=world.campaign) == 1
        assert version(db, world.campaign) == committed  # same sum: kept answers stay valid
        assert_current(world, db)
        writer.commit()
    assert version(db, world.campaign) > committed
    assert assert_current(world, db)["qualifications"] == {"qualified": 1, "pending": 2}


def test_writers_of_one_campaign_never_wait_on_each_other(world: World, db: Database) -> None:
    """A version counter row would make them queue (and deadlock); marks keyed by the
    writing transaction do not."""
    leads = [world.lead(), world.lead()]
    errors: list[BaseException] = []
    holding = threading.Barrier(2, timeout=10)

    def change(lead: str) -> None:
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                conn.execute(text("UPDATE leads SET status = 'contacted' WHERE id = :l"),
                             {"l": lead})
                holding.wait()  # both transactions hold their marks uncommitted here
                conn.commit()
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=change, args=(lead,)) for lead in leads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    assert expected_leads(db, world.campaign)["statuses"] == {"contacted": 2}


def test_the_incremental_tick_folds_without_new_events(app: Flask, world: World,
                                                       db: Database) -> None:
    """Leads change without events (a CRM sync patching them one by one): beat's tick folds
    their marks although no refresh is due."""
    for _ in range(4):
        world.lead()
    refresh(db, world.tenant.id, RefreshMode.FULL)
    before = version(db, world.campaign)
    rows = "SELECT count(*) FROM lead_changes WHERE campaign_id = :c"
    assert count(db, rows, c=world.campaign) == 4
    with db.sessions() as session:
        report = schedule_refreshes(session, app.extensions["job_publisher"],
                                    RefreshMode.INCREMENTAL)
    assert world.tenant.id in report.skipped
    assert (count(db, rows, c=world.campaign), version(db, world.campaign)) == (1, before)


def test_a_transaction_that_folds_and_then_writes_still_leaves_its_mark(
    world: World, db: Database,
) -> None:
    lead = world.lead()
    world.lead()
    before = version(db, world.campaign)
    with db.engine.begin() as conn:
        fold(conn)
        conn.execute(text("UPDATE leads SET status = 'contacted' WHERE id = :l"), {"l": lead})
    assert version(db, world.campaign) == before + 1


def test_a_truncate_marks_every_campaign(world: World, db: Database) -> None:
    world.lead()
    before = version(db, world.campaign)
    with db.engine.connect() as conn:  # rolled back: other tests' rows stay
        conn.execute(text("TRUNCATE leads CASCADE"))
        marked = conn.execute(text(
            "SELECT coalesce(sum(weight), 0) FROM lead_changes WHERE campaign_id = :c"),
            {"c": world.campaign}).scalar_one()
        conn.rollback()
    assert marked == before + 1


def test_windows_an_hour_apart_in_the_repeated_hour_are_two_answers(
    world: World, db: Database,
) -> None:
    """01:30 EDT and 01:30 EST on 2026-11-01 are the same wall clock an hour apart."""
    refresh(db, world.tenant.id, RefreshMode.FULL)
    path = (f"/campaigns/{world.campaign}/analytics?timeRange=custom&timezone=America/New_York"
            "&endDate=2026-11-03&startDate=")
    starts = [world.tenant.get(path + instant).get_json()["data"]["time_range"]["start"]
              for instant in ("2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z")]
    assert starts == ["2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00"]


def test_an_empty_timezone_means_the_workspaces(world: World, db: Database) -> None:
    refresh(db, world.tenant.id, RefreshMode.FULL)
    for path in (f"/campaigns/{world.campaign}/analytics", "/analytics/overview",
                 "/analytics/deliverability", "/analytics/engagement-heatmap"):
        response = world.tenant.get(f"{path}?timezone=")
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        assert response.get_json()["data"]["time_range"]["timezone"] == "UTC"


def test_a_kept_answer_costs_one_statement_that_never_reads_leads(
        app: Flask, world: World, db: Database, tmp_path: Path) -> None:
    """What the server is sent, from libpq's own trace of every pooled connection: one
    statement a kept answer (the caller's key with the answer's facts), one round trip."""
    refresh(db, world.tenant.id, RefreshMode.FULL)
    world.lead()
    engine = app.extensions["database"].engine
    trace = (tmp_path / "libpq.trace").open("w")

    def traced(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.pgconn.trace(trace.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def untraced(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.pgconn.untrace()

    paths = (f"/campaigns/{world.campaign}/analytics", "/analytics/overview")
    for path in paths:
        world.tenant.get(path)
    event.listen(engine, "checkout", traced)
    event.listen(engine, "checkin", untraced)
    try:
        for path in paths:
            assert world.tenant.get(path).status_code == 200
    finally:
        event.remove(engine, "checkout", traced)
        event.remove(engine, "checkin", untraced)
        trace.close()
    sent = [line.split("\t") for line in (tmp_path / "libpq.trace").read_text().splitlines()
            if line.startswith("F\t")]
    statements = [fields for fields in sent if fields[2] in ("Execute", "Query")]
    round_trips = [fields for fields in sent if fields[2] in ("Sync", "Query")]
    assert len(statements) == len(round_trips) == len(paths), sent
    texts = [fields[3] for fields in sent if fields[2] in ("Parse", "Query")]
    texts += [app.view_functions[endpoint].key_lookup[1].sql
              for endpoint in ("analytics.campaign", "workspace_analytics.workspace_overview")]
    assert texts and not any(re.search(r"\bleads\b", text) for text in texts), texts


def test_a_kept_answer_still_checks_the_key_and_the_path(world: World, db: Database,
                                                         make_tenant: Any) -> None:
    """The facts come with the key, but only a key that passes every check gets them."""
    refresh(db, world.tenant.id, RefreshMode.FULL)
    other = make_tenant("Other")
    kept = (f"/campaigns/{world.campaign}/analytics", "/analytics/overview")
    for path in kept:
        for _ in range(2):
            assert world.tenant.get(path).status_code == 200
        theirs = other.client.get(world.tenant.prefix + path, headers=other.headers)
        assert theirs.status_code == 404, theirs.get_json()
        assert theirs.get_json()["error"]["code"] == "WORKSPACE_NOT_FOUND"
    mine = other.get(f"/campaigns/{world.campaign}/analytics")  # their id in my workspace
    assert mine.status_code == 404 and mine.get_json()["error"]["code"] == "CAMPAIGN_NOT_FOUND"
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE api_keys SET revoked_at = now() WHERE workspace_id = :w"),
                     {"w": world.tenant.id})
    for path in kept:
        response = world.tenant.get(path)
        assert response.status_code == 401, response.get_json()
        assert response.get_json()["error"]["code"] == "UNAUTHORIZED"


def test_a_nul_in_the_path_is_answered_as_before(world: World, make_tenant: Any) -> None:
    """The path's ids go into the key's statement on kept views; one PostgreSQL text cannot
    hold must not turn the key's 401 or the path's 404 into a database error."""
    other = make_tenant("Other")
    path = world.tenant.prefix + "/campaigns/cmp_a%00b/analytics"
    answers = {
        "unknown key": (world.tenant.client.get(path, headers={"Authorization": "Bearer ca_x"}),
                        401, "UNAUTHORIZED"),
        "another workspace's key": (other.client.get(path, headers=other.headers),
                                    404, "WORKSPACE_NOT_FOUND"),
        "the workspace's key": (world.tenant.client.get(path, headers=world.tenant.headers),
                                400, "VALIDATION_ERROR"),
    }
    for who, (response, status, code) in answers.items():
        assert response.status_code == status, (who, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == code, who
