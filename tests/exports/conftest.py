"""Arrangements for export tests: jobs claimed and run in-process with a real JobContext,
real storage (a temp directory, or S3 served by moto in its own process), rows written
with plain SQL so every hostile value can be placed exactly."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from campaign_analytics.db import Database
from campaign_analytics.exports.job import export
from campaign_analytics.exports.spec import Compression, ExportFormat, ExportParams, ExportType
from campaign_analytics.exports.storage import LocalStorage, Storage
from campaign_analytics.jobs import store
from campaign_analytics.jobs.context import JobContext
from campaign_analytics.models import Job
from cli.processes import die_with_parent
from tests.conftest import free_port, listening
from tests.jobs.helpers import RecordingPublisher, load

_ids = itertools.count(1)
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 8, tzinfo=UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}_t{os.getpid()}x{next(_ids)}"


def params(export_type: ExportType, fmt: ExportFormat = ExportFormat.CSV, *,
           compression: Compression = Compression.NONE, start: datetime = START,
           end: datetime = END, campaign_ids: tuple[str, ...] | None = None,
           include_time_series: bool = False, max_event_id: int = 2**62,
           timezone: str = "UTC") -> ExportParams:
    return ExportParams(export_type, fmt, compression, start, end, "custom", timezone,
                        campaign_ids, include_time_series, max_event_id)


def submit_export(db: Database, workspace_id: str, export_params: ExportParams) -> str:
    from campaign_analytics.jobs import outbox

    with db.sessions() as session:
        job = outbox.submit(session, RecordingPublisher(), kind="export",
                            workspace_id=workspace_id, params=export_params.to_params())
        return job.id


def claim(db: Database, job_id: str, ctx_class: type[JobContext] = JobContext) -> JobContext:
    with db.sessions() as session:
        claimed = store.claim(session, job_id, "test", 30, 5)
    assert claimed is not None
    return ctx_class(db, claimed.job_id, claimed.kind, claimed.workspace_id, claimed.params,
                     claimed.attempt, 30)


@dataclass
class Done:
    job_id: str
    result: dict[str, Any]
    job: Job
    data: bytes


def run_export(db: Database, storage: Storage, workspace_id: str,
               export_params: ExportParams) -> Done:
    """Submit, claim and run one export in-process, then complete it as the runner would."""
    job_id = submit_export(db, workspace_id, export_params)
    ctx = claim(db, job_id)
    result = export(ctx, storage)
    with db.sessions() as session:
        assert store.complete(session, job_id, ctx.attempt, result)
    with storage.open(result["file_key"]) as handle:
        data = handle.read()
    return Done(job_id, result, load(db, job_id), data)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "exports")


def execute(db: Database, sql: str, **values: Any) -> Any:
    with db.engine.begin() as conn:
        return conn.execute(text(sql), values)


def rows(db: Database, sql: str, **values: Any) -> list[tuple[Any, ...]]:
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), values)]


@dataclass(frozen=True)
class MotoServer:
    endpoint: str


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's S3 in server mode, as a real HTTP process on a free port."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p",
             str(port)], stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent)
    try:
        deadline = time.monotonic() + 30
        while not listening("127.0.0.1", port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"moto_server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield MotoServer(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
