"""Job outcomes become deliveries in the outcome's own transaction: exactly one per
subscribed, active webhook and event, however often the terminal transition is retried;
canceled jobs send nothing. And a delivery re-checks its URL at every attempt."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from campaign_analytics.db import Database
from campaign_analytics.jobs import store, sweeper
from campaign_analytics.locks import sole_webhook_tick
from campaign_analytics.models import WebhookDelivery
from campaign_analytics.settings import Settings
from campaign_analytics.webhooks import delivery
from campaign_analytics.webhooks.events import enqueue_outcomes
from tests.conftest import Tenant
from tests.jobs.helpers import RecordingPublisher, set_job, submit
from tests.webhooks.conftest import CLOSED_URL, subscribe

EXPORT_PARAMS = {"export_type": "replies", "format": "csv", "compression": "none"}


def _claim(db: Database, job_id: str) -> int:
    with db.sessions() as session:
        claimed = store.claim(session, job_id, "test", 30, 5)
    assert claimed is not None
    return claimed.attempt


def _deliveries(db: Database, job_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """webhook id → (event, payload) of the job's deliveries."""
    with db.sessions() as session:
        rows = session.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id))
        return {row.webhook_id: (row.event, row.payload) for row in rows}


def test_each_outcome_is_queued_once_per_subscribed_webhook(
    db: Database, owner: Tenant, settings: Settings,
) -> None:
    everything = subscribe(owner)["id"]
    exports = subscribe(owner, events=["export.completed"])["id"]
    refreshes = subscribe(owner, events=["refresh.completed", "refresh.failed"])["id"]
    disabled = subscribe(owner)["id"]
    changed = owner.client.patch(f"{owner.prefix}/webhooks/{disabled}", headers=owner.headers,
                                 json={"status": "disabled"})
    assert changed.status_code == 200

    exported = submit(db, owner.id, kind="export", **EXPORT_PARAMS)
    attempt = _claim(db, exported)
    with db.sessions() as session:
        store.record_file(session, exported, attempt, key="k", size=42, sha256="ab" * 32,
                          row_count=7)
        assert store.complete(session, exported, attempt, {"row_count": 7})
        # The transition retried (a redelivered message, a late attempt): nothing new.
        assert not store.complete(session, exported, attempt, {"row_count": 7})
        assert enqueue_outcomes(session, [exported]) == 0
        session.commit()
    queued = _deliveries(db, exported)
    assert set(queued) == {everything, exports}
    event, payload = queued[exports]
    assert event == payload["type"] == "export.completed"
    data = payload["data"]
    assert (data["id"], data["kind"], data["status"], data["workspace_id"]) == (
        exported, "export", "completed", owner.id)
    assert (data["export_type"], data["format"], data["row_count"], data["file_size_bytes"],
            data["sha256"], data["error"]) == ("replies", "csv", 7, 42, "ab" * 32, None)
    assert data["status_path"] == f"{owner.prefix}/analytics/exports/{exported}"
    assert "download_url" not in data and payload["timestamp"].endswith("Z")

    failed = submit(db, owner.id, kind="export", **EXPORT_PARAMS)
    attempt = _claim(db, failed)
    with db.sessions() as session:
        assert store.fail(session, failed, attempt, "EXPORT_FAILED", "too many rows")
        assert not store.fail(session, failed, attempt, "EXPORT_FAILED", "too many rows")
    queued = _deliveries(db, failed)
    assert set(queued) == {everything}
    assert queued[everything][1]["data"]["error"] == {"code": "EXPORT_FAILED",
                                                      "message": "too many rows"}

    refreshed = submit(db, owner.id, kind="refresh", mode="full", campaign_ids=[])
    attempt = _claim(db, refreshed)
    with db.sessions() as session:
        assert store.complete(session, refreshed, attempt, {"mode": "full", "new_events": 3,
                                                            "as_of": "2026-11-29T00:00:00+00:00"})
    queued = _deliveries(db, refreshed)
    assert set(queued) == {everything, refreshes}
    data = queued[refreshes][1]["data"]
    assert (queued[refreshes][0], data["mode"], data["new_events"], data["status_path"]) == (
        "refresh.completed", "full", 3, f"{owner.prefix}/jobs/{refreshed}")

    # The sweeper fails a refresh whose workers kept dying: refresh.failed, once.
    abandoned = submit(db, owner.id, kind="refresh", mode="incremental", campaign_ids=[])
    set_job(db, abandoned, status="processing", attempts=settings.job_max_attempts,
            lease_expires_at=datetime.now(UTC) - timedelta(seconds=1),
            claimed_at=datetime.now(UTC) - timedelta(seconds=5))
    for _ in range(2):
        with db.sessions() as session:
            sweeper.sweep(session, RecordingPublisher(), settings)
    queued = _deliveries(db, abandoned)
    assert set(queued) == {everything, refreshes}
    assert queued[refreshes][0] == "refresh.failed"
    assert queued[refreshes][1]["data"]["error"]["code"] == "JOB_ABANDONED"

    canceled = submit(db, owner.id, kind="export", **EXPORT_PARAMS)
    set_job(db, canceled, status="canceled")
    with db.sessions() as session:
        assert enqueue_outcomes(session, [canceled]) == 0
    diagnostic = submit(db, owner.id)
    attempt = _claim(db, diagnostic)
    with db.sessions() as session:
        assert store.complete(session, diagnostic, attempt, None)
    assert _deliveries(db, canceled) == {} and _deliveries(db, diagnostic) == {}

    listed = owner.get(f"/webhooks/{everything}/deliveries").get_json()["data"]
    assert [d["job_id"] for d in listed] == [abandoned, refreshed, failed, exported]
    assert {d["status"] for d in listed} == {"pending"}
    assert owner.get(f"/webhooks/{disabled}/deliveries").get_json()["data"] == []


