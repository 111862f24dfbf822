"""Each export type's file against the database: columns, values, the time filter, the
workspace and campaign scope, CSV quoting and the formula rule, JSON Lines, gzip, and the
size and sha256 recorded on the job row."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from datetime import datetime
from typing import Any

import pytest

from campaign_analytics.db import Database
from campaign_analytics.exports.spec import (
    Compression,
    ExportFormat,
    ExportType,
    Kind,
    columns_of,
)
from campaign_analytics.exports.storage import LocalStorage
from tests.engagement.stored import NAMED_VERDICTS
from tests.exports.conftest import END, START, params, rows, run_export
from tests.exports.seed import DANGEROUS, HARMLESS, HOSTILE, Seeded, seed, utc

RAW_TYPES = [ExportType.LEADS, ExportType.ATTEMPTS, ExportType.REPLIES, ExportType.EVENTS]

# The test's own reading of each type: plain SQL, documented column order.
EXPECTED_SQL = {
    ExportType.LEADS: """
        SELECT l.id, l.campaign_id, l.website_url, l.website_title, l.contact_email,
               l.quality_score, l.relevance_score, l.guest_post_likelihood, l.source,
               l.status, l.qualification, l.account_id, l.placed_at, l.qualified_at,
               l.created_at, l.updated_at
        FROM leads l JOIN campaigns c ON c.id = l.campaign_id
        WHERE l.workspace_id = :ws AND c.deleted_at IS NULL
          AND l.created_at >= :start AND l.created_at < :end
        ORDER BY l.created_at, l.id""",
    ExportType.ATTEMPTS: """
        SELECT m.id, m.message_id, m.campaign_id, m.lead_id, m.account_id, m.step,
               m.variant, m.subject, m.recipient, m.mailbox_provider, m.sent_at, m.state
        FROM messages m JOIN campaigns c ON c.id = m.campaign_id
        WHERE m.workspace_id = :ws AND c.deleted_at IS NULL
          AND ((m.sent_at >= :start AND m.sent_at < :end) OR (m.sent_at IS NULL AND
               m.message_id IN (SELECT message_id FROM email_events WHERE type = 'failed'
                                AND workspace_id = :ws
                                AND occurred_at >= :start AND occurred_at < :end)))
        ORDER BY m.sent_at NULLS LAST, m.id""",
    ExportType.REPLIES: """
        SELECT r.id, r.campaign_id, r.lead_id, r.message_id, r.received_at, r."from",
               r.subject, r.body, r.classification, r.classified_by
        FROM replies r JOIN campaigns c ON c.id = r.campaign_id
        WHERE r.workspace_id = :ws AND c.deleted_at IS NULL
          AND r.received_at >= :start AND r.received_at < :end
        ORDER BY r.received_at, r.id""",
    ExportType.EVENTS: f"""
        SELECT e.id, e.external_id, e.campaign_id, e.message_id, e.type, e.occurred_at,
               e.bounce_type, e.reason, e.url, e.user_agent, e.ip, e.ingested_at,
               e.http_method, v.verdict, v.reason
        FROM email_events e JOIN campaigns c ON c.id = e.campaign_id
        LEFT JOIN {NAMED_VERDICTS} v ON v.event_id = e.id
        WHERE e.workspace_id = :ws AND c.deleted_at IS NULL
          AND e.occurred_at >= :start AND e.occurred_at < :end
        ORDER BY e.id""",
}


@pytest.fixture(scope="module")
def seeded(db: Database) -> Seeded:
    return seed(db)


def expected_rows(db: Database, export_type: ExportType, seeded: Seeded) -> list[tuple[Any, ...]]:
    return rows(db, EXPECTED_SQL[export_type], ws=seeded.workspace_id, start=START, end=END)


def guarded(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") and value \
        else value


def csv_cell(kind: Kind, value: Any) -> str:
    if value is None:
        return ""
    if kind is Kind.TEXT:
        return guarded(value)
    if isinstance(value, datetime):
        return utc(value)
    return str(value)


def json_value(kind: Kind, value: Any) -> Any:
    return utc(value) if isinstance(value, datetime) else value


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def assert_csv_matches(data: bytes, export_type: ExportType, expected: list[tuple[Any, ...]]
                       ) -> None:
    columns = columns_of(export_type)
    parsed = parse_csv(data)
    assert parsed[0] == [column.name for column in columns]
    assert len(parsed) - 1 == len(expected)
    for cells, values in zip(parsed[1:], expected, strict=True):
        assert len(cells) == len(columns)
        for column, cell, value in zip(columns, cells, values, strict=True):
            if column.kind is Kind.NUMBER and value is not None:
                assert float(cell) == value, column.name
            else:
                assert cell == csv_cell(column.kind, value), column.name


@pytest.mark.parametrize("export_type", RAW_TYPES)
def test_csv_has_the_documented_columns_and_the_databases_values(
        db: Database, storage: LocalStorage, seeded: Seeded, export_type: ExportType) -> None:
    done = run_export(db, storage, seeded.workspace_id, params(export_type))
    expected = expected_rows(db, export_type, seeded)
    assert_csv_matches(done.data, export_type, expected)
    assert done.job.row_count == len(expected) == done.result["row_count"]
    assert done.job.progress["rows_written"] == done.job.progress["rows_total"] == len(expected)
    assert done.job.progress["percent"] == 100.0


def test_the_time_filter_is_half_open_and_scoped_to_live_campaigns_of_the_workspace(
        db: Database, storage: LocalStorage, seeded: Seeded) -> None:
    done = run_export(db, storage, seeded.workspace_id, params(ExportType.LEADS))
    parsed = parse_csv(done.data)[1:]
    # Campaign 1 holds one lead per hostile value, two of them just outside [START, END);
    # campaign 2 holds six, two outside; the deleted campaign and the neighbour hold none.
    assert len(parsed) == (len(HOSTILE) - 2) + (6 - 2)
    assert {row[1] for row in parsed} == set(seeded.campaigns)
    created = sorted(row[14] for row in parsed)
    assert created[0] == utc(START)
    assert utc(END) not in created

    only = run_export(db, storage, seeded.workspace_id,
                      params(ExportType.LEADS, campaign_ids=(seeded.campaigns[1],)))
    assert {row[1] for row in parse_csv(only.data)[1:]} == {seeded.campaigns[1]}
    gone = run_export(db, storage, seeded.workspace_id,
                      params(ExportType.LEADS, campaign_ids=(seeded.deleted_campaign,)))
    assert parse_csv(gone.data) == [[column.name for column in columns_of(ExportType.LEADS)]]


def test_a_failed_attempt_is_exported_in_the_window_of_its_failure(
        db: Database, storage: LocalStorage, seeded: Seeded) -> None:
    done = run_export(db, storage, seeded.workspace_id, params(ExportType.ATTEMPTS))
    failed = [row for row in parse_csv(done.data)[1:] if row[11] == "failed"]
    assert len(failed) == 2 and all(row[10] == "" for row in failed)


def test_events_stop_at_max_event_id(db: Database, storage: LocalStorage, seeded: Seeded
                                     ) -> None:
    ids = [row[0] for row in expected_rows(db, ExportType.EVENTS, seeded)]
    done = run_export(db, storage, seeded.workspace_id,
                      params(ExportType.EVENTS, max_event_id=ids[2]))
    assert [int(row[0]) for row in parse_csv(done.data)[1:]] == ids[:3]


def test_hostile_text_round_trips_and_only_dangerous_text_cells_are_prefixed(
        db: Database, storage: LocalStorage, seeded: Seeded) -> None:
    done = run_export(db, storage, seeded.workspace_id, params(ExportType.REPLIES))
    bodies = [row[7] for row in parse_csv(done.data)[1:]]
    for value in DANGEROUS:
        assert "'" + value in bodies, repr(value)
    in_window = set(HARMLESS) - {row[0] for row in rows(
        db, "SELECT body FROM replies WHERE workspace_id = :ws AND NOT (received_at >= :s "
            "AND received_at < :e)", ws=seeded.workspace_id, s=START, e=END)}
    for value in in_window:
        assert value in bodies, repr(value)
    assert not any(body.startswith(tuple(DANGEROUS)) for body in bodies)

    attempts = parse_csv(run_export(db, storage, seeded.workspace_id,
                                    params(ExportType.ATTEMPTS)).data)[1:]
    assert "-1" in {row[5] for row in attempts}  # a negative number is never prefixed
    leads = parse_csv(run_export(db, storage, seeded.workspace_id,
                                 params(ExportType.LEADS)).data)[1:]
    for row in leads:  # datetimes and numbers are left alone
        assert row[14].endswith("Z") and row[14][:1].isdigit()
        assert row[5] == "" or float(row[5]) >= 0


@pytest.mark.parametrize("export_type", RAW_TYPES)
def test_jsonl_has_one_object_per_row_with_the_documented_keys_in_order(
        db: Database, storage: LocalStorage, seeded: Seeded, export_type: ExportType) -> None:
    done = run_export(db, storage, seeded.workspace_id, params(export_type, ExportFormat.JSONL))
    columns = columns_of(export_type)
    expected = expected_rows(db, export_type, seeded)
    assert done.data.endswith(b"\n")
    lines = done.data.decode("utf-8").split("\n")[:-1]
    assert len(lines) == len(expected) == done.job.row_count
    for line, values in zip(lines, expected, strict=True):
        obj = json.loads(line)
        assert list(obj) == [column.name for column in columns]
        assert obj == {column.name: json_value(column.kind, value)
                       for column, value in zip(columns, values, strict=True)}
    assert done.result["content_type"] == "application/x-ndjson"
    assert done.result["file_name"].endswith(f"_{export_type.value}.jsonl")


@pytest.mark.parametrize("fmt", [ExportFormat.CSV, ExportFormat.JSONL])
def test_gzip_holds_exactly_the_uncompressed_bytes(
        db: Database, storage: LocalStorage, seeded: Seeded, fmt: ExportFormat) -> None:
    plain = run_export(db, storage, seeded.workspace_id, params(ExportType.EVENTS, fmt))
    packed = run_export(db, storage, seeded.workspace_id,
                        params(ExportType.EVENTS, fmt, compression=Compression.GZIP))
    assert packed.data[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed.data) == plain.data
    assert packed.result["file_name"].endswith(".gz")
    assert packed.result["content_type"] == "application/gzip"


def test_recorded_size_and_sha256_are_those_of_the_stored_bytes(
        db: Database, storage: LocalStorage, seeded: Seeded) -> None:
    done = run_export(db, storage, seeded.workspace_id,
                      params(ExportType.LEADS, compression=Compression.GZIP))
    job = done.job
    path = storage.local_path(job.file_key or "")
    assert path.read_bytes() == done.data
    assert job.file_size == len(done.data) == path.stat().st_size
    assert job.file_sha256 == hashlib.sha256(done.data).hexdigest()
    assert job.file_key == f"exports/{seeded.workspace_id}/{done.job_id}/{done.job_id}_leads.csv.gz"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


@pytest.mark.parametrize("export_type", RAW_TYPES)
def test_the_same_export_twice_writes_the_same_bytes(
        db: Database, storage: LocalStorage, seeded: Seeded, export_type: ExportType) -> None:
    for fmt in ExportFormat:
        first = run_export(db, storage, seeded.workspace_id,
                           params(export_type, fmt, compression=Compression.GZIP))
        second = run_export(db, storage, seeded.workspace_id,
                            params(export_type, fmt, compression=Compression.GZIP))
        assert first.data == second.data
        assert first.job.file_sha256 == second.job.file_sha256
