"""docker-compose.yml, the Dockerfile and the README's configuration table agree with the code,
so the deployment files and the docs cannot drift from the settings and the queues."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from campaign_analytics.jobs.kinds import Queue
from campaign_analytics.settings import DEV_SECRET_KEY, Settings
from cli.up import GUNICORN_LOGGER_CLASS

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("api", "worker", "beat")

# Documented variables that are not Settings fields: read by features still to come (exports)
# or by libraries. A name ending in "*" is a prefix.
ALLOWED_EXTRA = ("STORAGE_URL", "DOWNLOAD_URL_TTL_SECONDS", "EXPORT_RETENTION_DAYS", "AWS_*")

SETTINGS_VARS = {name.upper() for name in Settings.model_fields}


def _allowed(name: str) -> bool:
    if name in SETTINGS_VARS:
        return True
    return any(
        name.startswith(extra[:-1]) if extra.endswith("*") else name == extra
        for extra in ALLOWED_EXTRA
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service: dict[str, Any] = compose["services"][name]
    return service


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _readme_config_rows() -> list[tuple[set[str], str]]:
    """(variable names, default cell) of each row of README.md's configuration table."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("## Configuration")
    rows: list[tuple[set[str], str]] = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        names = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]))
        if names:
            rows.append((names, cells[1]))
    return rows


def test_the_services_exist(compose: dict[str, Any]) -> None:
    assert {"postgres", "redis", "migrate", *APP_SERVICES} <= set(compose["services"])


def test_each_process_starts_with_its_documented_command(compose: dict[str, Any]) -> None:
    assert _command(_service(compose, "api"))[:2] == ["gunicorn", "webapi:create_app()"]
    assert _command(_service(compose, "worker"))[:4] == ["celery", "-A", "worker", "worker"]
    assert _command(_service(compose, "beat"))[:4] == ["celery", "-A", "worker", "beat"]
    assert _command(_service(compose, "migrate"))[:3] == ["alembic", "upgrade", "head"]


def test_the_worker_consumes_exactly_the_job_queues(compose: dict[str, Any]) -> None:
    command = _command(_service(compose, "worker"))
    assert "-Q" in command, "the worker must name its queues"
    queues = command[command.index("-Q") + 1].split(",")
    assert sorted(queues) == sorted(queue.value for queue in Queue)


def test_app_services_use_only_documented_variables(compose: dict[str, Any]) -> None:
    for name in (*APP_SERVICES, "migrate"):
        env = _environment(_service(compose, name))
        unknown = sorted(var for var in env if not _allowed(var))
        assert unknown == [], f"{name} sets variables no setting reads: {unknown}"


def test_app_services_reach_the_compose_database_and_broker(compose: dict[str, Any]) -> None:
    for name in (*APP_SERVICES, "migrate"):
        env = _environment(_service(compose, name))
        assert env["APP_ENV"] == "production"
        assert env["SECRET_KEY"] and env["SECRET_KEY"] != DEV_SECRET_KEY
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379/")
    for name in APP_SERVICES:
        depends = _service(compose, name)["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"


def test_redis_is_a_safe_broker(compose: dict[str, Any]) -> None:
    command = " ".join(_command(_service(compose, "redis")))
    assert "--maxmemory-policy noeviction" in command
    assert "--appendonly yes" in command


def test_every_setting_is_in_the_readme_table() -> None:
    rows = _readme_config_rows()
    documented = set().union(*(names for names, _ in rows))
    assert sorted(SETTINGS_VARS - documented) == []
    assert sorted(name for name in documented if not _allowed(name)) == []
    for extra in ALLOWED_EXTRA:
        if extra.endswith("*"):
            assert any(name.startswith(extra[:-1]) for name in documented), extra
        else:
            assert extra in documented, extra


def test_readme_defaults_match_the_settings() -> None:
    defaults = {name: cell for names, cell in _readme_config_rows() for name in names}
    for field, info in Settings.model_fields.items():
        cell = defaults[field.upper()]
        if info.default is None:
            assert cell.startswith("unset"), f"{field.upper()}: {cell}"
        elif info.default == DEV_SECRET_KEY:
            continue  # documented as "an insecure development value"
        else:
            value = info.default
            shown = (str(value).lower() if isinstance(value, bool)
                     else f"{value:g}" if isinstance(value, float) else str(value))
            assert f"`{shown}`" in cell, f"{field.upper()} default {shown!r}, README says {cell!r}"


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_the_dockerfile_runs_the_api_as_a_non_root_user() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert any(kw == "RUN" and re.search(r'pip install -e "?\.', arg) for kw, arg in instructions)
    users = [arg for kw, arg in instructions if kw == "USER"]
    assert users and users[-1] not in {"root", "0"}
    commands = [arg for kw, arg in instructions if kw == "CMD"]
    assert len(commands) == 1
    assert "gunicorn 'webapi:create_app()'" in commands[0]
    assert "0.0.0.0:${PORT}" in commands[0]
    assert f"--logger-class {GUNICORN_LOGGER_CLASS}" in commands[0]


def test_gunicorns_own_lines_use_the_service_log_format(compose: dict[str, Any]) -> None:
    command = _command(_service(compose, "api"))
    assert command[command.index("--logger-class") + 1] == GUNICORN_LOGGER_CLASS


def test_the_worker_serves_its_metrics_from_a_fresh_multiprocess_directory(
    compose: dict[str, Any],
) -> None:
    worker = _service(compose, "worker")
    env = _environment(worker)
    assert int(env["WORKER_METRICS_PORT"]) > 0
    assert env["PROMETHEUS_MULTIPROC_DIR"] in worker["tmpfs"]
    assert env["WORKER_METRICS_PORT"] in [str(port) for port in worker["expose"]]
