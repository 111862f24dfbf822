"""``campaign-analytics export``: request an export, follow it with a progress bar, download it.

The request goes through the same domain function as ``POST /analytics/export``
(``exports.requests.submit_export``): same validation, same per-workspace cap, same job.
The file is then read from export storage directly (STORAGE_URL): copied from the local
directory, or fetched from S3 through a presigned URL. Its sha256 is checked against the
one the job recorded before the command reports success.
"""

from __future__ import annotations

import hashlib
import shutil
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

import click
from pydantic import ValidationError
from tqdm import tqdm

from campaign_analytics.analytics.windows import DEFAULT_PERIOD
from campaign_analytics.db import Database
from campaign_analytics.exports.requests import ExportRequest, get_export, submit_export
from campaign_analytics.exports.spec import Compression, ExportFormat, ExportParams, ExportType
from campaign_analytics.exports.storage import storage_from_settings
from campaign_analytics.models import Job
from campaign_analytics.models.vocabulary import JobStatus
from campaign_analytics.settings import get_settings

from .broker import command_publisher
from .database import command_database
from .errors import CommandFailed, UsageProblem

POLL_SECONDS = 0.5
CHUNK_BYTES = 1024 * 1024
FINISHED = {JobStatus.COMPLETED.value, JobStatus.FAILED.value, JobStatus.CANCELED.value,
            JobStatus.EXPIRED.value}


def _choice(values: type[Any]) -> click.Choice:
    return click.Choice([value.value for value in values])


@click.command()
@click.option("--workspace", "workspace_id", required=True, help="Workspace id (ws_...).")
@click.option("--type", "export_type", required=True, type=_choice(ExportType),
              help="What to export: one fixed column list per type.")
@click.option("--campaign", "campaign_ids", multiple=True,
              help="Only this campaign (repeatable).  [default: every campaign]")
@click.option("--format", "file_format", type=_choice(ExportFormat), default="csv",
              show_default=True, help="csv_excel: BOM and CRLF for Excel; xlsx: one sheet "
                                      "(at most 1,048,575 rows); parquet: typed columns.")
@click.option("--time-range", default=None,
              help=f"7d, 14d, 30d, 90d, or custom with --start-date and --end-date.  "
                   f"[default: {DEFAULT_PERIOD}, or custom with the dates]")
@click.option("--start-date", default=None, help="With --time-range custom: YYYY-MM-DD.")
@click.option("--end-date", default=None, help="With --time-range custom: YYYY-MM-DD "
                                               "(included).")
@click.option("--timezone", default=None,
              help="IANA zone of local days and of the file's datetimes.  "
                   "[default: the workspace's]")
@click.option("--columns", default=None,
              help="Only these columns, in this order: a,b,c.  [default: every column]")
@click.option("--include-time-series", is_flag=True,
              help="campaign_performance: one row per campaign per local day.")
@click.option("--compression", type=_choice(Compression), default="none", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the file.  [default: the export's file name]")
@click.option("--timeout", type=click.FloatRange(min=0), default=None,
              help="Stop waiting after this many seconds (exit 1; the export goes on).")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs, scripts).")
def export(workspace_id: str, export_type: str, campaign_ids: tuple[str, ...],
           file_format: str, time_range: str | None, start_date: str | None, end_date: str | None,
           timezone: str | None, columns: str | None, include_time_series: bool,
           compression: str,
           out: Path | None, timeout: float | None, no_progress: bool) -> None:
    """Export a workspace's data to a file, like POST /analytics/export, and download it.

    Waits while the export is queued and running, then writes it to --out and prints its
    path, rows, size and sha256. The database is DATABASE_URL, else the running dev
    stack's; a worker must be running (`campaign-analytics up`).
    """
    settings = get_settings()
    try:
        request = ExportRequest.model_validate({
            "export_type": export_type, "format": file_format,
            "time_range": time_range or ("custom" if start_date or end_date
                                         else DEFAULT_PERIOD),
            "startDate": start_date, "endDate": end_date, "timezone": timezone,
            "campaign_ids": list(campaign_ids) or None,
            "include_time_series": include_time_series, "compression": compression,
            "columns": None if columns is None else [name.strip() for name in columns.split(",")],
        })
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, error['loc'])) or 'request'}: {error['msg']}"
                             for error in exc.errors())
        raise UsageProblem(problems) from exc
    with command_database() as db:
        with db.sessions() as session, command_publisher() as publisher:
            job = submit_export(session, publisher, settings, workspace_id, request)
            export_id = job.id
        click.echo(f"export {export_id} {job.status}: {export_type}, workspace {workspace_id}")
        job = _wait(db, workspace_id, export_id, timeout, show=not no_progress)
    if job.status != JobStatus.COMPLETED.value:
        reason = f"{job.error_code}: {job.error_message}" if job.error_code else job.status
        raise CommandFailed(f"export {export_id} {job.status}: {reason}")
    params = ExportParams.from_params(job.params)
    target = out or Path(params.file_name(export_id))
    _download(job, params, target)
    click.echo(f"export {export_id} completed: {job.row_count} rows, {job.file_size} bytes, "
               f"sha256 {job.file_sha256} -> {target}")


def _wait(db: Database, workspace_id: str, export_id: str, timeout: float | None,
          show: bool) -> Job:
    """Poll the export's row, drawing its progress, until it is finished."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with tqdm(total=None, unit="rows", desc=export_id, disable=not show, leave=False) as bar:
        while True:
            with db.sessions() as session:
                job = get_export(session, workspace_id, export_id)
                session.expunge(job)
            progress = job.progress or {}
            if progress.get("rows_total") is not None and bar.total != progress["rows_total"]:
                bar.total = int(progress["rows_total"])
                bar.refresh()
            written = int(progress.get("rows_written") or 0)
            if written > bar.n:
                bar.update(written - bar.n)
            if job.status in FINISHED:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise CommandFailed(f"export {export_id} still {job.status} after {timeout:g} s "
                                    "(it goes on; follow it with GET /analytics/exports/"
                                    f"{export_id})")
            time.sleep(POLL_SECONDS)


def _download(job: Job, params: ExportParams, target: Path) -> None:
    """Local storage: copy the file; S3: fetch its presigned URL. The sha256 must match."""
    settings = get_settings()
    storage = storage_from_settings(settings)
    key = str(job.file_key)
    presign = getattr(storage, "presigned_url", None)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    digest = hashlib.sha256()
    try:
        source: IO[bytes]
        if presign is not None:
            url = presign(key, settings.download_url_ttl_seconds, params.file_name(job.id),
                          params.content_type())
            source = urllib.request.urlopen(url, timeout=60)
        else:
            source = storage.open(key)
        with source, partial.open("wb") as sink:
            while chunk := source.read(CHUNK_BYTES):
                digest.update(chunk)
                sink.write(chunk)
    except FileNotFoundError as exc:
        partial.unlink(missing_ok=True)
        raise CommandFailed(f"the file of export {job.id} is missing from storage "
                            f"({settings.storage_url or settings.data_dir / 'exports'})") from exc
    if job.file_sha256 and digest.hexdigest() != job.file_sha256:
        partial.unlink(missing_ok=True)
        raise CommandFailed(f"the downloaded file's sha256 does not match export {job.id}'s")
    shutil.move(str(partial), target)
