"""The description of a job kind; the catalog (``catalog.py``) lists them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .context import JobContext


class Queue(StrEnum):
    EXPORTS = "exports"
    ANALYTICS = "analytics"
    MAINTENANCE = "maintenance"


Handler = Callable[[JobContext], dict[str, Any] | None]


@dataclass(frozen=True)
class JobKind:
    name: str
    queue: Queue
    handler: Handler
    id_prefix: str = "job"
