"""Only one beat runs the schedule; a second one started by mistake waits, then takes over."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.jobs.helpers import wait_until

pytestmark = pytest.mark.slow

SENT = "Sending due task sweep-jobs"


def test_a_second_beat_sends_nothing_until_the_first_stops(
    process_env: dict[str, str], celery_processes: Any
) -> None:
    first = celery_processes("beat", process_env)
    second = celery_processes("beat", process_env)
    time.sleep(5)
    assert first.log().count(SENT) >= 3, first.log()
    assert second.log().count(SENT) == 0, second.log()

    first.stop()  # a graceful stop releases the lock
    wait_until(lambda: second.log().count(SENT) >= 2, 30, second.log())
