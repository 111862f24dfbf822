"""The caller's workspace."""

from __future__ import annotations

from flask import Response

from campaign_analytics.workspaces import get_workspace

from ..auth import workspace_blueprint
from ..database import db_session
from ..openapi import operation
from ..responses import ok
from ..schemas.workspaces import WorkspaceOut

bp = workspace_blueprint("workspaces", __name__)


@bp.get("")
@operation("The workspace this key belongs to", response=WorkspaceOut, tags=("workspaces",))
def show(workspace_id: str) -> Response:
    return ok(WorkspaceOut.of(get_workspace(db_session(), workspace_id)))
