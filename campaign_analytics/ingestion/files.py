"""Events from a file (JSON Lines or CSV), through exactly the API's validation and writes.

The file is streamed: memory holds one batch, whatever the file size. Each batch commits on
its own, so an interrupted load can simply be run again: what was stored counts as
duplicates the second time.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from ..db import Database
from ..errors import ValidationFailed
from .batch import BatchResult, ingest_batch
from .parsing import InvalidRecord

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
FILE_BATCH = 20_000
KEPT_REJECTIONS = 20


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


def ingest_file(
    db: Database, workspace_id: str, path: Path, *, fmt: str | None = None,
    batch_size: int = FILE_BATCH, progress: Callable[[int], None] | None = None,
) -> FileReport:
    """Load every event of ``path``; indexes in rejections are 0-based event positions."""
    records = _csv(path) if detect_format(path, fmt) == "csv" else _jsonl(path)
    report = FileReport()
    while batch := list(islice(records, batch_size)):
        with db.engine.begin() as conn:
            result = ingest_batch(conn, workspace_id, batch, first_index=report.read)
        report.add(len(batch), result)
        if progress:
            progress(len(batch))
    return report
