"""Fixtures on real services: a fresh migrated PostgreSQL database per test session, a
dedicated Redis database number, and real Celery worker / beat processes.

Services come from ``DATABASE_URL`` / ``REDIS_URL`` when set; otherwise from 127.0.0.1:5432
and :6379 when something listens there; otherwise embedded servers are started. A service
that cannot be had fails the session loudly: no core test is skipped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import make_url, update

from campaign_analytics.db import Database, normalize_url
from campaign_analytics.migrate import upgrade
from campaign_analytics.models import Job
from campaign_analytics.settings import Settings
from campaign_analytics.workspaces import create_workspace
from tests.processes import CeleryProcess

# Under pytest-xdist (``-n N``) each test process takes the next database number.
TEST_REDIS_DB = (int(os.environ.get("TEST_REDIS_DB", "13"))
                 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")))
# Short leases and sweeps so fault tests finish in seconds, not minutes.
FAST_JOB_SETTINGS: dict[str, Any] = {
    "app_env": "test",
    "job_lease_seconds": 3,
    "job_republish_after_seconds": 1,
    "sweeper_interval_seconds": 1,
    "job_max_attempts": 4,
}
# Budgets no test reaches by accident, so the limiter still runs on every request;
# tests/webapi/test_rate_limits.py builds apps with small ones.
GENEROUS_RATE_LIMITS: dict[str, Any] = {
    name: 100_000 for name, field in Settings.model_fields.items()
    if name.startswith("rate_limit_") and field.annotation is int
}


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def embedded_dir() -> Iterator[Path]:
    """Outside pytest's temp root: another pytest run resets that root to 0700, which would
    lock an embedded PostgreSQL (running as its own user) out of its files."""
    path = Path(tempfile.mkdtemp(prefix="ca-embedded-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_admin_url(embedded_dir: Path) -> Iterator[str]:
    """A URL to the server's maintenance database, used to create and drop ours."""
    if os.environ.get("DATABASE_URL"):
        yield normalize_url(os.environ["DATABASE_URL"]).set(database="postgres").render_as_string(
            hide_password=False
        )
    elif listening("127.0.0.1", 5432):
        yield "postgresql://postgres@127.0.0.1:5432/postgres"
    else:
        from campaign_analytics.devstack.embedded import start_postgres

        server = start_postgres(embedded_dir / "postgres")
        yield server.admin_url
        server.stop()


@pytest.fixture(scope="session")
def redis_server_url(embedded_dir: Path) -> Iterator[str]:
    """A Redis server URL without a database number."""
    if os.environ.get("REDIS_URL"):
        # Keep scheme, credentials and host; the database number is ours to choose.
        yield urlsplit(os.environ["REDIS_URL"])._replace(path="", query="").geturl()
    elif listening("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379"
    else:
        from campaign_analytics.devstack.embedded import start_redis

        server = start_redis(embedded_dir / "redis")
        yield f"redis://127.0.0.1:{server.port}"
        server.stop()


def _psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A database of our own, migrated to head, dropped when the session ends."""
    name = f"ca_test_{secrets.token_hex(4)}"
    admin = _psycopg_url(postgres_admin_url)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the test suite and is unreachable: {exc}")
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)  # a failing migration must not leave the database behind either
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url(redis_server_url: str) -> str:
    url = f"{redis_server_url}/{TEST_REDIS_DB}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()  # our own database number only: never FLUSHALL
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required for the test suite and is unreachable: {exc}")
    finally:
        client.close()
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str) -> Settings:
    return Settings(
        database_url=database_url, redis_url=redis_url, **FAST_JOB_SETTINGS,
        **GENEROUS_RATE_LIMITS,
    )


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[Database]:
    database = Database.connect(database_url)
    yield database
    database.engine.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings) -> Flask:
    from webapi import create_app

    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Tenant:
    """A workspace with its key, and request helpers that carry the key."""

    def __init__(self, client: FlaskClient, workspace_id: str, key: str) -> None:
        self.client, self.id, self.key = client, workspace_id, key
        self.headers = {"Authorization": f"Bearer {key}"}
        self.prefix = f"/api/v1/workspaces/{workspace_id}"

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(self.prefix + path, headers=self.headers, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.post(self.prefix + path, json=json, headers=self.headers, **kwargs)


def tenant_factory(client: FlaskClient, db: Database, default_name: str = "Tenant") -> Any:
    """Makes workspaces with a key, whose requests go through ``client``."""
    def make(name: str = default_name, timezone: str = "UTC") -> Tenant:
        with db.sessions() as session:
            workspace, key = create_workspace(session, name, timezone)
        return Tenant(client, workspace.id, key)

    return make


@pytest.fixture
def make_tenant(client: FlaskClient, db: Database) -> Any:
    return tenant_factory(client, db)


@pytest.fixture
def tenant(make_tenant: Any) -> Tenant:
    return make_tenant()


@pytest.fixture
def world(tenant: Tenant) -> Any:
    """A campaign and a sending account in a fresh workspace (see tests/world.py)."""
    from tests.world import World, next_id

    campaign = tenant.post("/campaigns", json={"name": "World"}).get_json()["data"]["id"]
    account = tenant.post("/accounts", json={"email": f"s{next_id()}@sender.io"})
    return World(tenant, campaign, account.get_json()["data"]["id"])


def process_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of worker and beat processes started by a test."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({
        key.upper(): str(value)
        for key, value in {**FAST_JOB_SETTINGS, **GENEROUS_RATE_LIMITS}.items()
    })
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, LOG_LEVEL="INFO")
    return env


@pytest.fixture
def process_env(database_url: str, redis_url: str) -> dict[str, str]:
    return process_environment(database_url, redis_url)


def quiet(db: Database, redis_url: str) -> None:
    """Cancel other tests' unfinished jobs and empty our Redis database, so a worker started
    now works on the caller's jobs alone."""
    with db.sessions() as session:
        session.execute(
            update(Job).where(Job.status.in_(["queued", "processing"])).values(status="canceled")
        )
        session.commit()
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()


@pytest.fixture
def quiet_queues(db: Database, redis_url: str) -> None:
    quiet(db, redis_url)


@pytest.fixture
def celery_processes(tmp_path: Path, quiet_queues: None) -> Iterator[Any]:
    """Starts worker/beat processes (own process groups); all are stopped after the test."""
    started: list[CeleryProcess] = []

    def start(role: str, env: dict[str, str], name: str | None = None,
              app: str = "worker") -> CeleryProcess:
        process = CeleryProcess.start(role, env, tmp_path, name or f"{role}{len(started)}",
                                      app)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


# Exports written by real worker processes land in a directory the test can inspect.
@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    path = tmp_path / "exports"
    path.mkdir()
    return path


@pytest.fixture
def export_app(settings: Settings, export_dir: Path) -> Flask:
    from webapi import create_app

    return create_app(settings.model_copy(update={"storage_url": f"file://{export_dir}"}))


@pytest.fixture
def worker_env(process_env: dict[str, str], export_dir: Path) -> dict[str, str]:
    return {**process_env, "STORAGE_URL": f"file://{export_dir}"}
