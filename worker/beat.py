"""One beat sends the schedule; any other stands by. The lock is a PostgreSQL advisory lock
held on the sending beat's own connection, so it lives exactly as long as that beat's
session: a beat that dies (even SIGKILLed) or loses the database frees it at once, and a
Redis outage, which beats must ride out, has nothing to do with it.

A standby beat runs the schedule in step without sending anything (its entries advance as
if it had sent them), so taking over never replays runs the other beat already made.

The job sweep runs inside the sending beat rather than on a worker: recovering lost jobs
must not wait for a free slot on the maintenance queue (a long purge may hold them all).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import psycopg
from celery.beat import PersistentScheduler, ScheduleEntry
from sqlalchemy import make_url

from campaign_analytics.locks import BEAT_LOCK_SQL
from campaign_analytics.settings import get_settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 2
# Short periodic tasks the sending beat runs itself instead of queueing.
IN_PROCESS_TASKS = frozenset({"maintenance.sweep_jobs"})


class BeatLock:
    """The advisory lock on a dedicated autocommit connection, checked before each send."""

    def __init__(self, database_url: str) -> None:
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._conn: psycopg.Connection[Any] | None = None

    def held(self) -> bool:
        """True while this process holds the lock; tries to take it when it does not."""
        try:
            if self._conn is not None:
                self._conn.execute("SELECT 1")  # the session, and so the lock, is still ours
                return True
            conn = psycopg.connect(self._dsn, autocommit=True,
                                   connect_timeout=CONNECT_TIMEOUT_SECONDS)
        except psycopg.Error as exc:
            if self._conn is not None:
                log.warning("beat: lost the database, and with it the beat lock: %s", exc)
                self._drop()
            return False
        row = conn.execute(BEAT_LOCK_SQL).fetchone()
        if row is None or not row[0]:
            conn.close()  # another beat sends; try again at the next tick
            return False
        log.info("beat: holding the beat lock; sending the schedule")
        self._conn = conn
        return True

    def release(self) -> None:
        if self._conn is not None:
            log.info("beat: releasing the beat lock")
            self._drop()

    def _drop(self) -> None:
        assert self._conn is not None
        try:
            self._conn.close()
        finally:
            self._conn = None


class SingleBeatScheduler(PersistentScheduler):  # type: ignore[misc]
    """Celery's persistent scheduler, sending only while it holds the beat lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("schedule_filename"):
            Path(kwargs["schedule_filename"]).parent.mkdir(parents=True, exist_ok=True)
        self._lock = BeatLock(get_settings().require_database_url())
        self._standing_by = False
        super().__init__(*args, **kwargs)

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        if not self._lock.held():
            if not self._standing_by:
                self._standing_by = True
                log.info("beat: another beat holds the beat lock; standing by")
            return
        self._standing_by = False
        if entry.task not in IN_PROCESS_TASKS:
            super().apply_entry(entry, producer=producer)
            return
        log.info("Scheduler: Running due task %s (%s) in beat", entry.name, entry.task)
        try:
            self.app.tasks[entry.task](*entry.args, **entry.kwargs)
        except Exception as exc:  # the database or broker is away: the next tick tries again
            log.warning("beat: %s failed: %s", entry.name, exc)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._lock.release()
