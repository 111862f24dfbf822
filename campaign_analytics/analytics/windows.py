"""Time windows and buckets in a timezone (SPEC §7 "Time range", §11.1-4).

A window is a half-open UTC interval whose ends fall on the rollups' 15-minute grain, so
every number read from the rollups for it is exact. Days, ISO weeks and months are local.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import WithJsonSchema

from ..errors import InvalidTimeRange
from ..workspaces import validate_timezone

GRAIN = timedelta(minutes=15)
MAX_SPAN_DAYS = 366
PERIOD_DAYS = {"7d": 7, "14d": 14, "30d": 30, "90d": 90}
CUSTOM = "custom"
DEFAULT_PERIOD = "30d"
# The days a custom range may name: wide enough for any campaign, narrow enough that every
# computation on a window (the day after its end, month buckets, the same instant in any
# zone) stays within the years 1-9999 that dates can hold.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9998, 12, 31)
# What a request may name, for the OpenAPI document; resolve_window still answers any other
# value with INVALID_TIME_RANGE (SPEC §4), not a generic validation error.
PeriodName = Annotated[str, WithJsonSchema({"type": "string", "enum": [*PERIOD_DAYS, CUSTOM]})]
# startDate / endDate: a date (a whole local day) or an ISO 8601 datetime.
DayOrInstant = Annotated[str, WithJsonSchema({"anyOf": [
    {"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]})]


class Grouping(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, eq=False)
class Window:
    start: datetime  # inclusive, aware, in ``timezone``
    end: datetime  # exclusive
    period: str
    timezone: str

    @cached_property  # windows are keys of kept answers: hashed and compared per request
    def _instants(self) -> tuple[datetime, datetime, str, str]:
        return self.start.astimezone(UTC), self.end.astimezone(UTC), self.period, self.timezone

    # Equal and hashed by instant: two local times of the same zone compare by wall clock,
    # fold ignored, so 01:30 EDT and 01:30 EST (an hour apart) would otherwise be one key.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Window) and self._instants == other._instants

    def __hash__(self) -> int:
        return hash(self._instants)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def as_dict(self) -> dict[str, str]:
        return {"start": _iso(self.start), "end": _iso(self.end), "period": self.period,
                "timezone": self.timezone}

    def days(self) -> list[date]:
        """Every local day the window touches, in order."""
        first = self.start.astimezone(self.zone).date()
        last = (self.end - GRAIN).astimezone(self.zone).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def buckets(self, grouping: Grouping) -> list[date]:
        """The first local day of every day, week or month bucket, in order."""
        return sorted({bucket_of(day, grouping) for day in self.days()})


def bucket_of(day: date, grouping: Grouping) -> date:
    if grouping is Grouping.WEEK:
        return day - timedelta(days=day.weekday())
    if grouping is Grouping.MONTH:
        return day.replace(day=1)
    return day


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant the local day begins (a DST gap at midnight moves it forward)."""
    naive = datetime.combine(day, time())
    aware = naive.replace(tzinfo=zone)
    round_trip = aware.astimezone(UTC).astimezone(zone)
    return aware if round_trip.replace(tzinfo=None) == naive else round_trip


def last_days(days: int, timezone: str, now: datetime) -> Window:
    """The ``days`` local calendar days ending with today, today included."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    return Window(local_midnight(today - timedelta(days=days - 1), zone),
                  local_midnight(today + timedelta(days=1), zone), f"{days}d", timezone)


def resolve_window(
    period: str | None, start: str | None, end: str | None, timezone: str, now: datetime,
    *, on_grain: bool = True,
) -> Window:
    """The window a request names; ``INVALID_TIME_RANGE`` for anything it cannot mean.
    ``on_grain``: datetimes must fall on the rollups' quarter hours (readers of raw rows,
    such as exports of events, take any instant)."""
    timezone = validate_timezone(timezone)
    if period is None:
        period = CUSTOM if start is not None or end is not None else DEFAULT_PERIOD
    if period in PERIOD_DAYS:
        if start is not None or end is not None:
            raise InvalidTimeRange(f"startDate and endDate need timeRange=custom, not {period}")
        return last_days(PERIOD_DAYS[period], timezone, now)
    if period != CUSTOM:
        choices = ", ".join([*PERIOD_DAYS, CUSTOM])
        raise InvalidTimeRange(f"Unknown timeRange {period!r}: use one of {choices}")
    if start is None or end is None:
        raise InvalidTimeRange("timeRange=custom needs both startDate and endDate")
    zone = ZoneInfo(timezone)
    window = Window(_bound(start, zone, "startDate", end=False, on_grain=on_grain),
                    _bound(end, zone, "endDate", end=True, on_grain=on_grain), CUSTOM, timezone)
    if window.start >= window.end:
        raise InvalidTimeRange("startDate must be before endDate")
    if len(window.days()) > MAX_SPAN_DAYS:
        raise InvalidTimeRange(f"A custom range spans at most {MAX_SPAN_DAYS} days")
    return window


def _bound(value: str, zone: ZoneInfo, name: str, *, end: bool, on_grain: bool) -> datetime:
    """A date is a whole local day (an end date includes its day); a datetime is exact."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if not FIRST_DAY <= day <= LAST_DAY:
                raise _unsupported(name, value)
            return local_midnight(day + timedelta(days=1) if end else day, zone)
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
        instant = instant.replace(tzinfo=zone) if instant.tzinfo is None else instant
        local = instant.astimezone(zone)
    except ValueError:
        raise InvalidTimeRange(
            f"{name} {value!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 datetime"
        ) from None
    except OverflowError:  # year 1 or 9999 seen from another zone
        raise _unsupported(name, value) from None
    if not FIRST_DAY <= local.date() <= LAST_DAY:
        raise _unsupported(name, value)
    if on_grain and (instant - datetime(2000, 1, 1, tzinfo=UTC)) % GRAIN:
        raise InvalidTimeRange(
            f"{name} {value!r} must fall on a quarter hour (:00, :15, :30, :45): "
            "the numbers are kept at 15-minute resolution"
        )
    return local


def _unsupported(name: str, value: str) -> InvalidTimeRange:
    return InvalidTimeRange(
        f"{name} {value!r} is outside the supported dates ({FIRST_DAY} to {LAST_DAY})")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment.utcoffset() == timedelta(0) \
        else moment.isoformat()
