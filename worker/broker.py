"""Notices that Redis lost its data (restarted without persistence, flushed, failed over to
an empty replica): every message of a published job went with it, and waiting
JOB_REDELIVER_AFTER_SECONDS to find out would leave those jobs idle for minutes."""

from __future__ import annotations

import logging
import time

from celery import Celery

log = logging.getLogger(__name__)

EPOCH_KEY = "campaign-analytics:broker-epoch"


def lost_its_messages(celery: Celery) -> bool:
    """True when the marker an earlier sweep left in the broker is gone.

    The very first sweep also sees no marker: it then republishes jobs whose messages are
    in fact still queued, which is harmless (the claim is atomic; extra messages are
    no-ops). A broker that cannot be reached says False: nothing can be published anyway.
    """
    try:
        with celery.connection_for_write() as conn:
            client = conn.default_channel.client
            created = bool(client.set(EPOCH_KEY, str(time.time()), nx=True))
    except Exception as exc:
        log.warning("could not check the broker's epoch marker: %s", exc)
        return False
    if created:
        log.warning("the broker has no epoch marker (first start, or it lost its data): "
                    "republishing every queued job")
    return created
