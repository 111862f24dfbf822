"""Events from a file (JSON Lines or CSV), through exactly the API's validation and writes.

The file is streamed: memory holds three batches, whatever the file size. While one batch
is written under the workspace's ingest lock, a second connection checks and stages the next
one (then waits for the lock), and a thread reads and parses the one after. Batches still
take the lock, and commit, one after the other in file order; each commits on its own, so
an interrupted load can simply be run again: what was stored counts as duplicates the
second time. After a failed batch no later one is stored.
"""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from ..db import Database
from ..errors import ValidationFailed
from .batch import BatchResult, ingest_parsed, parse_all
from .parsing import InvalidRecord, ParsedEvent

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
FILE_BATCH = 20_000
KEPT_REJECTIONS = 20

T = TypeVar("T")


def detect_format(path: Path, given: str | None = None) -> str:
    fmt = given or FORMATS.get(path.suffix.lower())
    if fmt not in ("jsonl", "csv"):
        raise ValidationFailed(
            f"Cannot tell the format of {path.name}",
            {"format": ["use a .jsonl/.ndjson or .csv file, or pass --format jsonl|csv"]},
        )
    return fmt


def _jsonl(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                yield InvalidRecord(f"line {number}: not valid JSON ({exc.msg})")


def _csv_value(name: str, value: str) -> Any:
    if value == "":
        return None
    if name == "step":
        return int(value) if value.lstrip("-").isdigit() else value
    if name == "headers":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _csv(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            yield {name: _csv_value(name, value) for name, value in row.items()
                   if name and value is not None}


@dataclass
class FileReport:
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    first_rejections: list[tuple[int, str, str]] = field(default_factory=list)

    def add(self, batch_size: int, result: BatchResult) -> None:
        self.read += batch_size
        self.accepted += result.accepted
        self.duplicates += result.duplicates
        self.rejected += len(result.rejected)
        room = max(KEPT_REJECTIONS - len(self.first_rejections), 0)
        self.first_rejections += result.rejected[:room]


ParsedBatch = tuple[int, list[ParsedEvent], list[tuple[int, str, str]]]


def _parsed_batches(records: Iterator[Any], batch_size: int) -> Iterator[ParsedBatch]:
    """(records read, parsed events, rejections) per batch; indexes count from the start."""
    read = 0
    while batch := list(islice(records, batch_size)):
        parsed, rejected = parse_all(batch, datetime.now(UTC), read)
        yield len(batch), parsed, rejected
        read += len(batch)


def _one_ahead(items: Iterator[T]) -> Iterator[T]:
    """The same items (never None), the next one prepared by a thread meanwhile."""
    with ThreadPoolExecutor(1, thread_name_prefix="ingest-read") as pool:
        future = pool.submit(next, items, None)
        while (item := future.result()) is not None:
            future = pool.submit(next, items, None)
            yield item


class _Stopped(Exception):
    """The load stopped (an earlier batch failed, or the caller was interrupted)."""


def _write(
    db: Database, workspace_id: str, batch: ParsedBatch, after: Future[BatchResult] | None,
    locked: threading.Event, stop: threading.Event,
) -> BatchResult:
    """One batch in its own transaction; ``locked`` is set once it holds the ingest lock
    (or is over). It writes only once the batch before it (``after``) has succeeded, and
    not at all once ``stop`` is set."""

    def in_turn() -> None:
        locked.set()
        if after is not None:
            after.result()
        if stop.is_set():
            raise _Stopped

    try:
        with db.engine.begin() as conn:
            return ingest_parsed(conn, workspace_id, batch[1], batch[2], on_locked=in_turn)
    finally:
        locked.set()


def ingest_file(
    db: Database, workspace_id: str, path: Path, *, fmt: str | None = None,
    batch_size: int = FILE_BATCH, progress: Callable[[int], None] | None = None,
) -> FileReport:
    """Load every event of ``path``; indexes in rejections are 0-based event positions."""
    records = _csv(path) if detect_format(path, fmt) == "csv" else _jsonl(path)
    report = FileReport()
    stop = threading.Event()

    def finish(size: int, future: Future[BatchResult]) -> None:
        report.add(size, future.result())
        if progress:
            progress(size)

    with ThreadPoolExecutor(2, thread_name_prefix="ingest-write") as writers:
        previous: tuple[int, Future[BatchResult], threading.Event] | None = None
        try:
            for batch in _one_ahead(_parsed_batches(records, batch_size)):
                if previous is not None:
                    previous[2].wait()  # the lock is taken in file order
                locked = threading.Event()
                future = writers.submit(_write, db, workspace_id, batch,
                                        previous[1] if previous else None, locked, stop)
                if previous is not None:
                    finish(*previous[:2])
                previous = (batch[0], future, locked)
            if previous is not None:
                finish(*previous[:2])
        except BaseException:
            stop.set()  # a batch still waiting for its turn stores nothing
            raise
    return report
