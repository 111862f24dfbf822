"""The export job's life: recorded on its row, re-run after a crash onto the same key,
canceled without leaving anything, failed at once with EXPORT_FAILED when it cannot work,
written to S3 and downloaded by a presigned URL."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from campaign_analytics.db import Database
from campaign_analytics.exports.job import EXPORT_FAILED, export
from campaign_analytics.exports.spec import Compression, ExportFormat, ExportType
from campaign_analytics.exports.storage import LocalStorage, S3Storage
from campaign_analytics.jobs import runner, store
from campaign_analytics.jobs.context import JobContext
from campaign_analytics.jobs.errors import JobCanceled, JobFailure
from campaign_analytics.settings import Settings
from campaign_analytics.workspaces import create_workspace
from tests.exports.conftest import (
    END,
    START,
    MotoServer,
    claim,
    execute,
    new_id,
    params,
    run_export,
    submit_export,
)
from tests.jobs.helpers import load, set_job

EVENT_ROWS = 6000  # well over one 256 KiB block of CSV


@pytest.fixture(scope="module")
def busy_workspace(db: Database) -> str:
    """A workspace with enough events that a file is written in several blocks."""
    with db.sessions() as session:
        workspace, _ = create_workspace(session, "Busy", "UTC")
    campaign = new_id("cmp")
    execute(db, "INSERT INTO campaigns (id, workspace_id, name) VALUES (:id, :ws, 'Busy')",
            id=campaign, ws=workspace.id)
    execute(db, """
        INSERT INTO email_events (workspace_id, campaign_id, message_id, external_id, type,
                                  occurred_at, user_agent)
        SELECT :ws, :cmp, 'm-' || n, :prefix || n, 'opened',
               :start + n * interval '1 second', repeat('Mozilla/5.0 ', 10)
        FROM generate_series(1, :rows) n""",
            ws=workspace.id, cmp=campaign, prefix=new_id("ext"), start=START, rows=EVENT_ROWS)
    return workspace.id


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_a_job_canceled_before_it_writes_leaves_nothing(
        db: Database, storage: LocalStorage, busy_workspace: str) -> None:
    job_id = submit_export(db, busy_workspace, params(ExportType.EVENTS))
    ctx = claim(db, job_id)
    set_job(db, job_id, status="canceled")
    with pytest.raises(JobCanceled):
        export(ctx, storage)
    assert files_under(storage.root) == []
    assert load(db, job_id).file_key is None


class CancelMidway(JobContext):
    """Cancels its own job (as DELETE /analytics/exports/{id} does) once rows flow."""

    canceled_at: int | None = None

    def report_progress(self, *, force: bool = False, **progress: Any) -> None:
        if progress.get("rows_written") and self.canceled_at is None:
            self.canceled_at = progress["rows_written"]
            set_job(self.db, self.job_id, status="canceled")
            force = True
        super().report_progress(force=force, **progress)


@pytest.mark.parametrize("compression", list(Compression))
def test_a_job_canceled_while_writing_stops_and_leaves_nothing(
        db: Database, storage: LocalStorage, busy_workspace: str,
        compression: Compression) -> None:
    job_id = submit_export(db, busy_workspace,
                           params(ExportType.EVENTS, compression=compression))
    ctx = claim(db, job_id, CancelMidway)
    with pytest.raises(JobCanceled):
        export(ctx, storage)
    job = load(db, job_id)
    assert job.status == "canceled" and job.file_key is None
    assert ctx.canceled_at is not None and 0 < ctx.canceled_at < EVENT_ROWS
    assert files_under(storage.root) == []


def test_a_rerun_after_a_crash_overwrites_the_same_key_with_the_same_bytes(
        db: Database, storage: LocalStorage, busy_workspace: str) -> None:
    job_id = submit_export(db, busy_workspace,
                           params(ExportType.EVENTS, compression=Compression.GZIP))
    first = export(claim(db, job_id), storage)  # ... and the worker dies before completing
    set_job(db, job_id, lease_expires_at=load(db, job_id).started_at - timedelta(minutes=1))
    ctx = claim(db, job_id)
    assert ctx.attempt == 2
    second = export(ctx, storage)
    with db.sessions() as session:
        assert store.complete(session, job_id, ctx.attempt, second)
    assert second == first
    job = load(db, job_id)
    data = storage.local_path(second["file_key"]).read_bytes()
    assert (job.status, job.row_count, job.file_size) == ("completed", EVENT_ROWS, len(data))
    assert job.file_sha256 == hashlib.sha256(data).hexdigest()
    assert len(files_under(storage.root)) == 1


def test_a_superseded_attempt_records_nothing_and_keeps_the_new_attempts_file(
        db: Database, storage: LocalStorage, busy_workspace: str) -> None:
    job_id = submit_export(db, busy_workspace, params(ExportType.EVENTS))
    stale = claim(db, job_id)
    set_job(db, job_id, lease_expires_at=load(db, job_id).started_at - timedelta(minutes=1))
    current = claim(db, job_id)
    result = export(current, storage)
    with pytest.raises(JobCanceled):
        export(stale, storage)
    assert storage.exists(result["file_key"])


def test_bad_params_fail_at_once_with_export_failed(
        db: Database, settings: Settings, busy_workspace: str) -> None:
    job_id = submit_export(db, busy_workspace, params(ExportType.LEADS, start=END, end=START))
    assert runner.run(db, settings, job_id, worker="test").status == "failed"
    job = load(db, job_id)
    assert (job.status, job.attempts, job.error_code) == ("failed", 1, EXPORT_FAILED)
    assert "start must be before end" in (job.error_message or "")

    broken = params(ExportType.LEADS).to_params() | {"export_type": "everything"}
    set_job(db, job_id, status="queued", params=broken, attempts=0)
    assert runner.run(db, settings, job_id, worker="test").status == "failed"
    assert load(db, job_id).error_code == EXPORT_FAILED


def test_storage_that_refuses_the_file_fails_the_export_for_good(
        db: Database, tmp_path: Path, busy_workspace: str) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("in the way")
    job_id = submit_export(db, busy_workspace, params(ExportType.LEADS))
    with pytest.raises(JobFailure) as failure:
        export(claim(db, job_id), LocalStorage(not_a_directory))
    assert failure.value.code == EXPORT_FAILED and not failure.value.recoverable
    assert "STORAGE_URL" in failure.value.message


def test_an_export_to_s3_downloads_by_presigned_url_with_the_recorded_sha256(
        db: Database, busy_workspace: str, moto_server: MotoServer, aws_env: None) -> None:
    bucket = new_id("exports").replace("_", "-")
    boto3.client("s3", endpoint_url=moto_server.endpoint).create_bucket(Bucket=bucket)
    storage = S3Storage(bucket, "prod", endpoint_url=moto_server.endpoint)
    export_params = params(ExportType.EVENTS, ExportFormat.JSONL, compression=Compression.GZIP)
    done = run_export(db, storage, busy_workspace, export_params)
    url = storage.presigned_url(done.job.file_key or "", 300, done.result["file_name"],
                                done.result["content_type"])
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == done.job.file_sha256
    assert len(response.content) == done.job.file_size
    assert response.headers["Content-Type"] == "application/gzip"
    assert done.result["file_name"] in response.headers["Content-Disposition"]
    assert done.job.row_count == EVENT_ROWS
