"""One beat sends the schedule; any other stands by. The lock is a PostgreSQL advisory lock
held on the sending beat's own connection, so it lives exactly as long as that beat's
session: a beat that dies (even SIGKILLed) or loses the database frees it at once, and a
Redis outage, which beats must ride out, has nothing to do with it.

A standby beat runs the schedule in step without sending anything (its entries advance as
if it had sent them), so taking over never replays runs the other beat already made. A run
that could not be made — the lock could not be checked (PostgreSQL away) or the send
failed (Redis away) — is remembered and made at the first tick that can, once.

The job sweep runs inside the sending beat rather than on a worker: recovering lost jobs
must not wait for a free slot on the maintenance queue (a long purge may hold them all).
"""

from __future__ import annotations

import logging
import socket
from enum import Enum
from pathlib import Path
from typing import Any

import psycopg
from celery.beat import PersistentScheduler, ScheduleEntry
from sqlalchemy import make_url

from campaign_analytics.locks import BEAT_LOCK_SQL

log = logging.getLogger(__name__)

# The lock's connection must notice a dead server or network within seconds, or a
# half-open connection would keep every beat silent (the server keeps the lock until its
# own keepalive gives up). PgBouncer in transaction mode cannot carry a session lock:
# point DATABASE_URL of beat at PostgreSQL itself.
LOCK_CONNECTION: dict[str, Any] = {
    "autocommit": True, "connect_timeout": 2, "keepalives": 1, "keepalives_idle": 5,
    "keepalives_interval": 2, "keepalives_count": 3, "tcp_user_timeout": 10_000,
    "options": "-c statement_timeout=5000",
}
# Short periodic tasks the sending beat runs itself instead of queueing.
IN_PROCESS_TASKS = frozenset({"maintenance.sweep_jobs"})


class Lock(Enum):
    HELD = "held"
    OTHER = "other"  # another beat's session holds it: stand by
    UNKNOWN = "unknown"  # the database could not be asked: make no decision


class BeatLock:
    """The advisory lock on a dedicated connection, checked before each send."""

    def __init__(self, database_url: str) -> None:
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._conn: psycopg.Connection[Any] | None = None

    def state(self) -> Lock:
        """Whether this process holds the lock; tries to take it when it does not."""
        try:
            return self._check()
        except psycopg.Error as exc:
            if self._conn is not None:
                log.warning("beat: lost the database, and with it the beat lock: %s", exc)
                self._drop()
            return Lock.UNKNOWN

    def _check(self) -> Lock:
        if self._conn is not None:
            self._conn.execute("SELECT 1")  # the session, and so the lock, is still ours
            return Lock.HELD
        conn = psycopg.connect(self._dsn, **LOCK_CONNECTION)
        try:
            row = conn.execute(BEAT_LOCK_SQL).fetchone()
        except psycopg.Error:
            conn.close()
            raise
        if row is None or not row[0]:
            conn.close()  # another beat sends; try again at the next tick
            return Lock.OTHER
        log.info("beat: holding the beat lock; sending the schedule")
        self._conn = conn
        return Lock.HELD

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


def schedule_file(data_dir: Path) -> str:
    """One file per host: the shelve behind the persistent scheduler cannot be shared by
    two beats (a scaled compose service mounts one volume into every replica)."""
    return str(data_dir / f"beat-schedule-{socket.gethostname()}")


class SingleBeatScheduler(PersistentScheduler):  # type: ignore[misc]
    """Celery's persistent scheduler, sending only while it holds the beat lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("schedule_filename"):
            Path(kwargs["schedule_filename"]).parent.mkdir(parents=True, exist_ok=True)
        self._standing_by = False
        self._missed: dict[str, ScheduleEntry] = {}
        super().__init__(*args, **kwargs)
        database_url = self.app.conf.get("beat_lock_database_url")
        if not database_url:
            raise RuntimeError("DATABASE_URL is not set: beat takes its lock in PostgreSQL")
        self._lock = BeatLock(database_url)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if self._missed and self._lock.state() is Lock.HELD:
            for entry in list(self._missed.values()):
                self._send(entry, self.producer)
        delay: float = super().tick(*args, **kwargs)
        return delay

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        """Celery has already advanced the entry; this decides whether it is sent."""
        state = self._lock.state()
        if state is Lock.HELD:
            self._standing_by = False
            self._send(entry, producer)
        elif state is Lock.OTHER:
            self._missed.pop(entry.name, None)  # the other beat made it
            if not self._standing_by:
                self._standing_by = True
                log.info("beat: another beat holds the beat lock; standing by")
        else:
            self._remember(entry, "the beat lock could not be checked")

    def _send(self, entry: ScheduleEntry, producer: Any) -> None:
        log.info("Scheduler: Sending due task %s (%s)", entry.name, entry.task)
        try:
            if entry.task in IN_PROCESS_TASKS:
                self.app.tasks[entry.task](*entry.args, **entry.kwargs)
            else:
                self.apply_async(entry, producer=producer, advance=False)
        except Exception as exc:  # the database or broker is away
            self._remember(entry, f"{type(exc).__name__}: {exc}")
            return
        self._missed.pop(entry.name, None)

    def _remember(self, entry: ScheduleEntry, why: str) -> None:
        if entry.task in IN_PROCESS_TASKS:
            log.warning("beat: %s not run (%s); the next one will", entry.name, why)
            return  # the next sweep, seconds away, does the same work
        log.warning("beat: %s not sent (%s); sending it once when possible", entry.name, why)
        self._missed[entry.name] = entry

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._lock.release()
