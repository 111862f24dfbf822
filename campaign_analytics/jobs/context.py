"""What a running job's handler gets: its parameters, a database, and a progress channel."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..db import Database
from . import store
from .errors import JobCanceled, JobHandedBack

PROGRESS_INTERVAL_SECONDS = 1.0


@dataclass
class JobContext:
    db: Database
    job_id: str
    kind: str
    workspace_id: str | None
    params: dict[str, Any]
    attempt: int
    lease_seconds: int
    # Called from the heartbeat thread when the attempt must stop (the job was canceled or
    # taken over, or the worker is shutting down): a handler blocked in one long statement
    # sets it to cancel that statement, so it stops within a heartbeat instead of when the
    # statement ends.
    interrupt: Callable[[], None] | None = field(default=None, init=False)
    lost: bool = field(default=False, init=False)  # set by the heartbeat before interrupting
    handing_back: bool = field(default=False, init=False)  # likewise, on a graceful shutdown
    _last_progress: float = field(default=0.0, init=False)

    def report_progress(self, *, force: bool = False, **progress: Any) -> None:
        """Record progress (at most once a second); stop if the job was canceled or the
        worker wants it handed back."""
        if self.handing_back:
            raise JobHandedBack(self.job_id)
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_progress = now
        with self.db.sessions() as session:
            lease = store.heartbeat(
                session, self.job_id, self.attempt, self.lease_seconds, progress
            )
        if lease is store.Lease.LOST:
            raise JobCanceled(self.job_id)
        if lease is store.Lease.HAND_BACK:
            self.handing_back = True
            raise JobHandedBack(self.job_id)
