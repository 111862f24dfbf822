"""Exports people can open (SPEC §10): csv_excel, xlsx and parquet hold the csv export's rows
(read back with the csv module, openpyxl and pyarrow), ids stay text in xlsx, the BOM and
CRLF only in csv_excel, formula text stays text; datetimes in the export's time zone;
``columns``; the xlsx row limit before any byte; the request's validation and the
``parameters`` the status echoes."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from flask import Flask
from openpyxl.worksheet._writer import ALL_TEMP_FILES as sheet_temp_files

from campaign_analytics.db import Database
from campaign_analytics.exports import spreadsheets
from campaign_analytics.exports.job import EXPORT_FAILED, export
from campaign_analytics.exports.spec import (
    Column,
    ExportFormat,
    ExportParams,
    ExportType,
    Kind,
    columns_of,
)
from campaign_analytics.exports.storage import LocalStorage
from campaign_analytics.jobs.context import JobContext
from campaign_analytics.jobs.errors import JobCanceled, JobFailure
from campaign_analytics.workspaces import create_workspace
from cli.main import cli
from tests.conftest import Tenant
from tests.exports.conftest import (
    END,
    START,
    claim,
    execute,
    new_id,
    params,
    rows,
    run_export,
    submit_export,
)
from tests.exports.seed import Seeded, seed
from tests.jobs.helpers import load, set_job, wait_until

BOM = b"\xef\xbb\xbf"
NEW_FORMATS = [ExportFormat.CSV_EXCEL, ExportFormat.XLSX, ExportFormat.PARQUET]
ALL_TYPES = list(ExportType)
LONG_ID = "690000000000012345"


@pytest.fixture(scope="module")
def seeded(db: Database) -> Seeded:
    return seed(db)


def export_params(export_type: ExportType, fmt: ExportFormat, *,
                  columns: tuple[str, ...] | None = None, **options: Any) -> ExportParams:
    if export_type is ExportType.CAMPAIGN_PERFORMANCE:
        options.setdefault("include_time_series", True)  # a date column too
    return replace(params(export_type, fmt, **options), columns=columns)


# --- reading each format back into plain values --------------------------------------------

def guarded(text: str | None) -> str:
    """What the csv export writes for a text value (SPEC §8's formula rule)."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") else text


@dataclass(frozen=True)
class Ms:
    """Equal to any datetime within a millisecond of ``moment``: Excel keeps datetimes as a
    day number (openpyxl reads them back rounded to the millisecond, either side of a half)."""

    moment: datetime

    def __eq__(self, other: object) -> bool:
        return isinstance(other, datetime) and abs(other - self.moment) <= timedelta(
            milliseconds=1)

    __hash__ = None  # type: ignore[assignment]


def from_csv_cell(column: Column, cell: str) -> Any:
    if column.kind is Kind.TEXT:
        return cell
    if cell == "":
        return None
    return {Kind.INTEGER: int, Kind.NUMBER: float, Kind.DATETIME: datetime.fromisoformat,
            Kind.DATE: date.fromisoformat, Kind.BOOLEAN: lambda text: text == "true",
            }[column.kind](cell)


def read_csv(data: bytes, columns: tuple[Column, ...], encoding: str = "utf-8",
             ) -> tuple[list[str], list[list[Any]]]:
    header, *body = csv.reader(io.StringIO(data.decode(encoding), newline=""))
    return header, [[from_csv_cell(column, cell) for column, cell in zip(columns, row,
                                                                          strict=True)]
                    for row in body]


def read_xlsx(data: bytes, columns: tuple[Column, ...], zone: ZoneInfo,
              ) -> tuple[list[str], list[list[Any]]]:
    """Values as the csv export spells them (text guarded, ids back to their kind), local
    naive datetimes back to the export's zone (a DST-free zone here: see the tz test)."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header, *body = sheet.iter_rows(values_only=True)

    def value(column: Column, cell: Any) -> Any:
        if column.kind is Kind.TEXT:
            return guarded(cell)
        if cell is None:
            return None
        if column.identifier:
            assert isinstance(cell, str), (column.name, cell)  # ids stay text
            return int(cell)
        if column.kind is Kind.DATETIME:
            return cell.replace(tzinfo=zone)
        return cell.date() if column.kind is Kind.DATE else cell

    return list(header), [[value(column, cell) for column, cell in zip(columns, row,
                                                                        strict=True)]
                          for row in body]


def read_parquet(data: bytes, columns: tuple[Column, ...]) -> tuple[list[str], list[list[Any]]]:
    table = pq.read_table(io.BytesIO(data))
    body = [[guarded(value) if column.kind is Kind.TEXT else value
             for column, value in zip(columns, row.values(), strict=True)]
            for row in table.to_pylist()]
    return table.column_names, body


def excel_values(rows_: list[list[Any]], columns: tuple[Column, ...]) -> list[list[Any]]:
    """csv values as xlsx holds them: datetimes to the millisecond (text is exact, CR
    included: lxml writes it as a character reference)."""
    return [[Ms(value) if column.kind is Kind.DATETIME and value is not None else value
             for column, value in zip(columns, row, strict=True)] for row in rows_]


# --- every type in every new format holds the csv export's rows -----------------------------

@pytest.mark.parametrize("fmt", NEW_FORMATS)
@pytest.mark.parametrize("export_type", ALL_TYPES)
def test_every_format_holds_the_csv_exports_rows(
        db: Database, storage: LocalStorage, seeded: Seeded, export_type: ExportType,
        fmt: ExportFormat) -> None:
    columns = export_params(export_type, fmt).output_columns()
    baseline = run_export(db, storage, seeded.workspace_id,
                          export_params(export_type, ExportFormat.CSV))
    expected_header, expected = read_csv(baseline.data, columns)
    assert len(expected) == baseline.job.row_count and expected

    done = run_export(db, storage, seeded.workspace_id, export_params(export_type, fmt))
    assert done.job.row_count == len(expected)
    if fmt is ExportFormat.CSV_EXCEL:
        assert done.data.startswith(BOM)
        header, got = read_csv(done.data, columns, encoding="utf-8-sig")
        assert done.result["file_name"].endswith(".csv")
        assert done.result["content_type"] == "text/csv; charset=utf-8"
    elif fmt is ExportFormat.XLSX:
        header, got = read_xlsx(done.data, columns, ZoneInfo("UTC"))
        expected = excel_values(expected, columns)
        assert done.result["file_name"].endswith(".xlsx")
        assert done.result["content_type"] == \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        header, got = read_parquet(done.data, columns)
        assert done.result["file_name"].endswith(".parquet")
        assert done.result["content_type"] == "application/vnd.apache.parquet"
    assert header == expected_header == [column.name for column in columns]
    assert got == expected


def records(data: bytes) -> list[bytes]:
    """A CSV file's records, each with its end, split at the newlines outside quotes."""
    found, start, quoted = [], 0, False
    for index, byte in enumerate(data):
        if byte == ord('"'):
            quoted = not quoted
        elif byte == ord("\n") and not quoted:
            found.append(data[start:index + 1])
            start = index + 1
    assert start == len(data), "the file ends with a record end"
    return found


@pytest.mark.parametrize("export_type", [ExportType.REPLIES, ExportType.CAMPAIGN_PERFORMANCE])
def test_csv_excel_is_the_csv_with_a_bom_and_crlf_record_ends_only(
        db: Database, storage: LocalStorage, seeded: Seeded, export_type: ExportType) -> None:
    plain = run_export(db, storage, seeded.workspace_id,
                       export_params(export_type, ExportFormat.CSV)).data
    excel = run_export(db, storage, seeded.workspace_id,
                       export_params(export_type, ExportFormat.CSV_EXCEL)).data
    jsonl = run_export(db, storage, seeded.workspace_id,
                       export_params(export_type, ExportFormat.JSONL)).data
    assert excel.startswith(BOM) and not plain.startswith(BOM) and not jsonl.startswith(BOM)
    excel_records = records(excel[len(BOM):])
    assert all(record.endswith(b"\r\n") for record in excel_records)
    # The same records with LF ends are the csv file, byte for byte: newlines inside
    # quoted cells (the seed has "multi\nline\r\nvalue") are left as they were.
    assert b"".join(record[:-2] + b"\n" for record in excel_records) == plain
    if export_type is ExportType.REPLIES:
        assert b'"multi\nline\r\nvalue"' in excel


# --- ids, formulas and error values in xlsx -------------------------------------------------

@pytest.fixture(scope="module")
def long_ids(db: Database) -> str:
    """A workspace whose ids look like long numbers (and one like an error value)."""
    with db.sessions() as session:
        workspace, _ = create_workspace(session, "Numbers", "UTC")
    campaign, account, lead = new_id("cmp"), new_id("acct"), new_id("lead")
    execute(db, "INSERT INTO campaigns (id, workspace_id, name) VALUES (:id, :ws, '=1+1')",
            id=campaign, ws=workspace.id)
    execute(db, "INSERT INTO sending_accounts (id, workspace_id, email, domain) "
                "VALUES (:id, :ws, :email, 'sender.io')",
            id=account, ws=workspace.id, email=f"{account}@sender.io")
    execute(db, "INSERT INTO leads (id, workspace_id, campaign_id, website_url, status, "
                "qualification, account_id, created_at) VALUES (:id, :ws, :cmp, "
                "'https://example.com', 'contacted', 'pending', :acct, :at)",
            id=lead, ws=workspace.id, cmp=campaign, acct=account, at=START)
    execute(db, "INSERT INTO messages (id, workspace_id, campaign_id, message_id, lead_id, "
                "account_id, step, subject, recipient, sent_at, state) VALUES (:id, :ws, :cmp, "
                ":mid, :lead, :acct, 0, '#N/A', 'r@gmail.com', :at, 'sent')",
            id=new_id("msg"), ws=workspace.id, cmp=campaign, mid=LONG_ID, lead=lead,
            acct=account, at=START)
    execute(db, "INSERT INTO email_events (workspace_id, campaign_id, message_id, external_id, "
                "type, occurred_at, reason) VALUES (:ws, :cmp, :mid, '000123', 'opened', :at, "
                "'=1+1')", ws=workspace.id, cmp=campaign, mid=LONG_ID, at=START)
    return workspace.id


def xlsx_cells(data: bytes) -> list[dict[str, tuple[Any, str]]]:
    """Each data row as {column: (value, openpyxl data type)}."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header, *body = sheet.iter_rows()
    return [{str(name.value): (cell.value, cell.data_type) for name, cell in zip(header, row,
                                                                                  strict=True)}
            for row in body]


def test_ids_formulas_and_error_values_stay_text_in_xlsx(
        db: Database, storage: LocalStorage, long_ids: str) -> None:
    (event,) = xlsx_cells(run_export(db, storage, long_ids,
                                     params(ExportType.EVENTS, ExportFormat.XLSX)).data)
    event_id = rows(db, "SELECT id FROM email_events WHERE workspace_id = :ws", ws=long_ids)
    assert event["message_id"] == (LONG_ID, "s")  # not 6.9E+17
    assert event["external_id"] == ("000123", "s")  # leading zeros kept
    assert event["event_id"] == (str(event_id[0][0]), "s")
    assert event["reason"] == ("=1+1", "s")  # the text, never a formula, and no ' needed
    assert event["occurred_at"] == (START.replace(tzinfo=None), "d")  # a real datetime cell

    (attempt,) = xlsx_cells(run_export(db, storage, long_ids,
                                       params(ExportType.ATTEMPTS, ExportFormat.XLSX)).data)
    assert attempt["message_id"] == (LONG_ID, "s")
    assert attempt["subject"] == ("#N/A", "s")  # not Excel's error value
    assert attempt["step"] == (0, "n")

    (campaign,) = xlsx_cells(run_export(
        db, storage, long_ids, params(ExportType.CAMPAIGN_PERFORMANCE, ExportFormat.XLSX)).data)
    assert campaign["campaign_name"] == ("=1+1", "s")
    assert campaign["emails_sent"] == (0, "n")

    for fmt in (ExportFormat.CSV, ExportFormat.CSV_EXCEL):
        data = run_export(db, storage, long_ids, params(ExportType.EVENTS, fmt)).data
        assert b",'=1+1," in data and LONG_ID.encode() in data


# --- time zones -----------------------------------------------------------------------------

def db_instants(db: Database, workspace_id: str) -> list[datetime]:
    return [row[0] for row in rows(
        db, "SELECT e.occurred_at FROM email_events e JOIN campaigns c ON c.id = e.campaign_id "
            "WHERE e.workspace_id = :ws AND c.deleted_at IS NULL AND e.occurred_at >= :start "
            "AND e.occurred_at < :end ORDER BY e.id", ws=workspace_id, start=START, end=END)]


@pytest.mark.parametrize("timezone", ["America/New_York", "Asia/Kolkata"])
def test_datetimes_carry_the_export_timezones_offset_in_every_format(
        db: Database, storage: LocalStorage, seeded: Seeded, timezone: str) -> None:
    zone = ZoneInfo(timezone)
    instants = db_instants(db, seeded.workspace_id)
    # Python's zoneinfo, not the code under test, spells the expected values.
    spelled = [moment.astimezone(zone).isoformat(timespec="microseconds")
               for moment in instants]
    offsets = {text[-6:] for text in spelled}
    # The seed's first day crosses New York's DST end (2026-11-01 06:00 UTC).
    assert offsets == ({"-04:00", "-05:00"} if timezone == "America/New_York" else {"+05:30"})
    # The same rows in every format, whatever the zone: the window is [START, END) in UTC.
    options = {"columns": ("event_id", "occurred_at"), "timezone": timezone}

    for fmt in (ExportFormat.CSV, ExportFormat.CSV_EXCEL):
        data = run_export(db, storage, seeded.workspace_id,
                          export_params(ExportType.EVENTS, fmt, **options)).data
        body = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))[1:]
        assert [row[1] for row in body] == spelled
    jsonl = run_export(db, storage, seeded.workspace_id,
                       export_params(ExportType.EVENTS, ExportFormat.JSONL, **options)).data
    assert [json.loads(line)["occurred_at"] for line in jsonl.splitlines()] == spelled

    table = pq.read_table(io.BytesIO(run_export(
        db, storage, seeded.workspace_id,
        export_params(ExportType.EVENTS, ExportFormat.PARQUET, **options)).data))
    assert table.schema.field("occurred_at").type == pa.timestamp("us", tz=timezone)
    # The same instants (compared as such: Python never equates an ambiguous local time
    # of one zone with a time of another).
    assert [moment.timestamp() for moment in table.column("occurred_at").to_pylist()] == \
        [moment.timestamp() for moment in instants]

    sheet = openpyxl.load_workbook(io.BytesIO(run_export(
        db, storage, seeded.workspace_id,
        export_params(ExportType.EVENTS, ExportFormat.XLSX, **options)).data)).active
    local = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert local == [Ms(moment.astimezone(zone).replace(tzinfo=None)) for moment in instants]


# --- columns --------------------------------------------------------------------------------

@pytest.mark.parametrize("export_type, names", [
    (ExportType.EVENTS, ("occurred_at", "type", "event_id", "message_id")),
    (ExportType.CAMPAIGN_PERFORMANCE, ("date", "open_rate", "campaign_id")),
])
def test_columns_are_a_subset_in_the_order_given_in_every_format(
        db: Database, storage: LocalStorage, seeded: Seeded, export_type: ExportType,
        names: tuple[str, ...]) -> None:
    full = export_params(export_type, ExportFormat.CSV)
    header, everything = read_csv(run_export(db, storage, seeded.workspace_id, full).data,
                                  full.output_columns())
    picked = [[row[header.index(name)] for name in names] for row in everything]
    columns = export_params(export_type, ExportFormat.CSV, columns=names).output_columns()
    assert [column.name for column in columns] == list(names)
    for fmt in ExportFormat:
        data = run_export(db, storage, seeded.workspace_id,
                          export_params(export_type, fmt, columns=names)).data
        if fmt is ExportFormat.JSONL:
            objects = [json.loads(line) for line in data.splitlines()]
            assert all(list(item) == list(names) for item in objects)
            got = [[from_csv_cell(column, item[column.name]) if column.kind in
                    (Kind.DATETIME, Kind.DATE) else item[column.name] for column in columns]
                   for item in objects]
            expected = picked
        elif fmt is ExportFormat.XLSX:
            found, got = read_xlsx(data, columns, ZoneInfo("UTC"))
            assert found == list(names)
            expected = excel_values(picked, columns)
        elif fmt is ExportFormat.PARQUET:
            found, got = read_parquet(data, columns)
            assert found == list(names)
            expected = picked
        else:
            found, got = read_csv(data, columns, encoding="utf-8-sig")
            assert found == list(names)
            expected = picked
        assert got == expected, fmt


# --- the xlsx row limit ---------------------------------------------------------------------

def test_more_rows_than_a_sheet_holds_fail_before_anything_is_written(
        db: Database, storage: LocalStorage, seeded: Seeded,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_ROWS", 10)  # 9 data rows
    job_id = submit_export(db, seeded.workspace_id, params(ExportType.EVENTS, ExportFormat.XLSX))
    ctx = claim(db, job_id)
    with pytest.raises(JobFailure) as failure:
        export(ctx, storage)
    total = len(db_instants(db, seeded.workspace_id))
    assert total > 9
    assert failure.value.code == EXPORT_FAILED and not failure.value.recoverable
    assert f"{total:,} rows" in failure.value.message and "10 rows" in failure.value.message
    assert "csv" in failure.value.message
    assert load(db, job_id).progress.get("rows_written") is None  # failed before any row
    assert [path for path in Path(storage.root).rglob("*") if path.is_file()] == []
    # A sheet's worth still fits: the limit counts the header row.
    monkeypatch.setattr(spreadsheets, "SHEET_MAX_ROWS", total + 1)
    done = run_export(db, storage, seeded.workspace_id,
                      params(ExportType.EVENTS, ExportFormat.XLSX))
    assert done.job.row_count == total


class CancelOnFirstRows(JobContext):
    """Cancels its own job (as DELETE does) when the first rows are reported."""

    def report_progress(self, *, force: bool = False, **progress: Any) -> None:
        if progress.get("rows_written"):
            set_job(self.db, self.job_id, status="canceled")
            force = True
        super().report_progress(force=force, **progress)


@pytest.mark.parametrize("fmt", [ExportFormat.XLSX, ExportFormat.PARQUET])
def test_a_typed_export_canceled_while_writing_leaves_no_file_and_no_temp_file(
        db: Database, storage: LocalStorage, seeded: Seeded, fmt: ExportFormat) -> None:
    job_id = submit_export(db, seeded.workspace_id, params(ExportType.EVENTS, fmt))
    with pytest.raises(JobCanceled):
        export(claim(db, job_id, CancelOnFirstRows), storage)
    assert load(db, job_id).file_key is None
    assert [path for path in Path(storage.root).rglob("*") if path.is_file()] == []
    assert [path for path in sheet_temp_files if Path(path).exists()] == []


# --- the request: validation and the parameters the status echoes ---------------------------

EXPORT = "/analytics/export"


@pytest.mark.parametrize("body, field", [
    ({"export_type": "events", "columns": ["type", "nope"]}, "columns"),
    ({"export_type": "events", "columns": ["type", "type"]}, "columns"),
    ({"export_type": "leads", "columns": ["date"]}, "columns"),
    ({"export_type": "events", "columns": []}, "columns"),
    ({"export_type": "events", "format": "xlsx", "compression": "gzip"}, "compression"),
    ({"export_type": "events", "format": "parquet", "compression": "gzip"}, "compression"),
    ({"export_type": "events", "format": "xls"}, "format"),
])
def test_bad_formats_and_columns_are_validation_errors(
        tenant: Tenant, body: dict[str, Any], field: str) -> None:
    response = tenant.post(EXPORT, json=body)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert list(error["details"]) == [field]
    if field == "columns" and body["columns"]:  # the message lists every valid column
        valid = ", ".join(column.name for column in columns_of(ExportType(body["export_type"])))
        assert valid in error["details"]["columns"][0]


def test_gzip_stays_allowed_for_the_text_formats(tenant: Tenant) -> None:
    for fmt in ("csv", "csv_excel", "jsonl"):
        response = tenant.post(EXPORT, json={"export_type": "events", "format": fmt,
                                             "compression": "gzip"})
        assert response.status_code == 202, response.get_json()


def test_the_status_echoes_the_exact_parameters(
        make_tenant: Any, db: Database) -> None:
    tenant = make_tenant(timezone="America/New_York")
    campaign = tenant.post("/campaigns", json={"name": "Echo"}).get_json()["data"]["id"]
    response = tenant.post(EXPORT, json={
        "export_type": "campaign_performance", "format": "parquet", "time_range": "custom",
        "startDate": "2026-10-30", "endDate": "2026-11-02", "campaign_ids": [campaign],
        "include_time_series": True, "columns": ["date", "campaign_id", "open_rate"]})
    assert response.status_code == 202, response.get_json()
    export_id = response.get_json()["data"]["export_id"]
    shown = tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert shown["parameters"] == {
        "export_type": "campaign_performance", "format": "parquet", "compression": "none",
        "timezone": "America/New_York",  # the workspace's, by default
        "columns": ["date", "campaign_id", "open_rate"],
        "start": "2026-10-30T04:00:00Z", "end": "2026-11-03T05:00:00Z", "period": "custom",
        "time_range": {"start": "2026-10-30T00:00:00-04:00",
                       "end": "2026-11-03T00:00:00-05:00", "period": "custom",
                       "timezone": "America/New_York"},
        "campaign_ids": [campaign], "include_time_series": True,
    }
    assert shown["schedule_id"] is None
    assert shown["file_name"] == f"{export_id}_campaign_performance.parquet"
    assert shown["content_type"] == "application/vnd.apache.parquet"
    listed = tenant.get("/analytics/exports").get_json()["data"]
    assert listed[0]["parameters"] == shown["parameters"]

    # A row stored before `columns` existed loads with every column; a scheduled run names
    # its schedule.
    stored = dict(load(db, export_id).params)
    del stored["columns"]
    set_job(db, export_id, params={**stored, "schedule": {"id": "sch_x1", "slot": "s"}})
    older = tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert older["parameters"]["columns"][:4] == [
        "campaign_id", "campaign_name", "campaign_status", "date"]
    assert older["schedule_id"] == "sch_x1"


def test_the_cli_takes_every_format_and_refuses_bad_columns() -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["export", "--help"])
    assert "[csv|csv_excel|jsonl|xlsx|parquet]" in shown.output
    assert "--timezone" in shown.output and "--columns" in shown.output
    bad = runner.invoke(cli, ["export", "--workspace", "ws_x", "--type", "events",
                              "--format", "xlsx", "--columns", "type,nope"])
    assert bad.exit_code == 2, bad.output
    assert "columns" in bad.output and "unknown column(s) nope" in bad.output
    assert "event_id, external_id" in bad.output


# --- one round trip through the API and a real worker ---------------------------------------

@pytest.mark.slow
def test_an_xlsx_export_through_the_api_and_a_worker_downloads_and_opens(
        export_app: Flask, db: Database, worker_env: dict[str, str], celery_processes: Any,
        world: Any) -> None:
    tenant = Tenant(export_app.test_client(), world.tenant.id, world.tenant.key)
    lead = world.lead()
    world.post([world.sent("m-1", lead), world.event("opened", "m-1", 5)])
    celery_processes("worker", worker_env)
    response = tenant.post(EXPORT, json={"export_type": "events", "format": "xlsx",
                                         "timezone": "Asia/Kolkata",
                                         "columns": ["type", "occurred_at", "message_id"]})
    assert response.status_code == 202, response.get_json()
    export_id = response.get_json()["data"]["export_id"]
    wait_until(lambda: load(db, export_id).status in ("completed", "failed"), 60,
               "the export did not finish")
    status = tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert status["status"] == "completed", status["error"]
    download = export_app.test_client().get(status["download_url"].removeprefix(
        "http://localhost"))
    assert download.status_code == 200
    assert download.headers["Content-Type"] == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(download.data)).active
    got = list(sheet.iter_rows(values_only=True))
    assert got[0] == ("type", "occurred_at", "message_id")
    assert [row[0] for row in got[1:]] == ["sent", "opened"]
    assert all(row[2] == "m-1" for row in got[1:])
    occurred = [row[0] for row in rows(
        db, "SELECT occurred_at FROM email_events WHERE workspace_id = :ws ORDER BY id",
        ws=world.tenant.id)]
    kolkata = ZoneInfo("Asia/Kolkata")
    assert [row[1] for row in got[1:]] == [
        Ms(moment.astimezone(kolkata).replace(tzinfo=None)) for moment in occurred]
    assert status["parameters"]["timezone"] == "Asia/Kolkata"
