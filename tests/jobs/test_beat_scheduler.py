"""The beat scheduler in-process against the real database and broker: it sends only while
it holds the lock, stands by while another session holds it, and makes a run it could not
make (the lock could not be checked) once, as soon as it can."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from celery.beat import ScheduleEntry
from flask import Flask

from campaign_analytics.locks import BEAT_LOCK_SQL
from worker.beat import BeatLock, Lock, SingleBeatScheduler

TASK = "maintenance.expire_exports"
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nowhere"


def sent(redis_url: str) -> int:
    """Messages for TASK waiting in the maintenance queue of the test's broker."""
    client = redis.Redis.from_url(redis_url)
    try:
        return sum(json.loads(raw)["headers"]["task"] == TASK
                   for raw in client.lrange("maintenance", 0, -1))
    finally:
        client.close()


@pytest.fixture
def scheduler(app: Flask, tmp_path: Path, quiet_queues: None) -> Iterator[SingleBeatScheduler]:
    beat = SingleBeatScheduler(app=app.extensions["celery"],
                               schedule_filename=str(tmp_path / "schedule"))
    yield beat
    beat.close()


def entry(beat: SingleBeatScheduler) -> ScheduleEntry:
    return ScheduleEntry(name="expire", task=TASK, schedule=3600, app=beat.app)


def test_a_run_missed_while_the_lock_cannot_be_checked_is_made_once_later(
    scheduler: SingleBeatScheduler, database_url: str, redis_url: str
) -> None:
    lock = scheduler._lock
    scheduler._lock = BeatLock(UNREACHABLE)
    scheduler.apply_entry(entry(scheduler), scheduler.producer)
    assert sent(redis_url) == 0
    scheduler.tick()  # still unreachable: still owed, not sent
    assert sent(redis_url) == 0

    scheduler._lock = lock
    scheduler.tick()
    scheduler.tick()
    assert sent(redis_url) == 1


def test_a_standby_sends_nothing_and_owes_nothing(
    scheduler: SingleBeatScheduler, database_url: str, redis_url: str
) -> None:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as other:
        assert other.execute(BEAT_LOCK_SQL).fetchone() == (True,)
        assert scheduler._lock.state() is Lock.OTHER
        scheduler.apply_entry(entry(scheduler), scheduler.producer)
        scheduler.tick()
        assert sent(redis_url) == 0
    # The other session ended: the lock is free, and nothing is owed for the skipped run.
    assert scheduler._lock.state() is Lock.HELD
    scheduler.tick()
    assert sent(redis_url) == 0
    scheduler.apply_entry(entry(scheduler), scheduler.producer)
    assert sent(redis_url) == 1


