"""Workspaces (tenants)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, ConfigDict, Field
from sqlalchemy.orm import Session

from .apikeys import create_key
from .errors import ValidationFailed, WorkspaceNotFound
from .fields import Changes, Text
from .ids import new_id
from .models import Workspace


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


ZONE_RULE = "must be an IANA time zone"


def validate_timezone(name: str, field: str = "timezone") -> str:
    """An IANA zone name, else a VALIDATION_ERROR naming the field."""
    if name in _iana_zones():
        return name
    raise ValidationFailed(f"Unknown timezone {name!r}", {field: [ZONE_RULE]})


def _known_zone(name: str) -> str:
    """``validate_timezone`` for a pydantic field: its error becomes the field's detail."""
    if name not in _iana_zones():
        raise ValueError(ZONE_RULE)
    return name


class WorkspaceChanges(Changes):
    """Only the fields present change. The rollups are kept in UTC, so a new timezone
    applies to every read at once, history included, without a refresh."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    timezone: Annotated[str, AfterValidator(_known_zone)] | None = Field(
        None, description="IANA name: the default of every windowed read", examples=["UTC"])


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


def update_workspace(session: Session, workspace_id: str, changes: WorkspaceChanges) -> Workspace:
    workspace = get_workspace(session, workspace_id)
    for name, value in changes.model_dump(exclude_unset=True).items():
        setattr(workspace, name, value)
    session.commit()
    return workspace
