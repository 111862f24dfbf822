"""The advisory locks that order work on one workspace, each named once.

* ``ingest``: every writer of a workspace's events holds it until it commits; while a
  reader holds it no batch is half written (refresh and exports read their watermark so).
* ``refresh``: refreshes of a workspace take turns (held for a whole refresh, across its
  transactions, so it is a session lock); a campaign purge takes it for each batch of
  the campaign's events and to delete the campaign, so no refresh stores verdicts of
  deleted events or writes rollups for a campaign that is gone.
* ``refresh-request``: requests and beat ticks see each other's queued refresh jobs.
* ``exports``: export dispatch decides one workspace's free slots at a time.
* ``webhooks``: one webhook delivery tick at a time (a session lock for the whole tick),
  so however slow the receivers, webhooks hold at most one worker slot.
* ``beat``: the one beat process that sends the schedule holds it for its whole session
  (``BEAT_LOCK_SQL``; the others stand by).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

Executor = Connection | Session

# Plain SQL for the beat, which holds the lock on a connection of its own (no pool).
BEAT_LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext('beat'))"


def _xact(executor: Executor, name: str, workspace_id: str) -> None:
    executor.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name || ':' || :ws))"),
                     {"name": name, "ws": workspace_id})


def lock_ingest(executor: Executor, workspace_id: str) -> None:
    _xact(executor, "ingest", workspace_id)


def lock_refresh(executor: Executor, workspace_id: str) -> None:
    """Until the transaction ends: waits for a running refresh of the workspace."""
    _xact(executor, "refresh", workspace_id)


def lock_refresh_request(executor: Executor, workspace_id: str) -> None:
    _xact(executor, "refresh-request", workspace_id)


def lock_exports(executor: Executor, workspace_id: str) -> None:
    _xact(executor, "exports", workspace_id)


@contextmanager
def sole_webhook_tick(conn: Connection) -> Iterator[bool]:
    """True while ``conn`` holds the webhook tick's lock, False when another tick has it."""
    held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(hashtext('webhooks'))")))
    conn.commit()
    try:
        yield held
    finally:
        if held:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext('webhooks'))"))
            conn.commit()


@contextmanager
def refreshing(conn: Connection, workspace_id: str) -> Iterator[None]:
    """The refresh lock across several transactions of ``conn`` (released if the process
    dies, since the session ends with it)."""
    params = {"name": "refresh", "ws": workspace_id}
    conn.execute(text("SELECT pg_advisory_lock(hashtext(:name || ':' || :ws))"), params)
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()  # a statement that failed outside a transaction block aborted one
        conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name || ':' || :ws))"), params)
        conn.commit()
