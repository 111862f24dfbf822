"""Sending deliveries: claim one that is due, POST it, record the attempt, schedule the next.

The delivery tick (``tasks/webhooks.py``, every ``WEBHOOK_TICK_SECONDS`` on the maintenance
queue) calls ``deliver_due``. Nothing here sleeps: a failed attempt only moves the row's
``next_attempt_at`` (exponential backoff with jitter), and a later tick picks it up, so a
retry holds no worker and no broker message (no long countdowns past the visibility
timeout). A claim takes the row with ``FOR UPDATE SKIP LOCKED`` and leases it for
``CLAIM_LEASE``: ticks running side by side never send the same delivery at once, and a
delivery whose worker died is retaken when the lease ends. Delivery is at least once:
receivers deduplicate on ``webhook-id``.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from cryptography.fernet import InvalidToken
from requests.adapters import HTTPAdapter
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..errors import WebhookDeliveryNotFound
from ..locks import sole_webhook_tick
from ..models import Webhook, WebhookDelivery, WebhookDeliveryAttempt
from ..models.webhook import DeliveryStatus, WebhookStatus
from ..pagination import DEFAULT_LIMIT, Page, paginate
from ..settings import Settings
from . import addresses, keys, signing
from .subscriptions import get_webhook

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
# Longer than a tick may live (its hard time limit, tasks/webhooks.py), so a live attempt
# keeps its claim; a claim held this long belongs to a dead worker and is taken again.
CLAIM_LEASE = timedelta(seconds=120)
# A tick stops claiming after this long; the next tick carries on.
TICK_BUDGET_SECONDS = 20.0
# Of the receiver's answer only the status counts; this much of the body is kept as the
# error of a failed attempt, for the deliveries log.
MAX_RESPONSE_BYTES = 1024
MAX_ERROR_CHARS = 500
USER_AGENT = "campaign-analytics-webhooks/1"
# A tick that outlives this is stopped by its task's soft time limit (tasks/webhooks.py): a
# receiver trickling its answer byte by byte defeats the per-read timeout, not this.
TICK_TIME_LIMIT_SECONDS = 50
_URL_IN_ERROR = re.compile(r"https?://\S+|(?<=url: )\S+")


@dataclass(frozen=True)
class Claimed:
    id: str
    webhook_id: str
    url: str
    secret_ciphertext: bytes
    payload: dict[str, Any]
    number: int  # this attempt's number, fencing what it may record


@dataclass(frozen=True)
class Attempt:
    response_status: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300


def backoff_seconds(number: int, settings: Settings) -> float:
    """The wait after failed attempt ``number``: BASE·2^(number-1), capped, ±10 % jitter."""
    step = min(settings.webhook_backoff_max_seconds,
               settings.webhook_backoff_base_seconds * 2 ** (number - 1))
    return step * random.uniform(0.9, 1.1)


def deliver_due(db: Database, settings: Settings,
                budget_seconds: float = TICK_BUDGET_SECONDS) -> int:
    """Attempt due deliveries one by one until none is due or the budget is spent; returns
    how many attempts were made. Only one tick delivers at a time (``sole_webhook_tick``):
    slow receivers then hold one worker slot, never every one."""
    with db.engine.connect() as conn, sole_webhook_tick(conn) as held:
        return _deliver(db, settings, budget_seconds) if held else 0


def _deliver(db: Database, settings: Settings, budget_seconds: float) -> int:
    deadline = time.monotonic() + budget_seconds
    made = 0
    while time.monotonic() < deadline:
        with db.sessions() as session:
            claimed = claim_next(session, settings)
        if claimed is None:
            break
        attempt = send(claimed, settings)
        try:
            with db.sessions() as session:
                record(session, settings, claimed, attempt)
        except IntegrityError:  # the webhook was deleted during the attempt
            log.info("webhook %s was deleted while delivery %s was being sent",
                     claimed.webhook_id, claimed.id)
        made += 1
    return made


def claim_next(session: Session, settings: Settings) -> Claimed | None:
    """The most overdue pending delivery of an active webhook, leased to the caller. One
    whose attempts are used up (its last attempt never got recorded: the worker died) is
    failed instead of being sent again."""
    session.execute(update(WebhookDelivery).where(
        WebhookDelivery.status == DeliveryStatus.PENDING,
        WebhookDelivery.next_attempt_at <= func.now(),
        WebhookDelivery.attempts >= settings.webhook_max_attempts,
    ).values(status=DeliveryStatus.FAILED, finished_at=func.now()))
    due = (
        select(WebhookDelivery.id)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING,
               WebhookDelivery.next_attempt_at <= func.now(),
               Webhook.status == WebhookStatus.ACTIVE)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(1)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
        .scalar_subquery()
    )
    row = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == due)
        .values(attempts=WebhookDelivery.attempts + 1,
                next_attempt_at=func.now() + CLAIM_LEASE)
        .returning(WebhookDelivery.id, WebhookDelivery.webhook_id, WebhookDelivery.payload,
                   WebhookDelivery.attempts)
    ).one_or_none()
    if row is None:
        session.commit()
        return None
    url, ciphertext = session.execute(
        select(Webhook.url, Webhook.secret_ciphertext).where(Webhook.id == row.webhook_id)
    ).one()
    session.commit()
    return Claimed(row.id, row.webhook_id, url, ciphertext, row.payload, row.attempts)


class PinnedAdapter(HTTPAdapter):
    """Connects to the address that was checked, while TLS still verifies the URL's host
    name (SNI and certificate), so DNS cannot swap in another address after the check."""

    def __init__(self, host: str) -> None:
        super().__init__(max_retries=0)
        self._host = host

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        if host_params["scheme"] == "https":
            pool_kwargs.update(server_hostname=self._host, assert_hostname=self._host)
        return host_params, pool_kwargs


def pinned_url(target: addresses.Target) -> str:
    address = str(target.address)
    netloc = f"[{address}]" if target.address.version == 6 else address
    return target.url._replace(netloc=f"{netloc}:{target.port}").geturl()


def send(claimed: Claimed, settings: Settings) -> Attempt:
    """One POST of the delivery, signed for this moment; never raises."""
    started = time.monotonic()

    def attempt(status: int | None, error: str | None) -> Attempt:
        return Attempt(status, error and error[:MAX_ERROR_CHARS],
                       int((time.monotonic() - started) * 1000))

    try:
        target = addresses.check(claimed.url, allow_private=settings.webhook_allow_private_urls)
        secret = keys.decrypt(settings, claimed.secret_ciphertext)
    except addresses.UnsafeUrl as exc:
        return attempt(None, f"not sent: the URL {exc}")
    except InvalidToken:
        return attempt(None, "not sent: the secret cannot be decrypted with "
                             "WEBHOOK_SECRET_KEYS; rotate the webhook's secret")
    body = json.dumps(claimed.payload, separators=(",", ":")).encode()
    headers = {**signing.headers(secret, claimed.id, int(time.time()), body),
               "User-Agent": USER_AGENT, "Host": target.url.netloc.rsplit("@", 1)[-1]}
    with requests.Session() as http:
        http.trust_env = False  # no proxy from the environment: the address checked is used
        http.mount(f"{target.url.scheme}://", PinnedAdapter(target.host))
        try:
            with http.post(pinned_url(target), data=body, headers=headers,
                           timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
                           allow_redirects=False, stream=True) as response:
                # Only a failure's answer is kept, for the log; a success is not read.
                excerpt = b"" if 200 <= response.status_code < 300 else \
                    response.raw.read(MAX_RESPONSE_BYTES, decode_content=True)
        except Exception as exc:  # any failure of the exchange is a failed attempt
            return attempt(None, f"{type(exc).__name__}: {_without_url(str(exc))}")
    if 200 <= response.status_code < 300:
        return attempt(response.status_code, None)
    text = excerpt.decode("utf-8", "replace").strip()
    return attempt(response.status_code,
                   f"the receiver answered {response.status_code}" + (f": {text}" if text else ""))


def _without_url(message: str) -> str:
    """requests names the URL in its errors; a receiver's path or query may hold a token."""
    return _URL_IN_ERROR.sub("<url>", message)


