"""Celery logs like the API: Celery configures logging itself unless a receiver answers
its ``setup_logging`` signal; ours installs the service's one setup instead (JSON or text
by ``LOG_FORMAT``, level ``LOG_LEVEL``; ``celery --loglevel`` is not consulted)."""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging

from campaign_analytics.logs.setup import configure_logging
from campaign_analytics.settings import Settings


def use_service_logging(settings: Settings) -> None:
    def configure(**_: Any) -> None:
        configure_logging(settings.log_level, settings.log_format)

    setup_logging.connect(configure, weak=False)
