"""Pooled connections: one the server closed is replaced at checkout, without a request
failing and without a ``SELECT 1`` before every use; statements run by psycopg directly
fail as SQLAlchemy's would."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, literal, literal_column, select, text
from sqlalchemy.exc import DataError, OperationalError

from campaign_analytics.db import Database, is_unavailable
from campaign_analytics.prepared import Prepared


def backend_pid(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(admin: Database, pid: int) -> None:
    with admin.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    deadline = time.monotonic() + 10
    with admin.engine.connect() as conn:
        while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                           {"pid": pid}).scalar_one():
            assert time.monotonic() < deadline, f"backend {pid} never ended"
            time.sleep(0.05)


@pytest.fixture
def one_connection(database_url: str) -> Iterator[Database]:
    db = Database.connect(database_url, pool_size=1)
    yield db
    db.engine.dispose()


def test_a_connection_the_server_closed_is_replaced_at_checkout(
        one_connection: Database, db: Database) -> None:
    pooled = backend_pid(one_connection)
    terminate(db, pooled)
    assert backend_pid(one_connection) != pooled  # no error: a fresh connection
    one_connection.ping()


def test_a_healthy_connection_is_kept_and_costs_no_round_trip(one_connection: Database) -> None:
    assert backend_pid(one_connection) == backend_pid(one_connection)


def test_prepared_statements_fail_as_sqlalchemy_statements_do(one_connection: Database) -> None:
    engine = one_connection.engine
    assert Prepared(select(literal(1) + 1)).first(engine, {}) == (2,)
    with pytest.raises(DataError):
        Prepared(select(literal_column("1 / 0"))).first(engine, {})
    pid = backend_pid(one_connection)
    assert Prepared(select(literal(1))).first(engine, {}) == (1,)  # still usable after
    assert backend_pid(one_connection) == pid
    with pytest.raises(OperationalError) as lost:
        Prepared(select(func.pg_terminate_backend(func.pg_backend_pid()))).first(engine, {})
    assert is_unavailable(lost.value) and lost.value.connection_invalidated
    assert backend_pid(one_connection) != pid
