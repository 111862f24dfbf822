"""How a job's handler reports failure, and the mapping of low-level errors at the edge.

A failure is *recoverable* when running the same job again later may succeed (the database
or storage was briefly away); the runner retries those with backoff and fails the rest at
once with a message a user can act on.
"""

from __future__ import annotations

import logging

from ..db import is_unavailable

log = logging.getLogger(__name__)


class JobFailure(Exception):
    def __init__(self, code: str, message: str, *, recoverable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.recoverable = recoverable


class JobCanceled(Exception):
    """The job was canceled (or taken over by another attempt) while it ran."""


class JobHandedBack(JobCanceled):
    """This attempt stops because its worker is shutting down; the job runs again elsewhere.

    A ``JobCanceled`` for the handlers (they discard partial output the same way); the
    runner tells the two apart and releases the job instead of dropping it.
    """


def classify(exc: BaseException) -> JobFailure:
    """Turn an unexpected exception into a JobFailure without leaking internals."""
    if isinstance(exc, JobFailure):
        return exc
    if is_unavailable(exc):
        return JobFailure("DATABASE_UNAVAILABLE", "The database was unreachable", recoverable=True)
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return JobFailure("STORAGE_UNAVAILABLE", "Storage was unreachable", recoverable=True)
    log.exception("job handler raised an unexpected error", exc_info=exc)
    return JobFailure(
        "INTERNAL_ERROR", "The job failed with an internal error; it has been logged",
        recoverable=False,
    )
