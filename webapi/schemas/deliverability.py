"""Deliverability and engagement-heatmap requests and responses (SPEC §7, §11.12-13)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from campaign_analytics.analytics.heatmap import Granularity
from campaign_analytics.fields import Text

from .analytics import Freshness, TimeRangeOut, WindowQuery
from .common import UtcDatetime

RATE_HELP = "Percent 0-100, 2 decimals, 0 when the denominator is 0"


class DeliverabilityQuery(WindowQuery):
    campaign_id: Text | None = Field(None, alias="campaignId",
                                     description="Only this campaign's messages")
    account_id: Text | None = Field(None, alias="accountId",
                                    description="Only messages sent from this account")


class HeatmapQuery(WindowQuery):
    campaign_id: Text | None = Field(None, alias="campaignId",
                                     description="Only this campaign's messages")
    granularity: Granularity = Field(
        Granularity.PERIOD,
        description="period: nighttime 0-6, early_morning 6-9, office_hours 9-17, "
                    "evening 17-24 (local hours); hour: 0-23")


class Overall(BaseModel):
    estimated_inbox_placement_rate: float = Field(
        description="(sent - bounced - spam_complaints) / sent, percent")
    spam_rate: float = Field(description="spam_complaints / delivered, percent")
    bounce_rate: float = Field(description="bounced / sent, percent")
    health_score: int | None = Field(
        description="max(0, 100 - 6·hard% - 2·soft% - 100·spam%), all per sent, from "
                    "unrounded rates; null with nothing sent")


class BounceReason(BaseModel):
    reason: str = Field(description="As the bounce event gave it; 'unknown' when none")
    count: int
    percentage: float = Field(description="Share of the window's bounces, percent")


class BounceAnalysis(BaseModel):
    hard_bounces: int
    soft_bounces: int
    hard_bounce_rate: float = Field(description="hard bounces / sent, percent")
    soft_bounce_rate: float = Field(description="soft bounces / sent, percent")
    top_bounce_reasons: list[BounceReason] = Field(
        description="At most 5, most frequent first, ties by reason")


class ReputationPoint(BaseModel):
    date: str = Field(description="Local day (YYYY-MM-DD) with sends")
    score: int = Field(description="That day's health_score")


class BlacklistStatus(BaseModel):
    any_ip_blacklisted: bool = Field(description="Whether any of the accounts is blacklisted")
    ips_checked: int = Field(description="Distinct non-null IP addresses of the accounts")
    last_check: UtcDatetime | None = Field(
        description="Latest blacklist check of the accounts; null if never")


class ProviderNumbers(BaseModel):
    provider: Literal["gmail", "outlook", "yahoo", "icloud", "other"]
    sent: int
    delivered: int
    bounce_rate: float = Field(description="bounced / sent; " + RATE_HELP)
    open_rate: float = Field(description="opened / delivered; " + RATE_HELP)
    reply_rate: float = Field(description="replied / delivered; " + RATE_HELP)
    spam_rate: float = Field(description="spam_complaints / delivered; " + RATE_HELP)


class DeliverabilityOut(Freshness):
    time_range: TimeRangeOut
    overall: Overall
    bounce_analysis: BounceAnalysis
    reputation_trend: list[ReputationPoint] = Field(description="Oldest day first")
    blacklist_status: BlacklistStatus = Field(
        description="Current state of the accounts: all of the workspace's, the accountId "
                    "one, or (with campaignId) those that ever sent in that campaign")
    by_provider: list[ProviderNumbers] = Field(
        description="Providers with sends, most sends first, ties by name")


DayOfWeek = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                    "Sunday"]


class CellNumbers(BaseModel):
    emails_sent: int = Field(description="Messages sent in this slot within the window")
    emails_opened: int = Field(description="Of those, opened at any time")
    emails_clicked: int
    emails_replied: int
    open_rate: float = Field(description="opened / sent, percent")
    engagement_score: float = Field(
        description="(opened·0.3 + clicked·0.4 + replied·0.3) / sent x 100, 2 decimals")


class PeriodCell(CellNumbers):
    day_of_week: DayOfWeek
    time_period: Literal["nighttime", "early_morning", "office_hours", "evening"]


class HourCell(CellNumbers):
    day_of_week: DayOfWeek
    hour: int = Field(ge=0, le=23, description="Local hour")


class OptimalSendTime(BaseModel):
    day_of_week: DayOfWeek
    hour: int = Field(ge=0, le=23)
    engagement_score: float


class HeatmapOut(Freshness):
    time_range: TimeRangeOut
    granularity: Granularity
    heatmap: list[PeriodCell] | list[HourCell] = Field(
        description="Every cell, Monday first: 7 x 4 periods or 7 x 24 hours")
    optimal_send_time: OptimalSendTime | None = Field(
        description="Best hour cell with at least 20 sends (ties: more sends, then the "
                    "earliest in the week); null when none has")
