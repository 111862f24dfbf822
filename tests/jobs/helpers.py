"""Small arrangements shared by the job tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from campaign_analytics.db import Database
from campaign_analytics.jobs import outbox
from campaign_analytics.models import Job


class RecordingPublisher:
    """Collects what would be sent; the broker path itself is proven by the process tests."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail

    def __call__(self, job_id: str, queue: str) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.sent.append((job_id, queue))


def submit(db: Database, workspace_id: str, kind: str = "diagnostic",
           publisher: Any = None, **params: Any) -> str:
    with db.sessions() as session:
        job = outbox.submit(session, publisher or RecordingPublisher(), kind=kind,
                            workspace_id=workspace_id, params=params)
        return job.id


def load(db: Database, job_id: str) -> Job:
    with db.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def set_job(db: Database, job_id: str, **values: Any) -> None:
    with db.sessions() as session:
        session.execute(update(Job).where(Job.id == job_id).values(**values))
        session.commit()


def wait_until(predicate: Any, timeout: float, message: str | Callable[[], str] = "",
               interval: float = 0.2) -> None:
    """``message`` may be a callable, to show the logs as they are when the time is up."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    explained = message() if callable(message) else message
    raise AssertionError(f"condition not met within {timeout}s: {explained}")
