"""Workspace models."""

from __future__ import annotations

from pydantic import BaseModel, Field

from campaign_analytics.models import ApiKey, Workspace

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


class KeyOut(BaseModel):
    id: str
    name: str | None
    prefix: str

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(id=key.id, name=key.name, prefix=key.prefix)


class RefreshScheduleOut(BaseModel):
    incremental_every_seconds: float = Field(description="How often beat brings the "
                                                         "numbers up to date")
    full_cron: str = Field(description="When beat rebuilds them (cron, UTC)")


class CallerOut(BaseModel):
    workspace: WorkspaceOut
    key: KeyOut
    refresh: RefreshScheduleOut
