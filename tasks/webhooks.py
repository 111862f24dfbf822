"""The webhook delivery tick, on the maintenance queue (docs/webhooks.md)."""

from __future__ import annotations

from celery import shared_task

from campaign_analytics.webhooks import delivery

from .runtime import database, settings


@shared_task(name="webhooks.deliver_due",
             soft_time_limit=delivery.TICK_TIME_LIMIT_SECONDS,
             time_limit=delivery.TICK_TIME_LIMIT_SECONDS + 30)
def deliver_due() -> int:
    """Attempt every delivery that is due (bounded by the tick's budget); retries are
    scheduled on the rows, never as delayed messages."""
    return delivery.deliver_due(database(), settings())
