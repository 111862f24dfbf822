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
