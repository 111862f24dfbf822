"""Pooled connections: one the server closed is replaced at checkout, without a request
failing and without a ``SELECT 1`` before every use; statements run by psycopg directly
fail as SQLAlchemy's would."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import String, bindparam, func, literal, literal_column, select, text
from sqlalchemy.exc import DataError, OperationalError

from campaign_analytics.db import PING_AFTER_IDLE_SECONDS, Database, is_unavailable
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


def test_a_healthy_connection_is_kept(one_connection: Database) -> None:
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


def test_a_connection_on_a_descriptor_past_1024_is_checked(database_url: str) -> None:
    """``select.select`` refuses such descriptors; a busy worker with many clients has them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    taken = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        db = Database.connect(database_url, pool_size=1)
        try:
            with db.engine.connect() as conn:
                assert conn.connection.driver_connection.pgconn.socket > 1024
            assert backend_pid(db) == backend_pid(db)
        finally:
            db.engine.dispose()
    finally:
        for descriptor in taken:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def sent_on_checkout(db: Database, tmp_path: Path, idle_for: float) -> str:
    """What a checkout sends to the server after the connection sat idle ``idle_for`` s."""
    with db.engine.connect() as conn:
        record = conn.connection._connection_record
    record.info["checked_in"] = time.monotonic() - idle_for
    trace = (tmp_path / f"idle-{idle_for}.trace").open("w")
    record.dbapi_connection.pgconn.trace(trace.fileno())
    try:
        with db.engine.connect():
            pass
    finally:
        record.dbapi_connection.pgconn.untrace()
        trace.close()
    return (tmp_path / f"idle-{idle_for}.trace").read_text()


def test_only_a_connection_idle_for_a_while_is_pinged(one_connection: Database,
                                                      tmp_path: Path) -> None:
    """A NAT or a failover may forget an idle connection without a word: after
    PING_AFTER_IDLE_SECONDS the checkout asks the server; before, it costs nothing."""
    assert "SELECT 1" not in sent_on_checkout(one_connection, tmp_path, 1)
    assert "SELECT 1" in sent_on_checkout(one_connection, tmp_path, PING_AFTER_IDLE_SECONDS + 1)


def test_a_failed_prepared_statement_leaves_the_connection_out_of_autocommit(
        one_connection: Database) -> None:
    statement = Prepared(select(bindparam("text", type_=String)))
    with pytest.raises(UnicodeEncodeError):  # not a psycopg error: raised before sending
        statement.first(one_connection.engine, {"text": "\ud800"})
    with one_connection.engine.connect() as conn:
        assert conn.connection.driver_connection.autocommit is False
