"""The issue's real-time test (docs/schedules.md): a schedule due every minute, two real beat
processes and a worker make exactly one export per slot; with both beats stopped across
three slots, one beat started again makes exactly one catch-up run. Takes about six
minutes: ``./run-tests -m extended_faults``."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from campaign_analytics.db import Database
from tests.jobs.helpers import wait_until
from tests.schedules.test_runs import EVERY_MINUTE, create, iso, runs, stored
from tests.world import World

pytestmark = [pytest.mark.slow, pytest.mark.extended_faults]

TICK_SECONDS = 2
SENT = "due task run-export-schedules"


def slots_run(db: Database, schedule_id: str) -> Counter[str]:
    return Counter(job.params["schedule"]["slot"] for job in runs(db, schedule_id))


def sleep_until(instant: datetime) -> None:
    time.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds()))


@pytest.mark.timeout(900)
def test_two_beats_run_each_slot_once_and_one_catch_up_after_downtime(
    world: World, db: Database, worker_env: dict[str, str], celery_processes: Any,
) -> None:
    env = {**worker_env, "EXPORT_SCHEDULE_TICK_SECONDS": str(TICK_SECONDS)}
    schedule_id = create(world.tenant, EVERY_MINUTE)
    first = stored(db, schedule_id).next_run_at
    assert first is not None
    celery_processes("worker", env)
    beats = [celery_processes("beat", env, "beat-a"), celery_processes("beat", env, "beat-b")]

    # Two slots (and their ticks) with both beats up.
    second = first + timedelta(minutes=1)
    sleep_until(second + timedelta(seconds=4 * TICK_SECONDS))
    wait_until(lambda: iso(second) in slots_run(db, schedule_id), 60,
               str(slots_run(db, schedule_id)))
    # One beat sent the ticks, the other stood by (it may take over while the first stops).
    assert sorted(SENT in beat.log() for beat in beats) == [False, True]
    for beat in beats:
        beat.stop()
    time.sleep(2 * TICK_SECONDS)  # a tick already sent expires or is done
    before = slots_run(db, schedule_id)
    assert set(before.values()) == {1}, before  # each slot once
    last = max(before)
    # Every slot from the first to the last, none skipped.
    assert sorted(before) == [iso(first + timedelta(minutes=n))
                              for n in range(len(before))], before
    assert iso(second) <= last

    # Both beats away across three slots, then one back a few seconds into a minute.
    sleep_until(at(last) + timedelta(minutes=4, seconds=5))
    restarted = datetime.now(UTC).replace(second=0, microsecond=0)
    celery_processes("beat", env, "beat-c")
    wait_until(lambda: max(slots_run(db, schedule_id)) > last, 60)
    time.sleep(5 * TICK_SECONDS)  # more ticks: still one catch-up run
    after = slots_run(db, schedule_id)
    assert set(after.values()) == {1}, after
    new = sorted(slot for slot in after if slot > last)
    # One run for the latest slot due when beat came back; none for the three missed before.
    assert new[0] == iso(restarted), (new, restarted)
    assert at(new[0]) - at(last) == timedelta(minutes=4)
    # Any later run is a regular one, a minute after the previous.
    assert new == [iso(restarted + timedelta(minutes=n)) for n in range(len(new))], new
    next_run = stored(db, schedule_id).next_run_at
    assert next_run is not None and next_run > at(new[-1])


def at(slot: str) -> datetime:
    return datetime.fromisoformat(slot.replace("Z", "+00:00"))
