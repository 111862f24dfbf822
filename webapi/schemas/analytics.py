"""Analytics request and response models shared by every analytics endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from campaign_analytics.analytics.reading import ENGAGEMENT_HELP, Engagement
from campaign_analytics.analytics.refresh import RefreshMode
from campaign_analytics.analytics.windows import (
    DayOrInstant,
    Grouping,
    PeriodName,
    Window,
    resolve_window,
)
from campaign_analytics.fields import Text
from campaign_analytics.workspaces import get_workspace

from .common import Strict, UtcDatetime

TIME_RANGE_HELP = (
    "7d, 14d, 30d (default), 90d: the N local calendar days ending today; custom: "
    "startDate and endDate (dates are whole local days, both inclusive; datetimes a "
    "half-open interval on a quarter hour)"
)


class WindowQuery(Strict):
    """The time range of a windowed endpoint; invalid ranges are INVALID_TIME_RANGE."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    time_range: PeriodName | None = Field(None, alias="timeRange", description=TIME_RANGE_HELP,
                                          examples=["30d"])
    start_date: DayOrInstant | None = Field(None, alias="startDate", examples=["2026-11-01"])
    end_date: DayOrInstant | None = Field(None, alias="endDate", examples=["2026-11-30"])
    timezone: str | None = Field(
        None, description="IANA time zone of days and buckets; default the workspace's")
    engagement: Engagement = Field(Engagement.ALL, description=ENGAGEMENT_HELP)

    def window(self, session: Any, workspace_id: str, now: datetime | None = None) -> Window:
        return self.window_in(self.timezone or get_workspace(session, workspace_id).timezone,
                              now)

    def window_in(self, workspace_timezone: str, now: datetime | None = None) -> Window:
        """With the workspace's timezone already at hand, for requests that name none."""
        return resolve_window(self.time_range, self.start_date, self.end_date,
                              self.timezone or workspace_timezone, now or datetime.now(UTC))


class CampaignAnalyticsQuery(WindowQuery):
    group_by: Grouping = Field(Grouping.DAY, alias="groupBy",
                               description="Buckets of time_series: local days, ISO weeks "
                                           "(Monday) or months")


class TimeRangeOut(BaseModel):
    start: str = Field(description="Inclusive, ISO 8601 with the zone's offset")
    end: str = Field(description="Exclusive")
    period: str
    timezone: str


class Freshness(BaseModel):
    as_of: UtcDatetime | None = Field(
        description="Every event ingested before this instant is in the numbers; null "
                    "until the first refresh")


class CampaignRef(BaseModel):
    id: str
    name: str
    status: str
    created_at: UtcDatetime


class Summary(BaseModel):
    emails_sent: int
    emails_delivered: int
    emails_bounced: int
    emails_opened: int
    emails_clicked: int
    emails_replied: int
    spam_complaints: int
    unsubscribes: int
    emails_failed: int
    total_opens: int
    total_clicks: int
    total_replies: int
    machine_opens: int = Field(description="Messages opened by a machine (a privacy proxy, a "
                                           "scanner), whatever engagement asks")
    bot_clicks: int = Field(description="Messages whose links a machine clicked")
    inferred_opens: int = Field(description="Messages a person clicked but never opened "
                                            "(counted as opened when engagement=human)")


class Rates(BaseModel):
    """Percentages 0-100, 2 decimals, 0 when the denominator is 0."""

    delivery_rate: float
    open_rate: float
    click_rate: float
    click_to_open_rate: float
    reply_rate: float
    bounce_rate: float
    spam_rate: float
    unsubscribe_rate: float


class SeriesPoint(BaseModel):
    date: str = Field(description="First local day of the bucket")
    sent: int
    delivered: int
    opened: int
    clicked: int
    replied: int
    bounced: int
    spam_complaints: int


class RepliesByClass(BaseModel):
    interested: int
    not_interested: int
    out_of_office: int
    replied: int


class Funnel(BaseModel):
    discovered: int
    contacted: int
    replied: int
    placed: int


class LeadNumbers(BaseModel):
    total: int
    by_status: dict[str, int]
    by_qualification: dict[str, int]
    funnel: Funnel
    response_rate: float
    qualification_rate: float
    conversion_rate: float
    placement_rate: float
    messages_per_lead: float


class Progress(BaseModel):
    total: int
    pending: int
    sent: int
    failed: int
    partial: int
    percent: float
    delivery_health: Literal["healthy", "moderate", "low"] | None


class LastSevenDays(BaseModel):
    messages: int
    responses: int
    qualified: int


class CampaignAnalyticsOut(Freshness):
    campaign: CampaignRef
    time_range: TimeRangeOut
    summary: Summary
    rates: Rates
    time_series: list[SeriesPoint]
    replies_by_classification: RepliesByClass
    leads: LeadNumbers
    progress: Progress
    last_7_days: LastSevenDays


class RefreshRequest(Strict):
    mode: RefreshMode = Field(RefreshMode.INCREMENTAL,
                              description="incremental: events past the watermark; "
                                          "full: rebuild from every event")
    campaign_ids: list[Text] | None = Field(
        None, max_length=500, description="Only these campaigns (a full rebuild of them)")


class RefreshOut(BaseModel):
    job_id: str
    status: str
    mode: RefreshMode
    scope: dict[str, Any] = Field(description="{campaign_ids: [...]} or {workspace: true}")
