"""Workspaces (tenants)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from sqlalchemy.orm import Session

from .apikeys import create_key
from .errors import ValidationFailed, WorkspaceNotFound
from .ids import new_id
from .models import Workspace


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def validate_timezone(name: str, field: str = "timezone") -> str:
    """An IANA zone name, else a VALIDATION_ERROR naming the field."""
    if name in _iana_zones():
        return name
    raise ValidationFailed(f"Unknown timezone {name!r}", {field: ["must be an IANA time zone"]})


def create_workspace(session: Session, name: str, timezone: str = "UTC") -> tuple[Workspace, str]:
    """Create a workspace and its first API key; returns the plain key (shown once)."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationFailed("Invalid workspace name", {"name": ["must be 1-200 characters"]})
    workspace = Workspace(id=new_id("ws"), name=name, timezone=validate_timezone(timezone))
    session.add(workspace)
    session.flush()
    _, plain = create_key(session, workspace.id, name="default")
    session.commit()
    return workspace, plain


def get_workspace(session: Session, workspace_id: str) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise WorkspaceNotFound(workspace_id)
    return workspace
