"""Reading the rollups: counter sums over a window, by local day or by any key.

Every reader filters by workspace first; the window's ends are on the rollup grain, so
the sums are exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Date, Select, cast, func, literal, select
from sqlalchemy.orm import Session

from ..lru import Lru
from ..models import Campaign, RefreshState
from ..models.rollup import COUNTERS
from .windows import Window

T = TypeVar("T")

REPLY_CLASSES = {
    "interested": "replies_interested",
    "not_interested": "replies_not_interested",
    "out_of_office": "replies_out_of_office",
    "replied": "replies_other",
}


class Engagement(StrEnum):
    """Whose opens and clicks count."""

    ALL = "all"
    HUMAN = "human"


ENGAGEMENT_HELP = (
    "all (default): every open and click; human: machine opens (privacy proxies) and bot "
    "clicks (link scanners) left out, a person's click counting as an open"
)
# What each engagement counter reads as when only people count.
HUMAN_VIEW = {
    "opened": "human_opened", "clicked": "human_clicked", "total_opens": "human_total_opens",
    "total_clicks": "human_total_clicks", "slot_opened": "slot_human_opened",
    "slot_clicked": "slot_human_clicked",
}


class Counts(dict[str, int]):
    """Counter sums plus the two derived totals every reader needs."""

    def __init__(self, values: dict[str, int] | None = None) -> None:
        values = values or {}
        super().__init__({name: int(values.get(name) or 0) for name in COUNTERS})
        self["bounced"] = self["bounced_hard"] + self["bounced_soft"]
        self["total_replies"] = sum(self[column] for column in REPLY_CLASSES.values())

    def __add__(self, other: dict[str, int]) -> Counts:  # type: ignore[override]
        return Counts({name: self[name] + other[name] for name in COUNTERS})

    def seen_by(self, engagement: Engagement) -> Counts:
        """The same numbers with only people's opens and clicks in the engagement ones."""
        if engagement is Engagement.ALL:
            return self
        return Counts({**self, **{name: self[human] for name, human in HUMAN_VIEW.items()}})


def _sums(model: Any, columns: Iterable[str] = COUNTERS) -> list[Any]:
    return [func.sum(getattr(model, name)).label(name) for name in columns]


def _local_day(model: Any, timezone: str) -> Any:
    return cast(func.timezone(timezone, model.bucket), Date)


def windowed(model: Any, workspace_id: str, window: Window | None, *conditions: Any,
             key: Any = None, columns: Iterable[str] = COUNTERS,
             live_only: bool = True) -> Select[Any]:
    """Sums of the counters, grouped by ``key`` (or none), of live campaigns only unless
    the caller filters deleted ones itself."""
    keys = [key.label("key")] if key is not None else [literal(None).label("key")]
    query = select(*keys, *_sums(model, columns)).where(model.workspace_id == workspace_id,
                                                          *conditions)
    if live_only:
        query = query.join(Campaign, Campaign.id == model.campaign_id).where(
            Campaign.deleted_at.is_(None))
    if window is not None:
        query = query.where(model.bucket >= window.start, model.bucket < window.end)
    return query.group_by(keys[0]) if key is not None else query.group_by()


def by_key(session: Session, query: Select[Any],
           engagement: Engagement = Engagement.ALL) -> dict[Any, Counts]:
    return {row.key: Counts(row._asdict()).seen_by(engagement) for row in session.execute(query)}


def total(session: Session, query: Select[Any],
          engagement: Engagement = Engagement.ALL) -> Counts:
    row = session.execute(query).one()
    return Counts(row._asdict()).seen_by(engagement)


def by_day(session: Session, model: Any, workspace_id: str, window: Window,
           *conditions: Any, engagement: Engagement = Engagement.ALL) -> dict[date, Counts]:
    return by_key(session, windowed(model, workspace_id, window, *conditions,
                                    key=_local_day(model, window.timezone)), engagement)


def as_of(session: Session, workspace_id: str) -> datetime | None:
    """Until the first refresh there is nothing in the rollups: ``None``. Read it before
    the numbers: a refresh committing meanwhile can only make them newer than it says."""
    return session.scalar(select(RefreshState.as_of).where(
        RefreshState.workspace_id == workspace_id))


class RollupCache:
    """Numbers read from the rollups, keyed by the refresh that wrote them
    (``refresh_state.refreshed_at``): they cannot change until the next one, so a hit is
    exact. Nothing is cached before a workspace's first refresh."""

    def __init__(self, size: int) -> None:
        self._lru = Lru(size)

    def get_or_compute(self, workspace_id: str, refreshed_at: datetime | None,
                       key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        if refreshed_at is None:
            return compute()
        return self._lru.get_or_compute((workspace_id, refreshed_at, *key), compute)


ROLLUP_CACHE = RollupCache(512)
