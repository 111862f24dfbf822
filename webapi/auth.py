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


def require_key() -> ApiKey:
    """The caller's active key; its workspace is the only one the request may see."""
    key = apikeys.authenticate(db_session(), _bearer_token())
    if key is None:
        raise unauthorized("Invalid or revoked API key")
    g.workspace_id = key.workspace_id
    return key


def require_workspace_key() -> None:
    """A key acts for exactly one workspace; any other workspace's path is 'not found'."""
    key = require_key()
    workspace_id = (request.view_args or {}).get("workspace_id", "")
    if key.workspace_id != workspace_id:
        raise WorkspaceNotFound(workspace_id)


def workspace_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under ``/api/v1/workspaces/<workspace_id>`` that requires a key."""
    bp = Blueprint(name, import_name, url_prefix="/api/v1/workspaces/<workspace_id>")
    bp.before_request(require_workspace_key)
    return bp
