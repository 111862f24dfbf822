"""Types shared by every schema."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from campaign_analytics.pagination import DEFAULT_LIMIT, MAX_LIMIT
from campaign_analytics.timestamps import utc_iso

UtcDatetime = Annotated[datetime, PlainSerializer(utc_iso, return_type=str)]


class Strict(BaseModel):
    """Request models reject unknown fields, so typos are errors, not silent no-ops."""

    model_config = ConfigDict(extra="forbid")


class PageQuery(Strict):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size (max 500)")
    cursor: str | None = Field(None, description="The next_cursor of the previous page")


class Deleted(BaseModel):
    """What a DELETE answers: the id it removed (every DELETE answers 200 with the envelope)."""

    id: str
    deleted: bool


class ErrorInfo(BaseModel):
    code: str
    message: str
