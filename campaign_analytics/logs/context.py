"""Fields every log line carries while a request or a job is being handled.

A context variable holds them, so they follow the code that runs for one request or one
job without being passed around; ``ContextFilter`` puts them on each record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any

_NONE: Mapping[str, Any] = MappingProxyType({})
_fields: ContextVar[Mapping[str, Any]] = ContextVar("log_fields", default=_NONE)

# The record attribute the formatters read the fields from; the leading underscore keeps
# python-json-logger from also emitting it as an extra.
RECORD_ATTRIBUTE = "_log_context"

ContextToken = Token[Mapping[str, Any]]


def bind(**fields: Any) -> ContextToken:
    """Add ``fields`` to the current context; ``unbind`` the token to take them away."""
    return _fields.set(MappingProxyType({**_fields.get(), **fields}))


def unbind(token: ContextToken) -> None:
    _fields.reset(token)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Every line logged inside the block carries ``fields``."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


class ContextFilter(logging.Filter):
    """Stamps the current context's fields on each record (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        setattr(record, RECORD_ATTRIBUTE, _fields.get())
        return True
