"""Workspace models."""

from __future__ import annotations

from pydantic import BaseModel

from campaign_analytics.models import Workspace

from .common import UtcDatetime


class WorkspaceOut(BaseModel):
    id: str
    name: str
    timezone: str
    created_at: UtcDatetime

    @classmethod
    def of(cls, workspace: Workspace) -> WorkspaceOut:
        return cls(id=workspace.id, name=workspace.name, timezone=workspace.timezone,
                   created_at=workspace.created_at)
