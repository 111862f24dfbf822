"""What a running job's handler gets: its parameters, a database, and a progress channel."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..db import Database
from . import store
from .errors import JobCanceled

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
    # Called from the heartbeat thread when the job is no longer this attempt's (canceled
    # or taken over): a handler blocked in one long statement sets it to cancel that
    # statement, so it stops within a heartbeat instead of when the statement ends.
    interrupt: Callable[[], None] | None = field(default=None, init=False)
    lost: bool = field(default=False, init=False)  # set by the heartbeat before interrupting
    _last_progress: float = field(default=0.0, init=False)

    def report_progress(self, *, force: bool = False, **progress: Any) -> None:
        """Record progress (at most once a second) and stop if the job was canceled."""
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_progress = now
        with self.db.sessions() as session:
            owned = store.heartbeat(
                session, self.job_id, self.attempt, self.lease_seconds, progress
            )
        if not owned:
            raise JobCanceled(self.job_id)
