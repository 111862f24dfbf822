"""A statement built with SQLAlchemy Core, compiled once and run by psycopg itself.

For the one statement every API request runs (the caller's key), SQLAlchemy's work per
execution (a session, an execution context, result processing) cost more than the query;
here a request pays a pooled connection and one round trip. Only for statements whose
columns need no SQLAlchemy type processing (text, numbers, timestamps).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.expression import Executable

_DIALECT = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]


class Prepared:
    """A statement and the values it binds itself; the caller's values fill the rest.
    Plain bind parameters only (no expanding ``IN`` lists)."""

    def __init__(self, statement: Executable) -> None:
        compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
        self.sql: str = str(compiled)
        # Values the statement binds itself (a literal 0 in coalesce(…, 0), say).
        self._bound: dict[str, Any] = {
            name: bind.value for bind, name in compiled.bind_names.items() if not bind.required}

    def first(self, engine: Engine, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, read outside any transaction (no BEGIN and ROLLBACK round
        trips). Errors are SQLAlchemy's, as from a session (a lost server is an
        ``OperationalError``, and its connection leaves the pool)."""
        try:
            connection = engine.raw_connection()
        except psycopg.Error as exc:  # a failed connect comes unwrapped from the pool
            raise _wrapped(None, exc, invalidated=False) from exc
        driver: psycopg.Connection[Any] = connection.driver_connection  # type: ignore[assignment]
        try:
            driver.autocommit = True
            row: tuple[Any, ...] | None = driver.execute(
                self.sql, {**params, **self._bound}).fetchone()
            return row
        except psycopg.Error as exc:
            raise _wrapped(self.sql, exc, invalidated=driver.broken) from exc
        finally:
            _give_back(connection, driver)


def _give_back(connection: PoolProxiedConnection, driver: psycopg.Connection[Any]) -> None:
    """To the pool as it was lent, out of autocommit (a session's transaction must not
    commit statement by statement); one that cannot be is closed instead."""
    try:
        driver.autocommit = False
    except psycopg.Error as exc:  # broken, or left mid-statement
        connection.invalidate(exc)
    connection.close()


def _wrapped(sql: str | None, exc: psycopg.Error, *, invalidated: bool) -> DBAPIError:
    return DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True,
                               connection_invalidated=invalidated)
