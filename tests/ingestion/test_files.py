"""Loading events from JSON Lines and CSV files: same validation and idempotency as the API."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from campaign_analytics.db import Database
from campaign_analytics.errors import ValidationFailed
from campaign_analytics.ingestion.files import ingest_file
from tests.world import World, count


def _events(world: World, prefix: str) -> list[dict[str, object]]:
    lead = world.lead()
    events: list[dict[str, object]] = []
    for n in range(30):
        message = f"{prefix}-{n}"
        events += [world.sent(message, lead, n, step=n % 3),
                   world.event("opened", message, n + 60, user_agent="UA, with comma")]
    events.append(world.event("opened", f"{prefix}-0", 5, campaign_id="cmp_missing"))
    return events


def test_jsonl_file_loads_once_and_reports_bad_lines(
    world: World, db: Database, tmp_path: Path
) -> None:
    events = _events(world, "fj")
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(event) for event in events]
    lines.insert(10, "{not json")
    path.write_text("\n".join(lines) + "\n\n")
    seen: list[int] = []
    report = ingest_file(db, world.tenant.id, path, batch_size=16, progress=seen.append)
    assert (report.read, report.accepted, report.duplicates, report.rejected) == (62, 60, 0, 2)
    assert [(index, code) for index, code, _ in report.first_rejections] == [
        (10, "VALIDATION_ERROR"), (61, "CAMPAIGN_NOT_FOUND")]
    assert "line 11" in report.first_rejections[0][2]
    assert sum(seen) == 62
    again = ingest_file(db, world.tenant.id, path)
    assert (again.accepted, again.duplicates) == (0, 60)
    assert count(db, "SELECT count(*) FROM email_events WHERE campaign_id = :c",
                 c=world.campaign) == 60


def test_csv_file_with_a_header_of_field_names(world: World, db: Database, tmp_path: Path) -> None:
    events = _events(world, "fc")
    path = tmp_path / "events.csv"
    fields = sorted({name for event in events for name in event})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(events)
    report = ingest_file(db, world.tenant.id, path)
    assert (report.accepted, report.rejected) == (60, 1)
    assert count(db, "SELECT count(*) FROM messages WHERE campaign_id = :c AND step = 2",
                 c=world.campaign) == 10


def test_unknown_format_is_refused(world: World, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "events.xml"
    path.write_text("<events/>")
    with pytest.raises(ValidationFailed, match="format"):
        ingest_file(db, world.tenant.id, path)


def test_no_batch_after_a_failed_one_is_stored(
    world: World, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from campaign_analytics.ingestion import files

    real = files.ingest_parsed

    def failing_second(conn: Any, workspace_id: str, parsed: Any, rejected: Any,
                       **kwargs: Any) -> Any:
        if parsed and parsed[0].index == 10:
            raise RuntimeError("the database went away")
        return real(conn, workspace_id, parsed, rejected, **kwargs)

    monkeypatch.setattr(files, "ingest_parsed", failing_second)
    events = _events(world, "ff")[:40]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="went away"):
        ingest_file(db, world.tenant.id, path, batch_size=10, progress=seen.append)
    assert seen == [10]
    assert count(db, "SELECT count(*) FROM email_events WHERE campaign_id = :c",
                 c=world.campaign) == 10
