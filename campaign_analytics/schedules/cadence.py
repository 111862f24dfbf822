"""When a schedule runs: ``daily`` at HH:MM, ``weekly`` on a weekday at HH:MM, or a
five-field ``cron`` expression, in the schedule's IANA timezone.

Daily and weekly are written as the cron expression they stand for (``30 9 * * *``,
``30 9 * * 1``), so one evaluator, cronsim, computes every slot. Slots are wall-clock
times of the zone, so "daily 09:00 Europe/Berlin" stays 09:00 in Berlin across DST.
cronsim follows Debian cron on DST days:

* a local time that does not exist (spring forward) runs once, at the first valid time
  after the gap (02:30 on the last Sunday of March in Berlin runs at 03:00);
* a local time that happens twice (fall back) runs once, at its first occurrence, when the
  expression fixes the minute and the hour; an expression over every hour
  (``*/15 * * * *``) runs in both occurrences, as the clock passes them.

cronsim loses the ``fold`` of a start inside a repeated hour (it may answer a slot before
the start, or the first occurrence instead of the second); ``next_slot`` and
``latest_slot`` compare instants in UTC, so they never depend on it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import islice
from typing import Annotated
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..models.schedule import CadenceType

CRON_FIELDS = 5
# Whatever cronsim answers, a slot is found within this many steps (the fold above costs
# one extra step at most).
MAX_STEPS = 10
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def cron(self) -> int:
        """Cron's day-of-week number: Sunday is 0."""
        return (list(Weekday).index(self) + 1) % 7


def _valid_cron(expression: str) -> str:
    """Five fields (minute hour day-of-month month day-of-week) cronsim accepts and that
    name at least one real date; written with single spaces."""
    fields = expression.split()
    if len(fields) != CRON_FIELDS:
        raise ValueError("must have five fields: minute hour day-of-month month day-of-week")
    normal = " ".join(fields)
    try:
        CronSim(normal, datetime.now(UTC))
    except CronSimError as exc:
        raise ValueError(f"is not a valid cron expression: {exc}") from exc
    return normal


CronExpression = Annotated[str, Field(min_length=9, max_length=200, examples=["0 9 * * 1-5"]),
                           AfterValidator(_valid_cron)]
ClockTime = Annotated[str, Field(pattern=HHMM, description="HH:MM, 24-hour local time",
                                 examples=["09:00"])]
FIELDS_OF = {
    CadenceType.DAILY: ("time",),
    CadenceType.WEEKLY: ("weekday", "time"),
    CadenceType.CRON: ("cron",),
}


class Cadence(BaseModel):
    """``{"type": "daily", "time": "09:00"}``, ``{"type": "weekly", "weekday": "monday",
    "time": "09:00"}`` or ``{"type": "cron", "cron": "*/15 * * * *"}``."""

    model_config = ConfigDict(extra="forbid")

    type: CadenceType
    time: ClockTime | None = None
    weekday: Weekday | None = None
    cron: CronExpression | None = Field(
        None, description="type cron: minute hour day-of-month month day-of-week")

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> Cadence:
        wanted = FIELDS_OF[self.type]
        missing = [name for name in wanted if getattr(self, name) is None]
        extra = [name for name in ("time", "weekday", "cron")
                 if name not in wanted and getattr(self, name) is not None]
        problems = ([f"{self.type.value} needs {', '.join(missing)}"] if missing else []) + (
            [f"{self.type.value} takes no {', '.join(extra)}"] if extra else [])
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def expression(self) -> str:
        """The cron expression the cadence runs on."""
        if self.type is CadenceType.CRON:
            assert self.cron is not None
            return self.cron
        assert self.time is not None
        hour, minute = (int(part) for part in self.time.split(":"))
        weekday = self.weekday.cron if self.weekday is not None else "*"
        return f"{minute} {hour} * * {weekday}"


def describe(expression: str) -> str:
    """The expression in English words ("At 09:00 on Monday")."""
    return str(CronSim(expression, datetime.now(UTC)).explain())


def next_slot(expression: str, timezone: str, after: datetime) -> datetime | None:
    """The first slot strictly after ``after``, in UTC; None if there is none."""
    local = after.astimezone(ZoneInfo(timezone))
    for slot in islice(CronSim(expression, local), MAX_STEPS):
        if slot > after:
            return slot.astimezone(UTC)
    return None


def latest_slot(expression: str, timezone: str, due: datetime, now: datetime) -> datetime:
    """The last slot at or before ``now``, given ``due``, a slot at or before ``now`` (the
    schedule's ``next_run_at``): the one run a schedule makes however many slots it missed.

    cronsim's backward step gives a candidate (a slot, possibly an earlier one than asked
    near a fall-back hour); stepping forward from it finds the last one."""
    # Slots fall on whole minutes: counting back from a second past the minute includes it.
    minute = now.astimezone(ZoneInfo(timezone)).replace(second=0, microsecond=0)
    backward = CronSim(expression, minute + timedelta(seconds=1), reverse=True)
    candidate = next(backward, None)
    slot = due
    if candidate is not None and due < candidate <= now:
        slot = candidate.astimezone(UTC)
    while (following := next_slot(expression, timezone, slot)) is not None and following <= now:
        slot = following
    return slot
