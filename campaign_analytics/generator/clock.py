"""Time for the generator: local days and hours of the workspace zone as UTC instants, and
fast UTC timestamp text for COPY.

Instants are whole seconds since the epoch (``int``): the simulation adds delays to them
millions of times, which is far cheaper than ``datetime`` arithmetic. Local hours are
resolved through ``zoneinfo`` once per hour of the span, so DST days and half-hour zones
are exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DAY = 86_400
HOUR = 3_600
MINUTE = 60

_CLOCK_FACES: tuple[str, ...] = tuple(
    f" {h:02d}:{m:02d}:{s:02d}+00" for h in range(24) for m in range(60) for s in range(60)
)


class LocalCalendar:
    """The workspace's local calendar days ``0 .. days - 1`` starting at ``first_day``."""

    def __init__(self, zone: ZoneInfo, first_day: date, days: int) -> None:
        self.first_day = first_day
        self.days = days
        self.weekdays: tuple[int, ...] = tuple(
            (first_day + timedelta(days=d)).weekday() for d in range(days)
        )
        self.hour_starts: tuple[tuple[int, ...], ...] = tuple(
            _hour_starts(zone, first_day + timedelta(days=d)) for d in range(days)
        )

    def instant(self, day: int, hour: int, second: int) -> int:
        """The UTC instant of ``second`` seconds into local ``hour`` of ``day``."""
        return self.hour_starts[day][hour] + second

    def day_of(self, instant: int) -> int:
        """The local day an instant falls on (clamped to the calendar)."""
        day = min(max((instant - self.hour_starts[0][0]) // DAY, 0), self.days - 1)
        while day > 0 and self.hour_starts[day][0] > instant:
            day -= 1
        while day + 1 < self.days and self.hour_starts[day + 1][0] <= instant:
            day += 1
        return day


def _hour_starts(zone: ZoneInfo, day: date) -> tuple[int, ...]:
    return tuple(
        int(datetime(day.year, day.month, day.day, hour, tzinfo=zone).timestamp())
        for hour in range(24)
    )


class UtcText:
    """Formats instants as ``YYYY-MM-DD HH:MM:SS+00`` from two lookup tables: one string
    concatenation per timestamp instead of a ``datetime`` and ``isoformat`` each."""

    def __init__(self, first: int, last: int) -> None:
        self.base = first - first % DAY
        start = datetime.fromtimestamp(self.base, UTC).date()
        days = (last - self.base) // DAY + 1
        self.dates = tuple((start + timedelta(days=d)).isoformat() for d in range(days))

    def __call__(self, instant: int) -> str:
        day, second = divmod(instant - self.base, DAY)
        return self.dates[day] + _CLOCK_FACES[second]


def to_instant(moment: datetime) -> int:
    """Whole seconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def to_datetime(instant: int) -> datetime:
    return datetime.fromtimestamp(instant, UTC)
