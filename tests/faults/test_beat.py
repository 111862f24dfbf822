"""Two beats at once: exactly one sends the schedule; when it goes (stopped or killed) the
other takes over within a tick, because the lock is the sender's PostgreSQL session."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.jobs.helpers import wait_until

pytestmark = pytest.mark.slow

SENT = "due task sweep-jobs"


def sends(beat: Any) -> int:
    return int(beat.log().count(SENT))


@pytest.mark.parametrize("departure", ["stop", "kill_group"])
def test_one_of_two_beats_sends_and_the_other_takes_over(
    process_env: dict[str, str], celery_processes: Any, departure: str
) -> None:
    beats = [celery_processes("beat", process_env), celery_processes("beat", process_env)]
    time.sleep(5)
    holder, standby = sorted(beats, key=sends, reverse=True)
    assert sends(holder) >= 3, holder.log()
    assert sends(standby) == 0, standby.log()  # each scheduled run is sent once

    getattr(holder, departure)()  # a graceful stop, or SIGKILL of the whole group
    wait_until(lambda: sends(standby) >= 2, 15, standby.log())
