"""What an export is: its types, formats, fixed column lists and the parameters its job runs
with. The API validates requests into ``ExportParams``; the job reads them back from the
job row, so a retry or a re-run after a crash writes exactly the same file.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    CSV_EXCEL = "csv_excel"  # UTF-8 with BOM, CRLF: what Excel opens without an import dialog
    JSONL = "jsonl"
    XLSX = "xlsx"
    PARQUET = "parquet"


# Per format: file extension and Content-Type (uncompressed), and whether gzip applies
# (xlsx is already a zip; parquet compresses its own pages).
FILE_TYPES: dict[ExportFormat, tuple[str, str]] = {
    ExportFormat.CSV: ("csv", "text/csv; charset=utf-8"),
    ExportFormat.CSV_EXCEL: ("csv", "text/csv; charset=utf-8"),
    ExportFormat.JSONL: ("jsonl", "application/x-ndjson"),
    ExportFormat.XLSX: (
        "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ExportFormat.PARQUET: ("parquet", "application/vnd.apache.parquet"),
}
GZIP_FORMATS = frozenset({ExportFormat.CSV, ExportFormat.CSV_EXCEL, ExportFormat.JSONL})
# Time zones whose datetimes keep the ``Z`` spelling (SPEC §11.25).
# The zone names that are UTC itself (not merely +00:00 today): their timestamps end in Z.
UTC_ZONES = frozenset({"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal",
                       "Zulu", "Etc/Zulu", "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0",
                       "Etc/GMT+0", "GMT-0", "Etc/GMT-0", "Greenwich", "Etc/Greenwich"})


class Compression(StrEnum):
    NONE = "none"
    GZIP = "gzip"


class Kind(StrEnum):
    """How a column is written: only ``TEXT`` cells get the CSV formula-injection prefix."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    DATETIME = "datetime"  # ISO 8601 with the export timezone's offset (``Z`` in UTC)
    DATE = "date"  # YYYY-MM-DD (local day of the export's timezone)
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Column:
    """``identifier``: an id, written as text in spreadsheets whatever its kind, so a long
    numeric-looking id never becomes 6.9E+17."""

    name: str
    kind: Kind
    description: str = ""
    identifier: bool = False


T, INT, N, DT, D = Kind.TEXT, Kind.INTEGER, Kind.NUMBER, Kind.DATETIME, Kind.DATE


def _id(name: str, kind: Kind = T, description: str = "") -> Column:
    return Column(name, kind, description, identifier=True)


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
        _id("campaign_id"), Column("campaign_name", T), Column("campaign_status", T),
        *SUMMARY_COLUMNS, *RATE_COLUMNS, *HUMAN_COLUMNS,
    ),
    ExportType.LEADS: (
        _id("lead_id"), _id("campaign_id"), Column("website_url", T),
        Column("website_title", T), Column("contact_email", T), Column("quality_score", N),
        Column("relevance_score", N), Column("guest_post_likelihood", N), Column("source", T),
        Column("status", T), Column("qualification", T), _id("account_id"),
        Column("placed_at", DT), Column("qualified_at", DT), Column("created_at", DT),
        Column("updated_at", DT),
    ),
    ExportType.ATTEMPTS: (
        _id("attempt_id"), _id("message_id", T, "the sender's identifier"),
        _id("campaign_id"), _id("lead_id"), _id("account_id"),
        Column("step", INT), Column("variant", T), Column("subject", T), Column("recipient", T),
        Column("mailbox_provider", T), Column("sent_at", DT),
        Column("state", T, "latest state: pending, sent, failed, delivered or bounced"),
    ),
    ExportType.REPLIES: (
        _id("reply_id"), _id("campaign_id"), _id("lead_id"),
        _id("message_id"), Column("received_at", DT), Column("from", T),
        Column("subject", T), Column("body", T), Column("classification", T),
        Column("classified_by", T),
    ),
    ExportType.EVENTS: (
        _id("event_id", INT), _id("external_id"), _id("campaign_id"),
        _id("message_id"), Column("type", T), Column("occurred_at", DT),
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


def selected_columns(export_type: ExportType, include_time_series: bool,
                     names: Sequence[str] | None) -> tuple[Column, ...]:
    """The columns a file has: ``names`` (a subset, in the order given) or every documented
    column. ``ValueError`` naming the valid columns for an unknown or repeated name."""
    documented = columns_of(export_type, include_time_series)
    if names is None:
        return documented
    by_name = {column.name: column for column in documented}
    unknown = [name for name in names if name not in by_name]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if unknown or repeated or not names:
        problem = (f"unknown column(s) {', '.join(unknown)}" if unknown else
                   f"repeated column(s) {', '.join(repeated)}" if repeated else "no columns")
        raise ValueError(f"{problem}; the columns of {export_type.value} are: "
                         f"{', '.join(by_name)}")
    return tuple(by_name[name] for name in names)


@dataclass(frozen=True)
class ExportParams:
    """Everything a run needs, stored as the job's ``params``.

    ``start``/``end`` bound each type's time column (SPEC §11.27) as a half-open UTC
    interval; ``timezone`` makes the local days of ``campaign_performance``;
    ``max_event_id`` (the event id sequence when the export was requested) keeps a re-run
    from picking up events ingested after the request. ``timezone`` is also the zone of the
    file's datetimes; ``columns`` the requested subset (``None``: every documented column).
    Rows stored before a key existed load with its default.
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
    columns: tuple[str, ...] | None = None

    @property
    def utc(self) -> bool:
        return self.timezone in UTC_ZONES

    def output_columns(self) -> tuple[Column, ...]:
        return selected_columns(self.export_type, self.include_time_series, self.columns)

    def to_params(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        data["campaign_ids"] = list(self.campaign_ids) if self.campaign_ids else None
        data["columns"] = list(self.columns) if self.columns is not None else None
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
            columns=tuple(data["columns"]) if data.get("columns") is not None else None,
        )

    def file_name(self, export_id: str) -> str:
        extension = FILE_TYPES[self.format][0]
        suffix = ".gz" if self.compression is Compression.GZIP else ""
        return f"{export_id}_{self.export_type.value}.{extension}{suffix}"

    def content_type(self) -> str:
        """SPEC §11.29; gzip is a file of its own type, never a Content-Encoding."""
        if self.compression is Compression.GZIP:
            return "application/gzip"
        return FILE_TYPES[self.format][1]
