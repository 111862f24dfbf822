"""One SQLAlchemy session per request, closed when the request ends."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from campaign_analytics.db import Database


def database() -> Database:
    db: Database = current_app.extensions["database"]
    return db


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = database().sessions()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask, db: Database) -> None:
    app.extensions["database"] = db
    app.teardown_appcontext(_close_session)


def snapshot_session() -> Session:
    """The request's session in one REPEATABLE READ transaction: a response assembled from
    several queries stays consistent even if a refresh commits while it is being read."""
    session = db_session()
    session.commit()  # end authentication's transaction; the next one takes the snapshot
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return session
