"""Bearer API-key authentication and workspace scoping for ``/workspaces/<id>/…`` routes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, after_this_request, g, request
from sqlalchemy.exc import SQLAlchemyError

from campaign_analytics import apikeys
from campaign_analytics.analytics.facts import Facts, FactsQuery
from campaign_analytics.errors import WorkspaceNotFound
from campaign_analytics.models import ApiKey

from .database import View, current_view_mark, database
from .errors import unauthorized

log = logging.getLogger(__name__)


def _bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Missing API key: send 'Authorization: Bearer <api key>'")
    return token.strip()


def facts_with_key(query: FactsQuery[Any]) -> Callable[[View], View]:
    """Mark a view whose answer is kept under ``query``'s facts: they are read in the
    statement that finds the caller's key (one round trip for a kept answer) and handed to
    the view by ``facts_read_with_key``, once the key has passed every check."""
    lookup = apikeys.KeyLookup(query.statement)

    def mark(view: View) -> View:
        view.key_lookup = (query, lookup)  # type: ignore[attr-defined]
        return view

    return mark


def facts_read_with_key(query: FactsQuery[Facts]) -> Facts | None:
    """``query``'s facts as read with the caller's key; None when the view is not marked
    with it, or when no row came (an unknown campaign: ``query.read`` says so)."""
    read: tuple[FactsQuery[Any], Any] | None = g.get("key_facts")
    return read[1] if read is not None and read[0] is query else None


def _key_lookup() -> tuple[FactsQuery[Any] | None, apikeys.KeyLookup]:
    """The view's lookup, unless a path parameter holds a NUL: PostgreSQL text cannot, so
    the key is looked up alone and the view refuses the path as it does for any caller."""
    if any("\x00" in str(value) for value in (request.view_args or {}).values()):
        return None, apikeys.KEY_ONLY
    lookup: tuple[FactsQuery[Any] | None, apikeys.KeyLookup] = current_view_mark(
        "key_lookup", (None, apikeys.KEY_ONLY))
    return lookup


def require_key() -> None:
    """The caller's active key (``g.api_key``); its workspace (``g.workspace_id``) is the
    only one the request may see, and the one whose rate limits it spends."""
    query, lookup = _key_lookup()
    key, alongside = apikeys.authenticate(database().engine, _bearer_token(), lookup,
                                          request.view_args)
    if key is None:
        raise unauthorized("Invalid or revoked API key")
    g.api_key, g.workspace_id = key, key.workspace_id
    if query is not None and alongside is not None:
        g.key_facts = (query, query.from_row(alongside))
    now = datetime.now(UTC)
    if apikeys.should_record_use(key, now):
        after_this_request(functools.partial(_record_use, key.id, now))


def _record_use(key_id: str, now: datetime, response: Response) -> Response:
    """In a transaction of its own (the request's may be a read-only snapshot), and only
    as a bookkeeping aside: failing to record it never costs the caller the answer."""
    try:
        with database().sessions() as session:
            apikeys.record_use(session, key_id, now)
            session.commit()
    except SQLAlchemyError:
        log.warning("could not record the use of API key %s", key_id, exc_info=True)
    return response


def require_workspace_key() -> None:
    """A key acts for exactly one workspace; any other workspace's path is 'not found'."""
    require_key()
    workspace_id = (request.view_args or {}).get("workspace_id", "")
    if g.workspace_id != workspace_id:
        raise WorkspaceNotFound(workspace_id)


def caller_key() -> ApiKey:
    key: ApiKey = g.api_key
    return key


def key_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under ``/api/v1`` whose views act for the key's own workspace."""
    bp = Blueprint(name, import_name, url_prefix="/api/v1")
    bp.before_request(require_key)
    return bp


def workspace_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under ``/api/v1/workspaces/<workspace_id>`` that requires a key."""
    bp = Blueprint(name, import_name, url_prefix="/api/v1/workspaces/<workspace_id>")
    bp.before_request(require_workspace_key)
    return bp
