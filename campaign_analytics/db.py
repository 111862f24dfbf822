"""Engine and session construction: the only place connections are configured."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker


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


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    # pre_ping: a restarted server costs one failed checkout, not a 500 per pooled connection.
    return create_engine(
        normalize_url(url),
        pool_pre_ping=True,
        hide_parameters=True,  # errors and logs never carry request data (e-mails, keys)
        pool_size=pool_size,
        max_overflow=5,
        connect_args={"connect_timeout": 5},
    )


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
