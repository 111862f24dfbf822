"""What an export is: its types, formats, fixed column lists and the parameters its job runs
with. The API validates requests into ``ExportParams``; the job reads them back from the
job row, so a retry or a re-run after a crash writes exactly the same file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ExportType(StrEnum):
    CAMPAIGN_PERFORMANCE = "campaign_performance"
    LEADS = "leads"
    ATTEMPTS = "attempts"
    REPLIES = "replies"
    EVENTS = "events"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class Compression(StrEnum):
    NONE = "none"
    GZIP = "gzip"


class Kind(StrEnum):
    """How a column is written: only ``TEXT`` cells get the formula-injection prefix."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    DATETIME = "datetime"  # ISO 8601, UTC, ``Z``
    DATE = "date"  # YYYY-MM-DD (local day of the export's timezone)
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    description: str = ""


T, INT, N, DT, D = Kind.TEXT, Kind.INTEGER, Kind.NUMBER, Kind.DATETIME, Kind.DATE

SUMMARY_COLUMNS = (
    Column("emails_sent", INT), Column("emails_delivered", INT), Column("emails_bounced", INT),
    Column("emails_opened", INT), Column("emails_clicked", INT), Column("emails_replied", INT),
    Column("spam_complaints", INT), Column("unsubscribes", INT), Column("emails_failed", INT),
    Column("total_opens", INT), Column("total_clicks", INT), Column("total_replies", INT),
)
RATE_COLUMNS = tuple(Column(name, N, "percent, 2 decimals") for name in (
    "delivery_rate", "open_rate", "click_rate", "click_to_open_rate", "reply_rate",
    "bounce_rate", "spam_rate", "unsubscribe_rate",
))

# Engagement people can trust (SPEC §10): the same window without machine opens and bot
# clicks (a person's click counting as an open), and the machines themselves.
HUMAN_COLUMNS = (
    Column("human_emails_opened", INT), Column("human_emails_clicked", INT),
    Column("human_total_opens", INT), Column("human_total_clicks", INT),
    Column("machine_opens", INT), Column("bot_clicks", INT), Column("inferred_opens", INT),
    *(Column(f"human_{name}", N, "percent, 2 decimals")
      for name in ("open_rate", "click_rate", "click_to_open_rate")),
)

# The documented, ordered columns of every type (SPEC §8). ``campaign_performance`` with
# ``include_time_series`` has ``date`` after ``campaign_status``: one row per local day.
COLUMNS: dict[ExportType, tuple[Column, ...]] = {
    ExportType.CAMPAIGN_PERFORMANCE: (
        Column("campaign_id", T), Column("campaign_name", T), Column("campaign_status", T),
        *SUMMARY_COLUMNS, *RATE_COLUMNS, *HUMAN_COLUMNS,
    ),
    ExportType.LEADS: (
        Column("lead_id", T), Column("campaign_id", T), Column("website_url", T),
        Column("website_title", T), Column("contact_email", T), Column("quality_score", N),
        Column("relevance_score", N), Column("guest_post_likelihood", N), Column("source", T),
        Column("status", T), Column("qualification", T), Column("account_id", T),
        Column("placed_at", DT), Column("qualified_at", DT), Column("created_at", DT),
        Column("updated_at", DT),
    ),
    ExportType.ATTEMPTS: (
        Column("attempt_id", T), Column("message_id", T, "the sender's identifier"),
        Column("campaign_id", T), Column("lead_id", T), Column("account_id", T),
        Column("step", INT), Column("variant", T), Column("subject", T), Column("recipient", T),
        Column("mailbox_provider", T), Column("sent_at", DT),
        Column("state", T, "latest state: pending, sent, failed, delivered or bounced"),
    ),
    ExportType.REPLIES: (
        Column("reply_id", T), Column("campaign_id", T), Column("lead_id", T),
        Column("message_id", T), Column("received_at", DT), Column("from", T),
        Column("subject", T), Column("body", T), Column("classification", T),
        Column("classified_by", T),
    ),
    ExportType.EVENTS: (
        Column("event_id", INT), Column("external_id", T), Column("campaign_id", T),
        Column("message_id", T), Column("type", T), Column("occurred_at", DT),
        Column("bounce_type", T), Column("reason", T), Column("url", T),
        Column("user_agent", T), Column("ip", T), Column("ingested_at", DT),
        Column("http_method", T),
        Column("verdict", T, "opens and clicks: human, machine or unknown; empty until a "
                             "refresh has judged the event"),
        Column("verdict_reason", T, "why, e.g. person, apple_mpp, scanner_user_agent"),
    ),
}
DATE_COLUMN = Column("date", D, "first local day of the row (include_time_series)")


def columns_of(export_type: ExportType, include_time_series: bool = False) -> tuple[Column, ...]:
    columns = COLUMNS[export_type]
    if export_type is ExportType.CAMPAIGN_PERFORMANCE and include_time_series:
        return (*columns[:3], DATE_COLUMN, *columns[3:])
    return columns


@dataclass(frozen=True)
class ExportParams:
    """Everything a run needs, stored as the job's ``params``.

    ``start``/``end`` bound each type's time column (SPEC §11.27) as a half-open UTC
    interval; ``timezone`` makes the local days of ``campaign_performance``;
    ``max_event_id`` (the event id sequence when the export was requested) keeps a re-run
    from picking up events ingested after the request.
    """

    export_type: ExportType
    format: ExportFormat
    compression: Compression
    start: datetime
    end: datetime
    period: str
    timezone: str
    campaign_ids: tuple[str, ...] | None
    include_time_series: bool
    max_event_id: int

    def to_params(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        data["campaign_ids"] = list(self.campaign_ids) if self.campaign_ids else None
        return data

    @classmethod
    def from_params(cls, data: dict[str, Any]) -> ExportParams:
        return cls(
            export_type=ExportType(data["export_type"]), format=ExportFormat(data["format"]),
            compression=Compression(data["compression"]),
            start=datetime.fromisoformat(data["start"]), end=datetime.fromisoformat(data["end"]),
            period=data["period"], timezone=data["timezone"],
            campaign_ids=tuple(data["campaign_ids"]) if data.get("campaign_ids") else None,
            include_time_series=bool(data["include_time_series"]),
            max_event_id=int(data["max_event_id"]),
        )

    def file_name(self, export_id: str) -> str:
        extension = {ExportFormat.CSV: "csv", ExportFormat.JSONL: "jsonl"}[self.format]
        suffix = ".gz" if self.compression is Compression.GZIP else ""
        return f"{export_id}_{self.export_type.value}.{extension}{suffix}"

    def content_type(self) -> str:
        """SPEC §11.29; gzip is a file of its own type, never a Content-Encoding."""
        if self.compression is Compression.GZIP:
            return "application/gzip"
        return {ExportFormat.CSV: "text/csv; charset=utf-8",
                ExportFormat.JSONL: "application/x-ndjson"}[self.format]
