"""What request bodies with a time range share (compare, exports): the range's fields,
read like the analytics query parameters, and a check that a list names each value once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .windows import DayOrInstant, PeriodName


def distinct(values: list[str] | None) -> list[str] | None:
    """A pydantic after-validator: every value once (a repeat is a mistake, not a no-op)."""
    if values is None:
        return None
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise ValueError(f"each value may appear once; repeated: {', '.join(repeated)}")
    return values


class WindowBody(BaseModel):
    """``time_range`` (a period, or custom with ``startDate`` and ``endDate``) and
    ``timezone``; see ``windows.resolve_window``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    time_range: PeriodName | None = Field(
        None, description="7d, 14d, 30d (default), 90d, or custom with startDate and endDate",
        examples=["30d"])
    start_date: DayOrInstant | None = Field(None, alias="startDate", examples=["2026-11-01"])
    end_date: DayOrInstant | None = Field(None, alias="endDate", examples=["2026-11-30"])
    timezone: str | None = Field(
        None, description="IANA time zone of local days; default the workspace's")
