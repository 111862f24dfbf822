"""Workspace analytics: overview, snapshot, compare and accounts. The compare body is the
domain's own input model; windows, freshness and time ranges are shared with analytics."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from campaign_analytics.analytics.compare import CompareRequest

from .analytics import Freshness, TimeRangeOut, WindowQuery
from .common import Strict, UtcDatetime

__all__ = ["CompareRequest", "WindowQuery"]

Health = Literal["healthy", "moderate", "low"]


class OverviewSummary(BaseModel):
    total_campaigns: int = Field(description="Every campaign not deleted, archived included")
    active_campaigns: int = Field(description="Campaigns whose status is active")
    emails_sent: int
    emails_delivered: int
    emails_opened: int
    emails_clicked: int
    emails_replied: int
    machine_opens: int = Field(description="Messages opened by a machine")
    bot_clicks: int = Field(description="Messages whose links a machine clicked")
    inferred_opens: int = Field(description="Messages a person clicked but never opened")


class OverviewRates(BaseModel):
    """Percentages 0-100, 2 decimals, 0 when the denominator is 0."""

    delivery_rate: float
    open_rate: float
    click_rate: float
    reply_rate: float


class TopCampaign(BaseModel):
    campaign_id: str
    campaign_name: str
    status: str
    emails_sent: int
    emails_delivered: int
    emails_opened: int
    emails_replied: int
    open_rate: float
    click_rate: float
    reply_rate: float


class OverviewOut(Freshness):
    time_range: TimeRangeOut
    summary: OverviewSummary
    rates: OverviewRates
    top_campaigns: list[TopCampaign] = Field(
        description="At most 5 campaigns with a delivery in the window, by unrounded "
                    "reply_rate, then emails_sent, then campaign id")


class CampaignRow(TopCampaign):
    created_at: UtcDatetime
    leads: int = Field(description="Every lead of the campaign, now (not windowed)")


class CampaignTableOut(Freshness):
    time_range: TimeRangeOut
    campaigns: list[CampaignRow] = Field(
        description="Every campaign not deleted, newest first, zeros included")


class SnapshotOut(Freshness):
    total_campaigns: int
    total_sends: int = Field(description="Messages sent, all time")
    total_replies: int = Field(description="Reply records, all time")
    total_placements: int = Field(description="Leads whose status is placed")
    overall_response_rate: float = Field(description="total_replies / total_sends, percent")
    overall_placement_rate: float = Field(description="total_placements / total_sends, percent")


class Interval(BaseModel):
    lower: float
    upper: float


class ComparedCampaign(BaseModel):
    campaign_id: str
    campaign_name: str
    metrics: dict[str, float] = Field(description="Each requested rate, percent, 2 decimals")
    sample_sizes: dict[str, int] = Field(description="Each rate's denominator")
    intervals: dict[str, Interval] = Field(
        description="Each rate's 95 % Wilson score interval, percent, 2 decimals")


class Significance(BaseModel):
    metric: str
    winner: str | None = Field(
        description="The campaign with the best unrounded rate (lowest for bounce_rate, "
                    "spam_rate, unsubscribe_rate); null on a tie for best or when p_value "
                    "is null")
    p_value: float | None = Field(
        description="Pearson's chi-square test of homogeneity, no continuity correction, "
                    "over campaigns with a non-zero denominator; null when undefined")
    is_significant: bool = Field(description="p_value < 0.05")


class CompareOut(Freshness):
    time_range: TimeRangeOut
    comparison: list[ComparedCampaign]
    statistical_significance: list[Significance]


class AccountsQuery(Strict):
    model_config = ConfigDict(extra="forbid")

    timezone: str | None = Field(
        None, description="IANA time zone of sent_last_30_days; default the workspace's")


class AccountNumbers(BaseModel):
    account_id: str
    email: str
    lifetime_sent: int
    lifetime_failed: int
    lifetime_bounced: int
    sent_last_30_days: int = Field(description="The 30 local calendar days ending today")
    success_rate: float = Field(description="sent / (sent + failed), lifetime, percent")
    bounce_rate: float = Field(description="bounced / sent, lifetime, percent")
    health: Health | None = Field(
        description="By success rate: healthy above 95 %, moderate 80-95 %, low below 80 %; "
                    "null when nothing was attempted")


class AccountsOut(Freshness):
    timezone: str
    accounts: list[AccountNumbers]