def record(session: Session, settings: Settings, claimed: Claimed, attempt: Attempt) -> None:
    """Log the attempt, and settle the delivery or schedule its next attempt, unless a newer
    attempt has taken it over since (then only the log line is kept)."""
    session.execute(insert(WebhookDeliveryAttempt).values(
        delivery_id=claimed.id, number=claimed.number, attempted_at=func.now(),
        response_status=attempt.response_status, error=attempt.error,
        duration_ms=attempt.duration_ms))
    if attempt.succeeded:
        values: dict[str, Any] = {"status": DeliveryStatus.SUCCEEDED, "finished_at": func.now()}
    elif claimed.number >= settings.webhook_max_attempts:
        values = {"status": DeliveryStatus.FAILED, "finished_at": func.now()}
    else:
        values = {"next_attempt_at": func.now() + timedelta(
            seconds=backoff_seconds(claimed.number, settings))}
    session.execute(update(WebhookDelivery).where(
        WebhookDelivery.id == claimed.id, WebhookDelivery.attempts == claimed.number,
        WebhookDelivery.status == DeliveryStatus.PENDING).values(**values))
    session.commit()
    log.info("webhook %s delivery %s attempt %d: %s", claimed.webhook_id, claimed.id,
             claimed.number, "delivered" if attempt.succeeded else attempt.error)


def list_deliveries(
    session: Session, workspace_id: str, webhook_id: str, *, limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[WebhookDelivery]:
    get_webhook(session, workspace_id, webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    return paginate(session, query, WebhookDelivery.created_at, WebhookDelivery.id,
                    limit=limit, cursor=cursor)


def attempts_of(session: Session, delivery_ids: list[str]
                ) -> dict[str, list[WebhookDeliveryAttempt]]:
    """Each delivery's attempts, oldest first."""
    found: dict[str, list[WebhookDeliveryAttempt]] = {d: [] for d in delivery_ids}
    for attempt in session.scalars(
        select(WebhookDeliveryAttempt)
        .where(WebhookDeliveryAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookDeliveryAttempt.number, WebhookDeliveryAttempt.id)
    ):
        found[attempt.delivery_id].append(attempt)
    return found


def redeliver(
    session: Session, workspace_id: str, webhook_id: str, delivery_id: str
) -> WebhookDelivery:
    """Send the delivery again at the next tick, with the same id and payload (receivers
    that already processed it recognise it). Once more if it had used up its attempts."""
    get_webhook(session, workspace_id, webhook_id)
    delivery = session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id))
    if delivery is None:
        raise WebhookDeliveryNotFound(delivery_id)
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = func.now()
    delivery.finished_at = None
    session.commit()
    session.refresh(delivery)
    return delivery
