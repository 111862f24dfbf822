"""Engine and session construction: the only place connections are configured."""

from __future__ import annotations

import select
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection


def normalize_url(url: str) -> URL:
    """Accept ``postgresql://`` and ``postgresql+psycopg://``; always drive psycopg 3."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {parsed.drivername!r}")
    return parsed.set(drivername="postgresql+psycopg")


def is_unavailable(exc: BaseException) -> bool:
    """The server is away (down, restarting, connection dropped), as opposed to a bad query."""
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


# A connection idle this long is pinged at checkout: a NAT, a load balancer or a failover
# may have forgotten it without a word, which its socket cannot tell.
PING_AFTER_IDLE_SECONDS = 10.0


def looks_alive(connection: psycopg.Connection[Any]) -> bool:
    """Whether an idle connection is still open, without a round trip to the server.

    An idle connection has nothing to read unless the server has closed it (a restart,
    ``pg_terminate_backend``, an idle timeout: the server says why and hangs up), so a
    readable socket means it is gone. No pooled connection LISTENs, so no notification can
    be waiting."""
    if connection.closed or connection.pgconn.status != pq.ConnStatus.OK:
        return False
    readable = select.poll()  # not select.select: descriptors past 1024 are fine
    readable.register(connection.pgconn.socket, select.POLLIN)
    return not readable.poll(0)


def answers(connection: psycopg.Connection[Any]) -> bool:
    """Whether the server answers a ping on ``connection`` (outside any transaction)."""
    try:
        connection.autocommit = True
        connection.execute("SELECT 1")
        connection.autocommit = False
    except psycopg.Error:
        return False
    return True


def _note_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in"] = time.monotonic()


def _check_on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry,
                       _proxy: PoolProxiedConnection) -> None:
    """A connection used a moment ago is checked by its socket (a request must not pay a
    round trip for it); one idle for a while, by a ping. A fresh one is left alone."""
    checked_in: float | None = record.info.get("checked_in")
    try:
        idle = checked_in is not None and time.monotonic() - checked_in > PING_AFTER_IDLE_SECONDS
        alive = answers(dbapi_connection) if idle else looks_alive(dbapi_connection)
    except Exception as exc:  # whatever went wrong, this connection is not one to lend
        raise DisconnectionError(f"pooled connection failed its check: {exc}") from exc
    if not alive:
        raise DisconnectionError("the server closed this pooled connection")  # pool reconnects


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """Pooled connections are checked on checkout (``_check_on_checkout``) instead of with
    ``pool_pre_ping``'s ``SELECT 1`` before every use: a busy API lends each connection
    many times a second, and that round trip was a fifth of a kept answer's time."""
    engine = create_engine(
        normalize_url(url),
        hide_parameters=True,  # errors and logs never carry request data (e-mails, keys)
        pool_size=pool_size,
        max_overflow=5,
        connect_args={"connect_timeout": 5},
    )
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _check_on_checkout)
    return engine


@dataclass(frozen=True)
class Database:
    """An engine and the session factory bound to it."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 5) -> Database:
        engine = make_engine(url, pool_size=pool_size)
        return cls(engine, sessionmaker(engine, expire_on_commit=False))

    def ping(self) -> None:
        """Raise if the server cannot answer a trivial query."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
