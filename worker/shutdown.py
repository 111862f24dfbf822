"""Graceful shutdown hands running jobs back instead of making them wait for a lease.

On SIGTERM (warm shutdown) Celery's main process stops fetching and waits for its pool.
Before it does, we flag the jobs this node is running (``jobs.release_requested_at``); each
attempt notices at its next progress report or heartbeat, stops, puts its job back to
``queued`` and publishes it again, so another worker finishes it at once: neither the lease
nor the broker's visibility timeout is waited for. See docs/reliability.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery.signals import worker_shutting_down

from campaign_analytics.db import Database
from campaign_analytics.jobs import store

log = logging.getLogger(__name__)


def hand_back_on_shutdown(db: Database) -> None:
    worker_shutting_down.connect(hand_back_receiver(db), weak=False)


def hand_back_receiver(db: Database) -> Callable[..., None]:
    """The ``worker_shutting_down`` receiver. Celery calls it from inside its signal handler
    in the main process, so a second signal (a supervisor's SIGTERM and then the parent-death
    SIGTERM, Ctrl-C pressed twice) can call it again while the first call is still inside
    the database driver. Running there would wait for locks the interrupted call holds
    (SQLAlchemy's first-connect mutex, the pool's, psycopg's connection lock) and hang the
    worker for good. The first call flags every job of the node, so later ones return."""
    started = False

    def request(sender: Any = None, how: str = "", **_: Any) -> None:
        nonlocal started
        if started:
            return
        started = True
        try:
            with db.sessions() as session:
                jobs = store.request_hand_back(session, str(sender))
        except Exception as exc:  # the database is away: the leases bring the jobs back
            log.warning("could not hand back %s's jobs on shutdown: %s", sender, exc)
            return
        if jobs:
            log.info("%s shutdown: handing back %d running job(s): %s",
                     how.lower() or "worker", len(jobs), ", ".join(jobs))

    return request
