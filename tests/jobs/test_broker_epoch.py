"""The broker's epoch marker, against a real Redis the test restarts: a sweep notices a
server that lost its data, and never marks a server it did not sweep."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from celery import Celery

from tests.jobs.conftest import OwnBroker
from worker.broker import lost_epoch, mark_swept


@pytest.fixture
def celery(own_broker: OwnBroker) -> Iterator[Celery]:
    own_broker.start()
    app = Celery(broker=own_broker.url)
    app.conf.broker_connection_timeout = 2
    yield app
    app.close()


def test_a_new_broker_is_swept_once(celery: Celery) -> None:
    epoch = lost_epoch(celery)
    assert epoch is not None
    assert datetime.now(UTC) - timedelta(minutes=1) < epoch.started <= datetime.now(UTC)
    assert mark_swept(celery, epoch)
    assert lost_epoch(celery) is None


def test_a_restart_with_its_data_keeps_the_marker(celery: Celery, own_broker: OwnBroker) -> None:
    epoch = lost_epoch(celery)
    assert epoch is not None and mark_swept(celery, epoch)
    own_broker.stop()
    own_broker.start()  # append-only file kept: the queued messages are still there
    assert lost_epoch(celery) is None


def test_a_broker_that_restarts_empty_during_the_sweep_is_not_marked(
        celery: Celery, own_broker: OwnBroker) -> None:
    swept = lost_epoch(celery)
    assert swept is not None
    restarted_after = datetime.now(UTC)
    own_broker.restart_empty()  # while the sweep republished for the old server
    time.sleep(1.01 - time.time() % 1)  # read early in the next second: uptime 1, not 0
    assert not mark_swept(celery, swept)
    fresh = lost_epoch(celery)
    assert fresh is not None
    assert fresh.run_id != swept.run_id
    # Redis counts uptime in whole seconds; the estimate must not fall before the real
    # start, or jobs published in the second before it would not be republished.
    assert fresh.started >= restarted_after
