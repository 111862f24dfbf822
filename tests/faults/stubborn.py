"""A job kind whose handler shrugs off the soft time limit, as one stuck in a cleanup that
never ends (a hung storage call, a swallowed exception) would: only the hard limit stops it.
"""

from __future__ import annotations

import time

from celery.exceptions import SoftTimeLimitExceeded

from campaign_analytics.jobs.context import JobContext
from campaign_analytics.jobs.kinds import JobKind, Queue


def _forever() -> None:
    while True:
        time.sleep(0.2)


def shrug_off_the_soft_limit(ctx: JobContext) -> None:
    try:
        _forever()
    except SoftTimeLimitExceeded:
        _forever()


STUBBORN = JobKind("stubborn", Queue.MAINTENANCE, shrug_off_the_soft_limit)
