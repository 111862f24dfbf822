"""``campaign-analytics up``: the whole stack in the foreground (SPEC sections 3 and 9).

PostgreSQL and Redis come from ``DATABASE_URL`` / ``REDIS_URL``, or are started embedded
under ``DATA_DIR``; then migrations, then the API, a worker and beat as child processes.
Ctrl-C or SIGTERM stops everything ``up`` started, embedded servers included.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import click
import requests
from sqlalchemy.exc import OperationalError

from campaign_analytics.db import Database
from campaign_analytics.devstack.embedded import (
    EmbeddedServerError,
    start_postgres,
    start_redis,
)
from campaign_analytics.generator import generate_dataset
from campaign_analytics.health import check_redis
from campaign_analytics.jobs.kinds import Queue
from campaign_analytics.logs.setup import configure_logging
from campaign_analytics.migrate import upgrade
from campaign_analytics.settings import LogFormat, Settings, get_settings
from campaign_analytics.workspaces import create_workspace

from .console import say
from .errors import CommandFailed
from .generate import refresh_rollups, summary
from .processes import Supervisor
from .shutdown import ShutdownRequest
from .stack import StackInfo, remove_stack, running_stack, stack_path, write_stack

READY_TIMEOUT_SECONDS = 120.0
DEMO_EVENTS = 50_000
STOP_GRACE_SECONDS = 10.0
BIN_DIR = Path(sys.executable).parent
GUNICORN_LOGGER_CLASS = "webapi.gunicorn_logger.GunicornLogger"


class StackFailed(Exception):
    """The stack cannot run (a process died, the API never became ready); exit non-zero."""


@click.command()
@click.option("--demo", is_flag=True,
              help="Also create a demo workspace and print its API key and a curl line.")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port of the API on 127.0.0.1.  [default: PORT, else 8000]")
def up(demo: bool, port: int | None) -> None:
    """Run the API, a Celery worker and beat in the foreground until Ctrl-C.

    Uses DATABASE_URL and REDIS_URL when set; otherwise starts an embedded PostgreSQL and
    Redis under DATA_DIR (default ./var). Migrates the database first, and prints
    "API listening on http://127.0.0.1:PORT" once the API answers /readyz.
    """
    settings = get_settings()
    configure_logging(settings.log_level, log_format_for_up(settings))
    code = DevStack(settings, port or settings.port).run(demo)
    click.get_current_context().exit(code)


class DevStack:
    """One run of ``up``: each step registers how to undo itself, undone in reverse."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.data_dir = settings.data_dir.resolve()
        self.api_url = f"http://127.0.0.1:{port}"
        self.shutdown = ShutdownRequest()
        self.supervisor = Supervisor()

    def run(self, demo: bool) -> int:
        """Exit code: 0 after a requested stop, 1 when the stack failed."""
        self._check_can_start()
        self.shutdown.install()
        code = 0
        with contextlib.ExitStack() as undo:
            try:
                self._run(undo, demo)
            except StackFailed as exc:
                say(f"Error: {exc}", err=True)
                code = 1
            except KeyboardInterrupt:  # a second signal cut a hanging step short
                pass
            finally:
                self.shutdown.begin_stopping()
                if self.shutdown.signal_name:
                    say(f"Received {self.shutdown.signal_name}; stopping ...")
        say("Stopped.")
        return code

    def _check_can_start(self) -> None:
        other = running_stack(self.data_dir)
        if other is not None:
            raise CommandFailed(
                f"`campaign-analytics up` is already running (pid {other.pid}) with data "
                f"directory {self.data_dir}; its API is {other.api_url}"
            )
        if not _port_is_free(self.port):
            raise CommandFailed(f"Port {self.port} is in use; choose another with --port or PORT")

    def _run(self, undo: contextlib.ExitStack, demo: bool) -> None:
        database_url = self._database(undo)
        redis_url = self._redis(undo)
        if self.shutdown.requested:
            return
        say("Migrating the database ...")
        try:
            upgrade(database_url)
        except OperationalError as exc:
            raise StackFailed(f"cannot reach PostgreSQL: {exc.orig}") from exc
        if self.shutdown.requested:
            return
        self._record_stack(undo, database_url, redis_url)
        self._start_processes(undo, database_url, redis_url)
        if not self._wait_until_ready():
            return
        say(f"API listening on {self.api_url}")
        say(f"Dashboard: {self.api_url}/app/")
        if demo:
            self._create_demo(database_url)
        say("Press Ctrl-C to stop.")
        exited = self.supervisor.watch(lambda: self.shutdown.requested)
        if exited is not None:
            raise StackFailed(
                f"{exited.name} exited unexpectedly ({exited.how_it_ended()}); stopping the stack"
            )

    def _database(self, undo: contextlib.ExitStack) -> str:
        if self.settings.database_url:
            say("PostgreSQL: DATABASE_URL from the environment")
            return self.settings.database_url
        pgdata = self.data_dir / "postgres"
        say(f"Starting embedded PostgreSQL in {pgdata} ...")
        try:
            postgres = start_postgres(pgdata)
        except EmbeddedServerError as exc:
            raise StackFailed(str(exc)) from exc
        undo.callback(_stop_embedded, "PostgreSQL", postgres.stop)
        return postgres.url

    def _redis(self, undo: contextlib.ExitStack) -> str:
        if self.settings.redis_url:
            say("Redis: REDIS_URL from the environment")
            if not check_redis(self.settings.redis_url):
                raise StackFailed("cannot reach Redis at REDIS_URL")
            return self.settings.redis_url
        directory = self.data_dir / "redis"
        say(f"Starting embedded Redis in {directory} ...")
        try:
            redis = start_redis(directory)
        except EmbeddedServerError as exc:
            raise StackFailed(str(exc)) from exc
        undo.callback(_stop_embedded, "Redis", redis.stop)
        return redis.url

    def _record_stack(self, undo: contextlib.ExitStack, database_url: str, redis_url: str) -> None:
        path = stack_path(self.data_dir)
        info = StackInfo(os.getpid(), database_url, redis_url, self.api_url)
        write_stack(path, info)
        undo.callback(remove_stack, path, info.pid)

    def _start_processes(self, undo: contextlib.ExitStack, database_url: str,
                         redis_url: str) -> None:
        env = self._child_env(database_url, redis_url)
        undo.callback(self.supervisor.stop_all, STOP_GRACE_SECONDS)
        for name, argv in self._commands():
            self.supervisor.spawn(name, argv, env)

    def _child_env(self, database_url: str, redis_url: str) -> dict[str, str]:
        """Our environment plus what the children must agree on. Building a child's
        environment is the one place the CLI touches ``os.environ``."""
        metrics_dir = self.data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)  # stale counters of a previous run
        metrics_dir.mkdir(parents=True)
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url, REDIS_URL=redis_url, PORT=str(self.port),
            DATA_DIR=str(self.data_dir), PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
            LOG_FORMAT=log_format_for_up(self.settings), PYTHONUNBUFFERED="1",
        )
        return env

    def _commands(self) -> list[tuple[str, list[str]]]:
        """Start order; ``stop_all`` stops them newest first: API, then beat, then worker."""
        celery = str(BIN_DIR / "celery")
        queues = ",".join(queue.value for queue in Queue)
        return [
            ("worker", [celery, "-A", "worker", "worker", "-Q", queues]),
            ("beat", [celery, "-A", "worker", "beat"]),
            ("api", gunicorn_command(f"127.0.0.1:{self.port}", self.settings.web_concurrency)),
        ]

    def _wait_until_ready(self) -> bool:
        """True once /readyz answers 200; False if a stop was requested meanwhile."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        with requests.Session() as http:
            http.trust_env = False  # no HTTP(S)_PROXY detour for 127.0.0.1
            while not self.shutdown.requested:
                exited = self.supervisor.first_exited()
                if exited is not None:
                    raise StackFailed(
                        f"{exited.name} exited during startup ({exited.how_it_ended()})"
                    )
                if _answers_ready(http, f"{self.api_url}/readyz"):
                    return True
                if time.monotonic() > deadline:
                    raise StackFailed(
                        f"the API did not answer /readyz within {READY_TIMEOUT_SECONDS:.0f} s"
                    )
                time.sleep(0.5)
        return False

    def _create_demo(self, database_url: str) -> None:
        """A "Demo" workspace with a generated data set, its rollups refreshed (analytics
        answer with numbers and ``as_of`` at once), a curl line that works and the dashboard."""
        db = Database.connect(database_url, pool_size=1)
        try:
            with db.sessions() as session:
                workspace, key = create_workspace(session, "Demo", "UTC")
            say(f"Demo workspace: {workspace.id}")
            say(f"API key (shown only now): {key}")
            say(f"Generating {DEMO_EVENTS} demo events ...")
            say(summary(generate_dataset(db, workspace.id, DEMO_EVENTS)))
            say(refresh_rollups(db, workspace.id))
        finally:
            db.engine.dispose()
        say(f'Try: curl -H "Authorization: Bearer {key}" '
            f"{self.api_url}/api/v1/workspaces/{workspace.id}/campaigns")
        say(f"Or open the dashboard at {self.api_url}/app/ and paste the API key.")


def _stop_embedded(name: str, stop: Callable[[], None]) -> None:
    say(f"Stopping embedded {name} ...")
    stop()


def log_format_for_up(settings: Settings) -> LogFormat:
    """Text for the person watching ``up`` (its children's lines are relayed to the
    terminal), unless LOG_FORMAT asks for something else."""
    return settings.log_format if "log_format" in settings.model_fields_set else "text"


def gunicorn_command(bind: str, workers: int) -> list[str]:
    """The API as the Dockerfile runs it: gunicorn's own lines in the service's format."""
    return [str(BIN_DIR / "gunicorn"), "webapi:create_app()", "-b", bind, "-w", str(workers),
            "--logger-class", GUNICORN_LOGGER_CLASS, *_gunicorn_extra_args()]


def _gunicorn_extra_args() -> list[str]:
    """Gunicorn 25.1+ opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl):
    a second stack or a test's gunicorn would take it over. The dev stack needs none."""
    try:
        major, minor = (int(part) for part in version("gunicorn").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return []
    return ["--no-control-socket"] if (major, minor) >= (25, 1) else []


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answers_ready(http: requests.Session, url: str) -> bool:
    try:
        return http.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
