"""One ingestion batch end to end: parse, check references, drop repeats, write.

Everything that needs no lock (parsing, the campaign/lead/account checks, staging) runs
before the workspace's ingest lock is taken, so concurrent batches of one workspace only
take turns for the writes themselves.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from ..locks import lock_ingest
from .parsing import MESSAGE_TYPES, ParsedEvent, Rejected, parse_event
from .references import check_messages, check_owners, prepare_messages
from .writer import stage, tuned, write_batch

MAX_EVENTS = 10_000


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)


def parse_all(
    raw_events: Sequence[Any], now: datetime, first_index: int = 0
) -> tuple[list[ParsedEvent], list[tuple[int, str, str]]]:
    parsed: list[ParsedEvent] = []
    rejected: list[tuple[int, str, str]] = []
    for offset, raw in enumerate(raw_events):
        try:
            parsed.append(parse_event(first_index + offset, raw, now))
        except Rejected as exc:
            rejected.append((first_index + offset, exc.code, exc.message))
    return parsed, rejected


def _first_of_each(events: Sequence[ParsedEvent]) -> tuple[list[ParsedEvent], int]:
    """A repeated external_id inside one batch is a duplicate too (SPEC 11.17)."""
    seen: set[str] = set()
    unique = []
    for event in events:
        if event.external_id not in seen:
            seen.add(event.external_id)
            unique.append(event)
    return unique, len(events) - len(unique)


@contextmanager
def _collections_deferred() -> Iterator[None]:
    """No garbage collection while the workspace's ingest lock is held: a full collection
    of a web worker's heap takes about 80 ms (measured: one every 7-10 batches of 5,000),
    and inside the lock every sender of the workspace would wait for it. The collector
    runs as usual once the batch is written; the lock is held about 0.2 s a batch."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def ingest_batch(
    conn: Connection, workspace_id: str, raw_events: Sequence[Any], *,
    now: datetime | None = None, first_index: int = 0,
) -> BatchResult:
    """Validate and store one batch in the caller's transaction. One bad event never sinks
    the batch: it is reported with its index and code and the rest are stored."""
    parsed, rejected = parse_all(raw_events, now or datetime.now(UTC), first_index)
    return ingest_parsed(conn, workspace_id, parsed, rejected)


def ingest_parsed(
    conn: Connection, workspace_id: str, parsed: Sequence[ParsedEvent],
    rejected: Sequence[tuple[int, str, str]] = (), *,
    on_locked: Callable[[], None] | None = None,
) -> BatchResult:
    """``ingest_batch`` for events ``parse_all`` already parsed (with its rejections).

    ``on_locked`` runs once the workspace's ingest lock is held, before anything is written;
    if it raises, nothing is."""
    with tuned(conn):
        candidates, refused = check_owners(conn, workspace_id, parsed)
        if not candidates:
            return BatchResult(0, 0, sorted([*rejected, *refused]))
        stage(conn, candidates)
        births = {e.message_id for e in parsed if e.type in MESSAGE_TYPES}
        lookup = prepare_messages(workspace_id, candidates, births)
        with _collections_deferred():
            lock_ingest(conn, workspace_id)
            if on_locked is not None:
                on_locked()
            checked = check_messages(conn, lookup)
            unique, repeats = _first_of_each(checked.valid)
            accepted = write_batch(
                conn, workspace_id, unique, staged=len(candidates),
                unstage={e.index for e in candidates} - {e.index for e in unique},
                existing=checked.existing, early=checked.early,
            ) if unique else 0
    return BatchResult(accepted, repeats + len(unique) - accepted,
                       sorted([*rejected, *refused, *checked.rejected]))
