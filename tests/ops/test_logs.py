"""Every process logs one JSON object a line, and a line says which request or job it
belongs to: the request id a client got back, the job id a worker ran."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from campaign_analytics.db import Database
from campaign_analytics.logs.context import log_context
from campaign_analytics.logs.redaction import REDACTED
from campaign_analytics.logs.setup import adopt, configure_logging
from campaign_analytics.settings import LogFormat, Settings
from tests.conftest import Tenant
from tests.jobs.helpers import load, wait_until
from tests.ops.helpers import json_lines

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
OTHER_FORMATS = re.compile(r"(?m)^\[?\d{4}-\d\d-\d\d[ T]\d\d:")


def _request_lines(err: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(err) if line["logger"] == "webapi.requests"]


def test_a_request_logs_json_with_the_request_id_it_answers_with(
    tenant: Tenant, capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    response = tenant.get("/jobs")
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    [line] = _request_lines(capsys.readouterr().err)
    assert TIMESTAMP.fullmatch(line["timestamp"])
    assert (line["level"], line["request_id"]) == ("INFO", request_id)
    assert line["route"] == "/api/v1/workspaces/<workspace_id>/jobs"
    assert (line["http_method"], line["status"]) == ("GET", 200)
    assert line["message"].startswith("GET /api/v1/workspaces/<workspace_id>/jobs 200 ")


def test_a_sane_incoming_request_id_is_kept_and_anything_else_replaced(
    client: FlaskClient,
) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a:01.b_c"})
    assert kept.headers["X-Request-ID"] == "lb-7f3a:01.b_c"
    for hostile in ("x" * 129, "a b", "id\u00e9", '"><script>', ""):
        replaced = client.get("/healthz", headers={"X-Request-ID": hostile})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"]), hostile
    unknown = client.get("/no/such/path")  # errors answer with an id too
    assert unknown.status_code == 404 and unknown.headers["X-Request-ID"]


def test_lines_logged_inside_a_request_carry_its_id_and_nothing_leaks_after(
    tenant: Tenant, capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    response = tenant.get("/jobs/job_missing")
    assert response.status_code == 404
    logging.getLogger("tests.after").warning("outside any request")
    lines = json_lines(capsys.readouterr().err)
    [request_line] = [line for line in lines if line["logger"] == "webapi.requests"]
    [after] = [line for line in lines if line["logger"] == "tests.after"]
    assert request_line["request_id"] == response.headers["X-Request-ID"]
    assert request_line["route"] == "/api/v1/workspaces/<workspace_id>/jobs/<job_id>"
    assert "request_id" not in after


@pytest.fixture
def restore_logging(settings: Settings) -> Iterator[None]:
    yield
    configure_logging(settings.log_level, settings.log_format)


def _format(log_format: LogFormat, emit: Callable[[logging.Logger], None]) -> str:
    buffer = io.StringIO()
    handler = adopt(logging.StreamHandler(buffer), log_format)
    logger = logging.getLogger("tests.ops.format")
    logger.addHandler(handler)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return buffer.getvalue()


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_both_formats_carry_the_context_fields_and_redact_secrets(log_format: LogFormat) -> None:
    key = "ca_" + "k" * 43
    secrets_in_messages = [
        f"Authorization: Bearer {key}",
        f"a key pasted alone {key}",
        "postgresql://app:hunter2-password@db:5432/ca",
        "redis://:redis-password@cache:6379/0",
        '"GET /api/v1/downloads/eyJleHBvcnQiOiJleHBfMSJ9.ZmFrZQ.c2lnbmF0dXJl HTTP/1.1" 200',
        "https://bucket.s3.amazonaws.com/f.csv?X-Amz-Credential=AKIAEXAMPLE%2F20260101"
        "&X-Amz-Signature=0123456789abcdef",
    ]

    def emit(logger: logging.Logger) -> None:
        with log_context(job_id="job_1", job_kind="export", attempt=2, task_id="t-1"):
            for message in secrets_in_messages:
                logger.warning(message)

    out = _format(log_format, emit)
    for secret in (key, "hunter2-password", "redis-password", "ZmFrZQ", "c2lnbmF0dXJl",
                   "AKIAEXAMPLE", "0123456789abcdef"):
        assert secret not in out, (secret, out)
    assert out.count(REDACTED) >= 5
    assert "postgresql://app:***@db:5432/ca" in out
    if log_format == "json":
        for line in json_lines(out):
            assert {k: line[k] for k in ("job_id", "job_kind", "attempt", "task_id")} == {
                "job_id": "job_1", "job_kind": "export", "attempt": 2, "task_id": "t-1"}
    else:
        assert out.count("[job_id=job_1 job_kind=export attempt=2 task_id=t-1]") == 6


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_database_error_logged_with_its_traceback_shows_no_sql(
    db: Database, log_format: LogFormat,
) -> None:
    # Out of the failing line: a traceback quotes the source line, which is code, not data.
    statement = text("SELECT secret_column FROM no_such_table WHERE id = :id")
    parameters = {"id": "a-parameter-value"}

    def emit(logger: logging.Logger) -> None:
        try:
            with db.engine.connect() as conn:
                conn.execute(statement, parameters)
        except Exception:
            logger.exception("query failed")

    out = _format(log_format, emit)
    assert "UndefinedTable" in out and "Traceback" in out
    for leaked in ("SELECT", "secret_column", "a-parameter-value"):
        assert leaked not in out, out


def test_sql_is_never_logged_even_at_debug(
    db: Database, restore_logging: None, capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("DEBUG", "json")
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 'debug-level-statement'"))
    assert "debug-level-statement" not in capsys.readouterr().err
    assert logging.getLogger("sqlalchemy.engine").getEffectiveLevel() == logging.WARNING


@pytest.mark.slow
def test_a_job_run_by_a_worker_process_logs_json_with_its_job_id(
    tenant: Tenant, db: Database, process_env: dict[str, str], celery_processes: Any,
) -> None:
    worker = celery_processes("worker", {**process_env, "LOG_FORMAT": "json"})
    response = tenant.post("/jobs/diagnostics", json={"steps": 2})
    job_id = response.get_json()["data"]["job_id"]
    wait_until(lambda: load(db, job_id).status == "completed", 60,
               f"job not completed:\n{worker.log()}")

    # The worker logs the completion just after committing it: the line may trail the row.
    def logged() -> bool:
        whole_lines = worker.log().split("\n")[:-1]
        return any(job_id in line and "completed on attempt 1" in line for line in whole_lines)

    wait_until(logged, 10, lambda: f"no completion logged:\n{worker.log()}")
    lines = json_lines(worker.log())
    assert any(line["message"].endswith(" ready.") for line in lines), worker.log()
    ours = [line for line in lines if line.get("job_id") == job_id]
    completed = [line for line in ours if "completed on attempt 1" in line["message"]]
    assert len(completed) == 1, worker.log()
    [line] = completed
    assert line["logger"] == "campaign_analytics.jobs.runner"
    assert (line["job_kind"], line["attempt"]) == ("diagnostic", 1)
    assert line["task_id"] and TIMESTAMP.fullmatch(line["timestamp"])
    # Only Celery's printed banner is not JSON; no record is in Celery's or a text format.
    assert not OTHER_FORMATS.search(worker.log()), worker.log()
