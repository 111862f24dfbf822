"""End to end on a real worker: a refresh completes there, the delivery tick (sent to the
worker as beat sends it) POSTs the signed event to a receiver on loopback that fails twice,
the third attempt gets through, the deliveries log shows all three, and the documented
check accepts the request, rejects it replayed later, and rejects it tampered with."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from campaign_analytics.db import Database
from campaign_analytics.models import WebhookDelivery
from tests.conftest import Tenant
from tests.jobs.helpers import wait_until
from tests.webhooks.conftest import Receiver, subscribe
from worker.schedule import DELIVER_WEBHOOKS_TASK

pytestmark = pytest.mark.slow


def _settle_other_deliveries(db: Database) -> None:
    """Earlier tests' deliveries are not this test's business: the worker sends ours alone."""
    with db.sessions() as session:
        session.execute(update(WebhookDelivery).where(WebhookDelivery.status == "pending")
                        .values(status="failed"))
        session.commit()


def test_a_receiver_failing_twice_gets_the_third_attempt_and_can_verify_it(
    db: Database, owner: Tenant, receiver: Receiver, process_env: dict[str, str],
    celery_processes: Any, snippet: ModuleType, private_app: Flask,
) -> None:
    created = subscribe(owner, receiver.url, ["refresh.completed"])
    secret, webhook_id = created["secret"], created["id"]
    _settle_other_deliveries(db)
    env = {**process_env, "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
           "WEBHOOK_BACKOFF_BASE_SECONDS": "0.5"}
    worker = celery_processes("worker", env)
    celery = private_app.extensions["celery"]

    requested = owner.post("/analytics/refresh", json={"mode": "full"})
    assert requested.status_code == 202, requested.get_data(as_text=True)
    job_id = requested.get_json()["data"]["job_id"]

    def delivered() -> list[dict[str, Any]]:
        return list(owner.get(f"/webhooks/{webhook_id}/deliveries").get_json()["data"])

    def tick_then_look() -> bool:
        celery.send_task(DELIVER_WEBHOOKS_TASK, queue="maintenance", expires=2)
        return [d["status"] for d in delivered()] == ["succeeded"]

    wait_until(tick_then_look, 60, f"{delivered()}\n{worker.log()[-3000:]}", interval=0.5)
    [shown] = delivered()
    assert (shown["event"], shown["job_id"], shown["attempt_count"]) == (
        "refresh.completed", job_id, 3)
    assert [a["response_status"] for a in shown["attempts"]] == [500, 500, 200]
    assert [a["number"] for a in shown["attempts"]] == [1, 2, 3]
    assert "try again later" in shown["attempts"][0]["error"]
    assert shown["attempts"][2]["error"] is None and shown["next_attempt_at"] is None
    assert len(receiver.requests) == 3

    # Every attempt: the same delivery id and body, signed for its own moment.
    assert {headers["webhook-id"] for headers, _ in receiver.requests} == {shown["id"]}
    assert len({body for _, body in receiver.requests}) == 1
    headers, body = receiver.requests[-1]
    assert headers["Content-Type"] == "application/json"
    event = snippet.verify(secret, headers, body)
    assert event == shown["payload"] == json.loads(body)
    assert (event["type"], event["data"]["id"], event["data"]["status"]) == (
        "refresh.completed", job_id, "completed")

    signed_at = int(headers["webhook-timestamp"])
    with pytest.raises(snippet.WebhookVerificationError, match="too old"):
        snippet.verify(secret, headers, body, now=signed_at + 301)  # replayed 5 min later
    assert snippet.verify(secret, headers, body, now=signed_at + 299) == event
    tampered = body.replace(b'"completed"', b'"failed"', 1)
    assert tampered != body
    with pytest.raises(snippet.WebhookVerificationError, match="signature"):
        snippet.verify(secret, headers, tampered)
    with pytest.raises(snippet.WebhookVerificationError, match="signature"):
        snippet.verify(created["secret"][:-4] + "AAA=", headers, body)
    forged = {**headers, "webhook-timestamp": str(signed_at + 60)}  # a fresher stamp, same sig
    with pytest.raises(snippet.WebhookVerificationError, match="signature"):
        snippet.verify(secret, forged, body, now=signed_at + 60)

    assert secret not in worker.log() and secret[6:] not in worker.log()
