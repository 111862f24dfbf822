"""Bearer API-key authentication and workspace scoping for ``/workspaces/<id>/…`` routes."""

from __future__ import annotations

from flask import Blueprint, g, request

from campaign_analytics import apikeys
from campaign_analytics.errors import WorkspaceNotFound
from campaign_analytics.models import ApiKey

from .database import db_session
from .errors import unauthorized


def _bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Missing API key: send 'Authorization: Bearer <api key>'")
    return token.strip()


def require_key() -> None:
    """The caller's active key (``g.api_key``); its workspace (``g.workspace_id``) is the
    only one the request may see, and the one whose rate limits it spends."""
    key = apikeys.authenticate(db_session(), _bearer_token())
    if key is None:
        raise unauthorized("Invalid or revoked API key")
    g.api_key, g.workspace_id = key, key.workspace_id


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
