"""Campaign comparison (SPEC §7, §11.14): the chosen rates side by side, each with its
sample size and Wilson interval, and per rate a chi-square test of homogeneity.

Winner rule (the spec leaves ties open): the campaign with the strictly best unrounded
rate among those with a non-zero denominator; ``None`` when the best rate is shared, or
when the test is undefined (``p_value`` null: fewer than two campaigns with data, or
every campaign at 0 % or every one at 100 %, which is a tie anyway).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from fractions import Fraction
from typing import Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import CampaignNotFound
from ..fields import Text
from ..models import Campaign, CampaignBucket
from . import rates
from .bodies import WindowBody, distinct
from .reading import ENGAGEMENT_HELP, Counts, Engagement, as_of, by_key, windowed
from .windows import Window, resolve_window

MIN_CAMPAIGNS, MAX_CAMPAIGNS = 2, 20
SIGNIFICANCE = 0.05


def _known_rate(name: str) -> str:
    if name not in rates.RATES:
        raise ValueError(f"unknown metric {name!r}: use one of {', '.join(rates.RATES)}")
    return name


RateName = Annotated[str, AfterValidator(_known_rate),
                     WithJsonSchema({"type": "string", "enum": list(rates.RATES)})]


class CompareRequest(WindowBody):
    """The body of POST /analytics/compare; the time range reads like an export's."""

    campaign_ids: Annotated[list[Text], Field(min_length=MIN_CAMPAIGNS, max_length=MAX_CAMPAIGNS),
                            AfterValidator(distinct)]
    metrics: Annotated[list[RateName], Field(min_length=1), AfterValidator(distinct)] = Field(
        default_factory=lambda: list(rates.RATES),
        description="Any of the eight rates; default all of them")
    engagement: Engagement = Field(Engagement.ALL, description=ENGAGEMENT_HELP)

    def window(self, timezone: str, now: datetime) -> Window:
        return resolve_window(self.time_range, self.start_date, self.end_date,
                              self.timezone or timezone, now)


def compare(session: Session, workspace_id: str, request: CompareRequest,
            window: Window) -> dict[str, Any]:
    """Campaigns in the order asked; any unknown, deleted or foreign id is not found."""
    campaigns = {c.id: c for c in session.scalars(select(Campaign).where(
        Campaign.workspace_id == workspace_id, Campaign.deleted_at.is_(None),
        Campaign.id.in_(request.campaign_ids)))}
    missing = [campaign_id for campaign_id in request.campaign_ids if campaign_id not in campaigns]
    if missing:
        raise CampaignNotFound(missing[0])
    counts = by_key(session, windowed(CampaignBucket, workspace_id, window,
                                      CampaignBucket.campaign_id.in_(request.campaign_ids),
                                      key=CampaignBucket.campaign_id), request.engagement)
    per_campaign = [(campaign_id, counts.get(campaign_id, Counts()))
                    for campaign_id in request.campaign_ids]
    return {
        "time_range": window.as_dict(),
        "as_of": as_of(session, workspace_id),
        "comparison": [_entry(campaigns[campaign_id], numbers, request.metrics)
                       for campaign_id, numbers in per_campaign],
        "statistical_significance": [_significance(metric, per_campaign)
                                     for metric in request.metrics],
    }


def _samples(metric: str, counts: Counts) -> tuple[int, int]:
    numerator, denominator = rates.RATES[metric]
    return counts[numerator], counts[denominator]


def _entry(campaign: Campaign, counts: Counts, metrics: list[str]) -> dict[str, Any]:
    samples = {metric: _samples(metric, counts) for metric in metrics}
    return {
        "campaign_id": campaign.id,
        "campaign_name": campaign.name,
        "metrics": {metric: rates.percent(*samples[metric]) for metric in metrics},
        "sample_sizes": {metric: samples[metric][1] for metric in metrics},
        "intervals": {metric: asdict(rates.wilson(*samples[metric])) for metric in metrics},
    }


def _significance(metric: str, per_campaign: list[tuple[str, Counts]]) -> dict[str, Any]:
    samples = [(campaign_id, *_samples(metric, counts)) for campaign_id, counts in per_campaign]
    p_value = rates.chi_square_p([(successes, trials) for _, successes, trials in samples])
    return {
        "metric": metric,
        "winner": None if p_value is None else _winner(metric, samples),
        "p_value": p_value,
        "is_significant": p_value is not None and p_value < SIGNIFICANCE,
    }


def _winner(metric: str, samples: list[tuple[str, int, int]]) -> str | None:
    """The one campaign with the best unrounded rate, or None if the best is shared."""
    sign = -1 if metric in rates.LOWER_IS_BETTER else 1
    scored = [(sign * Fraction(successes, trials), campaign_id)
              for campaign_id, successes, trials in samples if trials > 0]
    best = max(score for score, _ in scored)
    leaders = [campaign_id for score, campaign_id in scored if score == best]
    return leaders[0] if len(leaders) == 1 else None
