"""How many leads start on each day, so a data set ends with the number of events asked for
while being written day after day.

Writing in time order is realistic (identity ids grow with time, as with live ingestion)
and keeps the time indexes' inserts local, which is most of COPY's cost on a large table.
The count of events a lead produces is only known once it is simulated, so the quota of
each day is recomputed from the events still missing, and a pilot run on its own random
stream tells how many events a lead yields (fewer near ``end``: its future is unwritten).
"""

from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate

from .identifiers import GeneratedIds
from .model import DayPlan, Plan
from .simulate import LeadSimulator

HORIZON = 15  # leads started this many days or more before ``end`` have their full history
PILOT_LEADS = 300  # per pilot bucket


class _Rounding:
    """Rounds a series of amounts while carrying the fractions, so small data sets still
    get their leads and the series sums right."""

    def __init__(self) -> None:
        self.carry = 0.0

    def __call__(self, wanted: float) -> int:
        total = wanted + self.carry
        whole = int(total)
        self.carry = total - whole
        return whole


class LeadQuota:
    """Leads for each past day (given the events still to write) and each future day."""

    def __init__(self, plan: Plan, per_lead: tuple[float, ...], target: int) -> None:
        self.days = plan.past_days
        self.future = plan.future_days
        self.future_from = len(self.days) - len(self.future)
        expected = [
            day.weight * per_lead[min(plan.end_day - day.day, HORIZON)] for day in self.days
        ]
        # Events expected from each day to the last, per lead of unit weight.
        self.expected_from = tuple(reversed(tuple(accumulate(reversed(expected)))))
        self.per_weight = target / self.expected_from[0] if self.expected_from[0] else 0.0
        self.cumulative = tuple(accumulate(day.weight for day in self.days))
        self.past_rounding, self.future_rounding = _Rounding(), _Rounding()

    def leads_on(self, index: int, missing_events: int) -> int:
        """Leads to start on ``self.days[index]`` when ``missing_events`` are still to come."""
        if self.expected_from[index] <= 0:
            return 0
        wanted = missing_events * self.days[index].weight / self.expected_from[index]
        return self.past_rounding(wanted)

    def future_day_with(self, index: int) -> DayPlan | None:
        """The day after ``end`` whose leads are written along with past day ``index``: the
        last past days carry one each, as such leads were found in the last weeks (and a
        batch of leads alone would be the largest in memory)."""
        offset = index - self.future_from
        return self.future[offset] if 0 <= offset < len(self.future) else None

    def future_leads(self, day: DayPlan) -> int:
        """Leads due after ``end``: they exist, but no e-mail has gone out yet."""
        return self.future_rounding(self.per_weight * day.weight)

    def any_day(self, rng: random.Random) -> DayPlan:
        """A past day drawn by its weight, for topping up the last few events."""
        return self.days[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def events_per_lead(plan: Plan, ids: GeneratedIds) -> tuple[float, ...]:
    """Mean events of a lead by days before ``end`` (``0 .. HORIZON``, the last for all
    older days), from a pilot simulation that leaves the data set's random stream alone."""
    pilot = LeadSimulator(random.Random(f"pilot:{ids.seed}"), ids, plan)
    by_day = {day.day: day for day in plan.past_days}
    older = [day for day in plan.past_days if plan.end_day - day.day >= HORIZON]
    means = []
    for distance in range(HORIZON + 1):
        recent = by_day.get(plan.end_day - distance)
        if distance < HORIZON and recent is None:
            means.append(0.0)
            continue
        days = [recent] if distance < HORIZON and recent is not None else older
        total = sum(
            pilot.lead(days[int(pilot.rng.random() * len(days))]).event_count
            for _ in range(PILOT_LEADS)
        )
        means.append(total / PILOT_LEADS)
    return tuple(means)
