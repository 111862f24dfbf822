"""The send-time engagement heatmap (SPEC §7, §11.13).

Counts the messages *sent* in the window, each with its engagement whenever it came (the
``slot_*`` counters of the campaign rollup), by the local day of week and hour of its send
bucket. Every IANA offset is a whole number of quarter hours, so each 15-minute bucket
lies inside one local hour; in a DST fall-back the repeated hour counts twice as that hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

from sqlalchemy import extract, func
from sqlalchemy.orm import Session

from ..campaigns import get_campaign
from ..models import CampaignBucket
from . import rates
from .reading import Counts, Engagement, as_of, by_key, windowed
from .windows import Window

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Local hours [start, end) of each time period, in display order.
PERIODS: dict[str, range] = {
    "nighttime": range(0, 6),
    "early_morning": range(6, 9),
    "office_hours": range(9, 17),
    "evening": range(17, 24),
}
HOURS = range(24)
# Weights of the engagement score, per unique message (they sum to 1).
WEIGHTS = {"opened": Fraction(3, 10), "clicked": Fraction(4, 10), "replied": Fraction(3, 10)}
# The fewest sends an hour cell needs to be a send-time recommendation.
MIN_SENDS_FOR_OPTIMAL = 20


class Granularity(StrEnum):
    PERIOD = "period"
    HOUR = "hour"


@dataclass(frozen=True)
class Cell:
    """Sends and the unique engagement they drew, for one slot of the week."""

    sent: int = 0
    opened: int = 0
    clicked: int = 0
    replied: int = 0

    def __add__(self, other: Cell) -> Cell:
        return Cell(self.sent + other.sent, self.opened + other.opened,
                    self.clicked + other.clicked, self.replied + other.replied)

    @property
    def score(self) -> Fraction:
        """Unrounded engagement score, 0-100; 0 without sends."""
        weighted = (WEIGHTS["opened"] * self.opened + WEIGHTS["clicked"] * self.clicked
                    + WEIGHTS["replied"] * self.replied)
        return weighted * 100 / self.sent if self.sent else Fraction(0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "emails_sent": self.sent, "emails_opened": self.opened,
            "emails_clicked": self.clicked, "emails_replied": self.replied,
            "open_rate": rates.percent(self.opened, self.sent),
            "engagement_score": rates.round_half_up(self.score),
        }


def engagement_heatmap(
    session: Session, workspace_id: str, window: Window, granularity: Granularity, *,
    campaign_id: str | None = None, engagement: Engagement = Engagement.ALL,
) -> dict[str, Any]:
    """Every cell of the week, zeros included, and the best hour to send."""
    fresh = as_of(session, workspace_id)  # before the numbers: see deliverability()
    conditions = []
    if campaign_id is not None:
        campaign_id = get_campaign(session, workspace_id, campaign_id).id
        conditions.append(CampaignBucket.campaign_id == campaign_id)
    hours = hour_cells(session, workspace_id, window, *conditions, engagement=engagement)
    if granularity is Granularity.HOUR:
        cells = [{"day_of_week": DAYS[day], "hour": hour, **hours[day, hour].as_dict()}
                 for day in range(7) for hour in HOURS]
    else:
        cells = [{"day_of_week": DAYS[day], "time_period": period,
                  **sum((hours[day, hour] for hour in span), Cell()).as_dict()}
                 for day in range(7) for period, span in PERIODS.items()]
    return {
        "time_range": window.as_dict(),
        "as_of": fresh,
        "granularity": granularity.value,
        "heatmap": cells,
        "optimal_send_time": optimal_send_time(hours),
    }


def hour_cells(session: Session, workspace_id: str, window: Window,
               *conditions: Any, engagement: Engagement = Engagement.ALL,
               ) -> dict[tuple[int, int], Cell]:
    """(day 0 = Monday, local hour) → cell, for all 168 slots."""
    local = func.timezone(window.timezone, CampaignBucket.bucket)
    slot = (extract("isodow", local) - 1) * 24 + extract("hour", local)
    sums: dict[Any, Counts] = by_key(session, windowed(CampaignBucket, workspace_id, window,
                                                       *conditions, key=slot), engagement)
    cells = {(day, hour): Cell() for day in range(7) for hour in HOURS}
    for key, counts in sums.items():
        day, hour = divmod(int(key), 24)
        cells[day, hour] = Cell(counts["sent"], counts["slot_opened"], counts["slot_clicked"],
                                counts["slot_replied"])
    return cells


def optimal_send_time(hours: dict[tuple[int, int], Cell]) -> dict[str, Any] | None:
    """The hour cell with the highest unrounded score among those with at least
    ``MIN_SENDS_FOR_OPTIMAL`` sends; ties go to more sends (more evidence), then to the
    earliest slot of the week (Monday 00:00 first). ``None`` when no cell qualifies."""
    candidates = [(slot, cell) for slot, cell in hours.items()
                  if cell.sent >= MIN_SENDS_FOR_OPTIMAL]
    if not candidates:
        return None
    (day, hour), cell = min(candidates,
                            key=lambda item: (-item[1].score, -item[1].sent, item[0]))
    return {"day_of_week": DAYS[day], "hour": hour,
            "engagement_score": rates.round_half_up(cell.score)}