def test_a_url_that_turned_private_is_refused_at_delivery(
    db: Database, owner: Tenant, settings: Settings,
) -> None:
    """Saved while private addresses were allowed (or before DNS changed): the attempt is
    not made, and the refusal is recorded as the attempt's error."""
    webhook = subscribe(owner, events=["refresh.completed"])["id"]
    job_id = submit(db, owner.id, kind="refresh", mode="full", campaign_ids=[])
    attempt = _claim(db, job_id)
    with db.sessions() as session:
        assert store.complete(session, job_id, attempt, {"mode": "full"})
    strict = settings.model_copy(update={"webhook_allow_private_urls": False})
    assert delivery.deliver_due(db, strict, budget_seconds=10) >= 1
    [shown] = owner.get(f"/webhooks/{webhook}/deliveries").get_json()["data"]
    assert shown["status"] == "pending" and shown["attempt_count"] == 1
    [refused] = shown["attempts"]
    assert refused["response_status"] is None
    assert "127.0.0.1, a loopback address" in refused["error"]
    assert shown["next_attempt_at"] > refused["attempted_at"]


def _completed_refresh_delivery(db: Database, owner: Tenant, url: str) -> str:
    webhook = subscribe(owner, url=url, events=["refresh.completed"])["id"]
    job_id = submit(db, owner.id, kind="refresh", mode="full", campaign_ids=[])
    with db.sessions() as session:
        assert store.complete(session, job_id, _claim(db, job_id), {"mode": "full"})
    return webhook


def test_a_broken_answer_is_a_failed_attempt_not_a_stuck_delivery(
    db: Database, owner: Tenant, private_settings: Settings,
) -> None:
    """A receiver that promises 10 bytes, sends 2 and hangs up: the attempt is recorded as
    failed with its backoff (once it raised past the log and was re-sent every lease)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\nok")
        threading.Thread(target=answer, daemon=True).start()
        port = server.getsockname()[1]
        webhook = _completed_refresh_delivery(db, owner, f"http://127.0.0.1:{port}/hook")
        assert delivery.deliver_due(db, private_settings, budget_seconds=5) == 1
    [shown] = owner.get(f"/webhooks/{webhook}/deliveries").get_json()["data"]
    [failed] = shown["attempts"]
    assert shown["status"] == "pending" and failed["response_status"] is None
    assert "IncompleteRead" in failed["error"] or "ProtocolError" in failed["error"]
    assert f":{port}/hook" not in failed["error"]  # no URL (and its tokens) in the log
    assert shown["next_attempt_at"] > failed["attempted_at"]


def test_a_delivery_whose_attempts_are_used_up_is_failed_not_sent(
    db: Database, owner: Tenant, private_settings: Settings,
) -> None:
    """Its last attempt was claimed but never recorded (the worker died): fail it."""
    webhook = _completed_refresh_delivery(db, owner, CLOSED_URL)
    with db.sessions() as session:
        session.execute(update(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook)
                        .values(attempts=private_settings.webhook_max_attempts))
        session.commit()
    assert delivery.deliver_due(db, private_settings, budget_seconds=5) == 0
    [shown] = owner.get(f"/webhooks/{webhook}/deliveries").get_json()["data"]
    assert (shown["status"], shown["attempts"]) == ("failed", [])


def test_only_one_tick_delivers_at_a_time(
    db: Database, owner: Tenant, private_settings: Settings,
) -> None:
    """A tick that finds another delivering sends nothing: slow receivers hold one slot."""
    _completed_refresh_delivery(db, owner, CLOSED_URL)
    with db.engine.connect() as conn, sole_webhook_tick(conn) as held:
        assert held
        assert delivery.deliver_due(db, private_settings, budget_seconds=5) == 0
    assert delivery.deliver_due(db, private_settings, budget_seconds=5) == 1


def test_the_default_retries_span_about_a_day(settings: Settings) -> None:
    steps = [min(settings.webhook_backoff_max_seconds,
                 settings.webhook_backoff_base_seconds * 2 ** (n - 1))
             for n in range(1, settings.webhook_max_attempts)]
    waits = [delivery.backoff_seconds(n, settings) for n in range(1, settings.webhook_max_attempts)]
    assert all(0.9 * step <= wait <= 1.1 * step for step, wait in zip(steps, waits, strict=True))
    assert 20 * 3600 <= sum(steps) <= 28 * 3600
