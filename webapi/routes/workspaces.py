"""The caller's workspace: found from the key alone, read and changed."""

from __future__ import annotations

from flask import Response, current_app

from campaign_analytics.workspaces import WorkspaceChanges, get_workspace, update_workspace

from ..auth import caller_key, key_blueprint, workspace_blueprint
from ..database import db_session
from ..openapi import operation
from ..responses import ok
from ..schemas.workspaces import CallerOut, KeyOut, RefreshScheduleOut, WorkspaceOut

bp = workspace_blueprint("workspaces", __name__)
caller_bp = key_blueprint("caller", __name__)


@caller_bp.get("/me")
@operation(
    "The key's own workspace and the key itself (never its secret)", response=CallerOut,
    tags=("workspaces",),
    description="For a client that holds only a key: it learns the workspace id every "
                "other path needs.",
)
def me() -> Response:
    key = caller_key()
    settings = current_app.extensions["settings"]
    return ok(CallerOut(
        workspace=WorkspaceOut.of(get_workspace(db_session(), key.workspace_id)),
        key=KeyOut.of(key),
        refresh=RefreshScheduleOut(incremental_every_seconds=settings.refresh_incremental_seconds,
                                   full_cron=settings.refresh_full_cron)))


@bp.get("")
@operation("The workspace this key belongs to", response=WorkspaceOut, tags=("workspaces",))
def show(workspace_id: str) -> Response:
    return ok(WorkspaceOut.of(get_workspace(db_session(), workspace_id)))


@bp.patch("")
@operation("Rename the workspace or change its timezone", response=WorkspaceOut,
           body=WorkspaceChanges, tags=("workspaces",),
           description="The timezone is the default of every windowed read from now on.")
def change(workspace_id: str, body: WorkspaceChanges) -> Response:
    return ok(WorkspaceOut.of(update_workspace(db_session(), workspace_id, body)))
