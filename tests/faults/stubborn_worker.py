"""``celery -A tests.faults.stubborn_worker worker``: the real worker app, plus the stubborn
job kind (tests/faults/stubborn.py)."""

from campaign_analytics.jobs.catalog import KINDS
from tests.faults.stubborn import STUBBORN
from worker.celery import app

KINDS[STUBBORN.name] = STUBBORN

__all__ = ["app"]
