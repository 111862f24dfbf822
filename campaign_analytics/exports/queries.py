"""What each export type reads: one SQL query per raw type, and the rollup rows of
``campaign_performance``.

Every query filters by workspace first, drops deleted campaigns, applies the type's time
column as the half-open UTC interval [start, end) (SPEC §11.27) and has a total ORDER BY,
so a re-run over the same data writes the same bytes. The select lists follow the
export's columns (``ExportParams.output_columns``: the documented ones, or the requested
subset in its order). Every format reads the same query: the text formats through COPY
(``writers``), the typed ones (xlsx, parquet) through ``typed_statement`` and a server-side
cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..analytics import rates
from ..analytics.reading import Counts, Engagement, by_day, by_key, windowed
from ..analytics.windows import Window
from ..models import Campaign, CampaignBucket
from .spec import Column, ExportParams, ExportType, Kind


@dataclass(frozen=True)
class SelectQuery:
    """``SELECT <expressions> <body> ORDER BY <order_by>`` with psycopg ``%(name)s`` params.

    ``expressions`` pairs each column with the SQL giving its raw value; ``utc``: whether
    datetimes are written with ``Z`` (else with the session time zone's offset).
    """

    columns: tuple[Column, ...]
    expressions: tuple[str, ...]
    body: str
    order_by: str
    params: dict[str, Any]
    utc: bool = True


# An event's stored verdict, looked up by key per row: a join would read every workspace's
# verdicts.
_VERDICT = ("(SELECT r.{column} FROM event_verdicts v JOIN verdict_reasons r "
            "ON r.id = v.reason_id WHERE v.event_id = e.id)")

# Raw types: (column name -> SQL expression), FROM with its alias, the time column, order.
_RAW: dict[ExportType, tuple[dict[str, str], str, str, str]] = {
    ExportType.LEADS: (
        {"lead_id": "l.id", "campaign_id": "l.campaign_id", "website_url": "l.website_url",
         "website_title": "l.website_title", "contact_email": "l.contact_email",
         "quality_score": "l.quality_score", "relevance_score": "l.relevance_score",
         "guest_post_likelihood": "l.guest_post_likelihood", "source": "l.source",
         "status": "l.status", "qualification": "l.qualification",
         "account_id": "l.account_id", "placed_at": "l.placed_at",
         "qualified_at": "l.qualified_at", "created_at": "l.created_at",
         "updated_at": "l.updated_at"},
        "leads l", "l.created_at", "l.created_at, l.id",
    ),
    ExportType.ATTEMPTS: (
        {"attempt_id": "m.id", "message_id": "m.message_id", "campaign_id": "m.campaign_id",
         "lead_id": "m.lead_id", "account_id": "m.account_id", "step": "m.step",
         "variant": "m.variant", "subject": "m.subject", "recipient": "m.recipient",
         "mailbox_provider": "m.mailbox_provider", "sent_at": "m.sent_at",
         "state": "m.state"},
        "messages m", "m.sent_at", "m.sent_at NULLS LAST, m.id",
    ),
    ExportType.REPLIES: (
        {"reply_id": "r.id", "campaign_id": "r.campaign_id", "lead_id": "r.lead_id",
         "message_id": "r.message_id", "received_at": "r.received_at", "from": 'r."from"',
         "subject": "r.subject", "body": "r.body", "classification": "r.classification",
         "classified_by": "r.classified_by"},
        "replies r", "r.received_at", "r.received_at, r.id",
    ),
    ExportType.EVENTS: (
        {"event_id": "e.id", "external_id": "e.external_id", "campaign_id": "e.campaign_id",
         "message_id": "e.message_id", "type": "e.type", "occurred_at": "e.occurred_at",
         "bounce_type": "e.bounce_type", "reason": "e.reason", "url": "e.url",
         "user_agent": "e.user_agent", "ip": "e.ip", "ingested_at": "e.ingested_at",
         "http_method": "e.http_method",
         "verdict": _VERDICT.format(column="verdict"),
         "verdict_reason": _VERDICT.format(column="reason")},
        # Ingestion order: the primary key is append-ordered, so no sort of millions of rows.
        "email_events e", "e.occurred_at", "e.id",
    ),
}

# An attempt that failed has no sent_at; it belongs to the window its failure fell in.
_FAILED_IN_WINDOW = """(m.sent_at IS NULL AND EXISTS (
        SELECT 1 FROM email_events f
        WHERE f.workspace_id = m.workspace_id AND f.message_id = m.message_id
          AND f.type = 'failed' AND f.occurred_at >= %(start)s AND f.occurred_at < %(end)s))"""


def select_query(workspace_id: str, params: ExportParams) -> SelectQuery:
    """The one query of a raw export type (not ``campaign_performance``)."""
    expressions, table, time_column, order_by = _RAW[params.export_type]
    alias = table.split()[1]
    in_window = f"{time_column} >= %(start)s AND {time_column} < %(end)s"
    if params.export_type is ExportType.ATTEMPTS:
        in_window = f"(({in_window}) OR {_FAILED_IN_WINDOW})"
    conditions = [f"{alias}.workspace_id = %(workspace_id)s", "c.deleted_at IS NULL", in_window]
    values: dict[str, Any] = {"workspace_id": workspace_id, "start": params.start,
                              "end": params.end}
    if params.campaign_ids:
        conditions.append(f"{alias}.campaign_id = ANY(%(campaign_ids)s)")
        values["campaign_ids"] = list(params.campaign_ids)
    if params.export_type is ExportType.EVENTS:
        conditions.append("e.id <= %(max_event_id)s")
        values["max_event_id"] = params.max_event_id
    body = (f"FROM {table} JOIN campaigns c ON c.id = {alias}.campaign_id "
            f"WHERE {' AND '.join(conditions)}")
    columns = params.output_columns()
    return SelectQuery(columns, tuple(expressions[column.name] for column in columns), body,
                       order_by, values, params.utc)


# Python types the typed formats expect, whatever the column's SQL type (``ip`` is text
# here, numbers are float8 as parquet stores them).
_TYPED_CASTS = {Kind.TEXT: "text", Kind.INTEGER: "int8", Kind.NUMBER: "float8",
                Kind.DATE: "date", Kind.BOOLEAN: "bool"}


def typed_statement(query: SelectQuery) -> str:
    """The query's rows as typed values (datetimes stay ``timestamptz``)."""
    select_list = ", ".join(
        f"({sql})::{_TYPED_CASTS[column.kind]}" if column.kind in _TYPED_CASTS else sql
        for column, sql in zip(query.columns, query.expressions, strict=True))
    return f"SELECT {select_list} {query.body} ORDER BY {query.order_by}"


def performance_window(params: ExportParams) -> Window:
    zone = Window(params.start, params.end, params.period, params.timezone).zone
    return Window(params.start.astimezone(zone), params.end.astimezone(zone), params.period,
                  params.timezone)


def performance_campaigns(session: Session, workspace_id: str, params: ExportParams,
                          ) -> list[tuple[str, str, str]]:
    """(id, name, status) of every live campaign in scope, oldest first: zeros included."""
    query = (select(Campaign.id, Campaign.name, Campaign.status)
             .where(Campaign.workspace_id == workspace_id, Campaign.deleted_at.is_(None))
             .order_by(Campaign.created_at, Campaign.id))
    if params.campaign_ids:
        query = query.where(Campaign.id.in_(params.campaign_ids))
    return [(row.id, row.name, row.status) for row in session.execute(query)]


HUMAN_SUMMARY = ("emails_opened", "emails_clicked", "total_opens", "total_clicks")
HUMAN_RATES = ("open_rate", "click_rate", "click_to_open_rate")


def _numbers(counts: Counts) -> dict[str, Any]:
    """The API's summary and rates (GET /campaigns/{id}/analytics) of one window's counts,
    and as ``engagement=human`` gives them (``human_*``)."""
    # Imported here: analytics.campaign -> campaigns -> exports.retention -> jobs.outbox ->
    # jobs.catalog -> this module would be a cycle at import time.
    from ..analytics.campaign import summary_of

    people = counts.seen_by(Engagement.HUMAN)
    summary, human_summary = summary_of(counts), summary_of(people)
    human_rates = rates.rates(people, HUMAN_RATES)
    return {**summary, **rates.rates(counts),
            **{f"human_{name}": human_summary[name] for name in HUMAN_SUMMARY},
            **{f"human_{name}": human_rates[name] for name in HUMAN_RATES}}


def performance_rows(session: Session, workspace_id: str, params: ExportParams,
                     ) -> Iterator[tuple[Any, ...]]:
    """``campaign_performance`` rows in ``output_columns`` order, from the rollups.

    Without time series: one row per campaign. With it: one row per campaign per local day
    of the window, zero days included, read one campaign at a time (memory per campaign).
    """
    window = performance_window(params)
    columns = params.output_columns()
    campaigns = performance_campaigns(session, workspace_id, params)

    def row_of(values: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(values[column.name] for column in columns)

    if not params.include_time_series:
        totals = by_key(session, windowed(
            CampaignBucket, workspace_id, window,
            CampaignBucket.campaign_id.in_([cid for cid, _, _ in campaigns]),
            key=CampaignBucket.campaign_id))
        for cid, name, status in campaigns:
            yield row_of({"campaign_id": cid, "campaign_name": name, "campaign_status": status,
                          **_numbers(totals.get(cid, Counts()))})
        return
    days = window.days()
    for cid, name, status in campaigns:
        per_day: dict[date, Counts] = by_day(session, CampaignBucket, workspace_id, window,
                                             CampaignBucket.campaign_id == cid)
        for day in days:
            yield row_of({"campaign_id": cid, "campaign_name": name, "campaign_status": status,
                          "date": day, **_numbers(per_day.get(day, Counts()))})


def performance_row_total(session: Session, workspace_id: str, params: ExportParams) -> int:
    campaigns = len(performance_campaigns(session, workspace_id, params))
    if not params.include_time_series:
        return campaigns
    return campaigns * len(performance_window(params).days())
