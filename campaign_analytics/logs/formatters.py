"""The two line formats: JSON for log shippers, text for a person at a terminal.

Both start with the same facts (UTC ISO 8601 timestamp, level, logger, message), add the
context fields (``context.py``) and pass everything through ``redaction.redact``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from ..settings import LogFormat
from .context import RECORD_ATTRIBUTE
from .redaction import redact, redact_value


def timestamp(record: logging.LogRecord) -> str:
    """``2026-05-01T12:00:00.123Z``: UTC, milliseconds, like the API's timestamps."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _context_of(record: logging.LogRecord) -> Mapping[str, Any]:
    fields: Mapping[str, Any] = getattr(record, RECORD_ATTRIBUTE, {})
    return fields


class JsonFormatter(_JsonFormatter):
    """One JSON object a line: timestamp, level, logger, message, the context fields, any
    ``extra`` the call site gave, and ``exception`` with the traceback."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger",
                           "exc_info": "exception", "stack_info": "stack"},
        )

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        fields: dict[str, Any] = {}
        super().add_fields(fields, record, message_dict)
        log_data["timestamp"] = timestamp(record)
        for key in ("level", "logger", "message"):
            log_data[key] = fields.pop(key)
        log_data.update(_context_of(record))
        log_data.update(fields)  # a call site's explicit ``extra`` wins

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: redact_value(value) for key, value in log_data.items()}


class TextFormatter(logging.Formatter):
    """``2026-05-01T12:00:00.123Z INFO tasks.jobs [job_id=job_… task_id=…] message``."""

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{key}={value}" for key, value in _context_of(record).items())
        line = " ".join(filter(None, (
            timestamp(record), record.levelname, record.name,
            f"[{context}]" if context else "", record.getMessage(),
        )))
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return redact(line)


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()
