"""Gunicorn's own lines (the arbiter, worker boots and exits, and the access log if someone
turns it on) in the service's format and through its redaction, so no line of the API is
left out. Used as ``gunicorn --logger-class webapi.gunicorn_logger.GunicornLogger``."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from campaign_analytics.logs.setup import adopt
from campaign_analytics.settings import get_settings


class GunicornLogger(Logger):  # type: ignore[misc]
    """Keeps gunicorn's destinations (stderr, or the files it was given); only the
    format changes. An access log line would show the request path, whose download token
    redaction removes; the app logs its own request line anyway (``request_logging.py``)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        log_format = get_settings().log_format
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                adopt(handler, log_format)
