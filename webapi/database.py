"""One SQLAlchemy session per request, closed when the request ends."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from campaign_analytics.db import Database

View = TypeVar("View", bound=Callable[..., object])
Mark = TypeVar("Mark")


def database() -> Database:
    db: Database = current_app.extensions["database"]
    return db


def read_only(view: View) -> View:
    """Mark a view that only reads. Its request's session runs each statement on its own
    (no BEGIN and ROLLBACK round trips), which suits a one-statement read such as the
    facts a kept answer is keyed by; an answer assembled from several queries takes
    ``snapshot_session()``."""
    view.read_only = True  # type: ignore[attr-defined]
    return view


def current_view_mark(name: str, default: Mark) -> Mark:
    """What a decorator marked the view handling this request with (``read_only``, …)."""
    if not has_request_context() or request.endpoint is None:
        return default
    mark: Mark = getattr(current_app.view_functions.get(request.endpoint), name, default)
    return mark


def db_session() -> Session:
    if "db_session" not in g:
        session = database().sessions()
        if current_view_mark("read_only", False):
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        g.db_session = session
    session: Session = g.db_session
    return session


def snapshot_session() -> Session:
    """The request's session in one REPEATABLE READ transaction, from here on: an answer
    assembled from several queries stays consistent even if a refresh commits meanwhile."""
    session = db_session()
    session.commit()  # ends what came before; the next statement takes the snapshot
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask, db: Database) -> None:
    app.extensions["database"] = db
    app.teardown_appcontext(_close_session)
