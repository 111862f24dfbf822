"""A realistic session through gunicorn and a worker process, every line both wrote kept:
no API key, download token, database password or SQL statement appears in any of them."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from sqlalchemy import make_url

from campaign_analytics.db import Database
from campaign_analytics.workspaces import create_workspace
from tests.jobs.helpers import wait_until
from tests.ops.helpers import json_lines

pytestmark = pytest.mark.slow

SQL_MARKERS = ("SELECT ", "INSERT INTO", "UPDATE jobs", "DELETE FROM", "[SQL:")


def _with_password(database_url: str) -> tuple[str, str | None]:
    """The database URL with a password in it, and the password. A server that trusts
    local connections ignores it; one that checks passwords keeps its own URL (whose
    password, if any, is then the one to look for)."""
    url = make_url(database_url)
    if url.password:
        return database_url, str(url.password)
    password = f"pw-{secrets.token_hex(8)}"
    candidate = url.set(password=password).render_as_string(hide_password=False)
    try:
        psycopg.connect(candidate, connect_timeout=5).close()
    except psycopg.OperationalError:
        return database_url, None
    return candidate, password


def test_a_session_leaves_no_key_token_password_or_sql_in_the_logs(
    db: Database, database_url: str, tmp_path: Path, process_env: dict[str, str],
    celery_processes: Any, start_gunicorn: Any,
) -> None:
    url, password = _with_password(database_url)
    env = {**process_env, "DATABASE_URL": url, "LOG_FORMAT": "json",
           "STORAGE_URL": f"file://{tmp_path / 'files'}"}
    worker = celery_processes("worker", env)
    api = start_gunicorn(env, "--access-logfile", "-")  # the access log shows paths
    with db.sessions() as session:
        workspace, key = create_workspace(session, "Secrets", "UTC")
    base = f"{api.url}/api/v1/workspaces/{workspace.id}"
    auth = {"Authorization": f"Bearer {key}"}
    bad_key = "ca_" + secrets.token_urlsafe(32)

    assert requests.get(f"{base}/jobs", headers=auth, timeout=10).status_code == 200
    refused = requests.get(f"{base}/jobs", timeout=10,
                           headers={"Authorization": f"Bearer {bad_key}"})
    assert refused.status_code == 401
    diagnostic = requests.post(f"{base}/jobs/diagnostics", json={"steps": 1}, headers=auth,
                               timeout=10).json()["data"]["job_id"]
    export_id = requests.post(f"{base}/analytics/export", headers=auth, timeout=10, json={
        "export_type": "events", "format": "csv", "time_range": "7d",
    }).json()["data"]["export_id"]

    def status() -> dict[str, Any]:
        answer = requests.get(f"{base}/analytics/exports/{export_id}", headers=auth, timeout=10)
        data: dict[str, Any] = answer.json()["data"]
        return data

    wait_until(lambda: status()["status"] == "completed", 60, worker.log())
    download_url = status()["download_url"]
    assert requests.get(download_url, timeout=10).status_code == 200
    token = download_url.rsplit("/", 1)[1]
    assert requests.get(download_url[:-4] + "AAAA", timeout=10).status_code == 403
    wait_until(lambda: requests.get(f"{base}/jobs/{diagnostic}", headers=auth,
                                    timeout=10).json()["data"]["status"] == "completed",
               60, worker.log())

    logs = {"gunicorn": api.log(), "worker": worker.log()}
    # The session was logged: the request lines, the access log, the jobs' ends.
    assert "/api/v1/downloads/<token>" in logs["gunicorn"]
    assert "/api/v1/downloads/[REDACTED]" in logs["gunicorn"]
    assert any(line.get("job_id") == export_id for line in json_lines(logs["worker"]))
    secrets_ = {"API key": key, "refused key": bad_key, "download token": token,
                "token's signature": token.rsplit(".", 1)[1]}
    if password is not None:
        secrets_["database password"] = password
    for where, text in logs.items():
        for what, value in secrets_.items():
            assert value not in text, f"the {what} is in the {where} log"
        for marker in SQL_MARKERS:
            assert marker not in text, f"SQL ({marker!r}) in the {where} log:\n{text}"
