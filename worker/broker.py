"""Notices that Redis lost its data (restarted without persistence, or failed over to an
empty replica): the messages of jobs published before it started went with it, and waiting
JOB_REDELIVER_AFTER_SECONDS to find out would leave those jobs idle for minutes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from celery import Celery

log = logging.getLogger(__name__)

EPOCH_KEY = "campaign-analytics:broker-epoch"

# One script, so that the marker, the clock and the run are read on one server run: a
# client that reconnects between commands could otherwise pair one run's TIME with the
# next one's uptime. Returns {marker exists, TIME, run_id, uptime_in_seconds}.
_READ_EPOCH = """
local server = redis.call('INFO', 'server')
return {redis.call('EXISTS', KEYS[1]), redis.call('TIME'),
        string.match(server, 'run_id:(%x+)'),
        tonumber(string.match(server, 'uptime_in_seconds:(%d+)'))}
"""
# Sets the marker only on the server run that was swept: a sweep that took long enough for
# Redis to restart empty behind it must not mark the new, unswept server as done.
_MARK_IF_SAME_RUN = """
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
if run_id ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], run_id)
return 1
"""


@dataclass(frozen=True)
class LostEpoch:
    """A broker server run that has no marker: jobs published before it started may be lost."""

    started: datetime
    run_id: str


def lost_epoch(celery: Celery) -> LostEpoch | None:
    """The broker's current run, if it has lost the marker a complete sweep left in it.

    A missing marker alone does not tell a restart from a first start on a new database;
    the start time does: only messages published before it can be gone. None when the
    marker is there, or the broker cannot be reached (nothing can be published anyway).
    The marker is written back by ``mark_swept`` only once a sweep republished them all.
    """
    try:
        with celery.connection_for_write() as conn:
            exists, (seconds, micros), run_id, uptime = conn.default_channel.client.eval(
                _READ_EPOCH, 1, EPOCH_KEY)
    except Exception as exc:
        log.warning("could not check the broker's epoch marker: %s", exc)
        return None
    if exists:
        return None
    now = datetime.fromtimestamp(int(seconds) + int(micros) / 1e6, UTC)
    # Redis counts uptime in whole seconds of its clock, so it started in the second
    # ending uptime seconds before this one. Take that second's end: republishing a job
    # published just after the start costs a duplicate message (claims are idempotent),
    # missing one published just before it would leave that job idle.
    started = min(now, datetime.fromtimestamp(int(seconds) - int(uptime) + 1, UTC))
    log.warning("the broker has no epoch marker (it started at %s, or this database is new): "
                "republishing every queued job published before then", started.isoformat())
    return LostEpoch(started, run_id.decode() if isinstance(run_id, bytes) else str(run_id))


def mark_swept(celery: Celery, epoch: LostEpoch) -> bool:
    """Every job lost before ``epoch`` has been published again: stop looking, unless the
    broker has restarted since (then the next sweep finds no marker and starts over)."""
    with celery.connection_for_write() as conn:
        marked = conn.default_channel.client.eval(_MARK_IF_SAME_RUN, 1, EPOCH_KEY, epoch.run_id)
    if not marked:
        log.warning("the broker restarted during the sweep: the next sweep republishes again")
    return bool(marked)
