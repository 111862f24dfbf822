"""COPY text for generated rows, and the writer that loads them into PostgreSQL.

Rows are preformatted as COPY text lines (tab-separated, ``\\N`` for NULL): one string
concatenation per row is several times cheaper than ``copy.write_row`` with Python values.
Only free text (reply bodies, subjects, campaign names) is escaped; the generator's own
vocabulary contains no tab, newline or backslash (a test checks it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from ..models.vocabulary import ClassifiedBy
from .clock import UtcText
from .copytext import NULL, copy_text
from .identifiers import GeneratedIds
from .model import AccountPlan, CampaignPlan
from .simulate import LeadRecord, MessageRecord, Orphan

# Parents before children: one connection runs one COPY at a time, and foreign keys are
# checked row by row. Suppressions go through a staging table (see ``SUPPRESSIONS_MERGE``).
COPY_STATEMENTS: dict[str, str] = {
    "leads": (
        "COPY leads (id, workspace_id, campaign_id, website_url, website_title, contact_email,"
        " quality_score, relevance_score, guest_post_likelihood, source, status, qualification,"
        " qualified_at, account_id, placed_at, created_at, updated_at) FROM STDIN"
    ),
    "messages": (
        "COPY messages (id, workspace_id, campaign_id, message_id, lead_id, account_id, step,"
        " variant, subject, recipient, mailbox_provider, sent_at, state, created_at) FROM STDIN"
    ),
    "email_events": (
        "COPY email_events (workspace_id, campaign_id, message_id, external_id, type,"
        " occurred_at, bounce_type, reason, url, user_agent, ip) FROM STDIN"
    ),
    "replies": (
        'COPY replies (id, workspace_id, campaign_id, message_id, lead_id, event_external_id,'
        ' received_at, "from", subject, body, classification, classified_by, created_at)'
        " FROM STDIN"
    ),
    "suppressions": "COPY generator_suppressions (email, reason, created_at) FROM STDIN",
}
SUPPRESSIONS_STAGING = (
    "CREATE TEMPORARY TABLE generator_suppressions"
    " (email text NOT NULL, reason text NOT NULL, created_at timestamptz NOT NULL)"
    " ON COMMIT DROP"
)
# One lead address may be lost in several campaigns (or seeds): keep its first refusal and
# leave an existing suppression alone.
SUPPRESSIONS_MERGE = (
    "INSERT INTO suppressions (workspace_id, email, reason, created_at)"
    " SELECT DISTINCT ON (email) %s, email, reason, created_at FROM generator_suppressions"
    " ORDER BY email, created_at"
    " ON CONFLICT (workspace_id, email) DO NOTHING"
)


@dataclass
class Batch:
    """The COPY lines of a slice of leads, one list per table, in load order."""

    lines: dict[str, list[str]] = field(
        default_factory=lambda: {table: [] for table in COPY_STATEMENTS}
    )
    events_by_type: dict[str, int] = field(default_factory=dict)
    orphans: int = 0

    @property
    def events(self) -> int:
        return len(self.lines["email_events"])

    @property
    def rows(self) -> int:
        return sum(len(lines) for lines in self.lines.values())


class RowFormatter:
    """Turns simulated leads into COPY lines, numbering events' external ids in the order
    they are written."""

    def __init__(self, ids: GeneratedIds, utc: UtcText) -> None:
        self.ids = ids
        self.utc = utc
        self.workspace_id = ids.workspace_id
        self.external_prefix = ids.external_prefix()
        self.next_external = 0

    def add_lead(self, batch: Batch, lead: LeadRecord) -> None:
        utc = self.utc
        batch.lines["leads"].append(
            f"{lead.id}\t{self.workspace_id}\t{lead.campaign.id}\t{lead.website_url}\t"
            f"{lead.website_title}\t{lead.email}\t{lead.quality:.3f}\t{lead.relevance:.3f}\t"
            f"{lead.likelihood:.3f}\t{lead.source}\t{lead.status}\t{lead.qualification}\t"
            f"{_instant_or_null(utc, lead.qualified_at)}\t{lead.account.id}\t"
            f"{_instant_or_null(utc, lead.placed_at)}\t{utc(lead.created_at)}\t"
            f"{utc(lead.updated_at)}\n"
        )
        for message in lead.messages:
            self._add_message(batch, lead, message)
        if lead.suppressed_at is not None:
            batch.lines["suppressions"].append(
                f"{lead.email}\tnot_interested\t{utc(lead.suppressed_at)}\n"
            )

    def _add_message(self, batch: Batch, lead: LeadRecord, message: MessageRecord) -> None:
        utc = self.utc
        attempted = utc(message.sent_at)
        # As ingestion does: a failed attempt has no sent_at; created_at keeps its time.
        sent = "\\N" if message.state == "failed" else attempted
        batch.lines["messages"].append(
            f"{message.id}\t{self.workspace_id}\t{lead.campaign.id}\t{message.sender_id}\t"
            f"{lead.id}\t{lead.account.id}\t{message.step}\t{message.variant}\t"
            f"{message.subject}\t{lead.email}\t{lead.provider}\t{sent}\t{message.state}\t"
            f"{attempted}\n"
        )
        prefix = f"{self.workspace_id}\t{lead.campaign.id}\t{message.sender_id}\t"
        events = batch.lines["email_events"]
        counts = batch.events_by_type
        for instant, kind, detail in message.events:
            external = self._external_id()
            events.append(f"{prefix}{external}\t{kind}\t{utc(instant)}\t{detail}\n")
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "replied":
                self._add_reply(batch, lead, message, external)

    def _add_reply(
        self, batch: Batch, lead: LeadRecord, message: MessageRecord, external: str
    ) -> None:
        reply = message.reply
        assert reply is not None, "a replied event always has its reply"
        received = self.utc(reply.received_at)
        batch.lines["replies"].append(
            f"{reply.id}\t{self.workspace_id}\t{lead.campaign.id}\t{message.sender_id}\t"
            f"{lead.id}\t{external}\t{received}\t{lead.email}\t{copy_text(reply.subject)}\t"
            f"{copy_text(reply.body)}\t{reply.classification}\t{ClassifiedBy.AUTO.value}\t"
            f"{received}\n"
        )

    def add_orphan(self, batch: Batch, orphan: Orphan) -> None:
        batch.lines["email_events"].append(
            f"{self.workspace_id}\t{orphan.campaign_id}\t{orphan.message_id}\t"
            f"{self._external_id()}\t{orphan.kind}\t{self.utc(orphan.instant)}\t{orphan.detail}\n"
        )
        batch.events_by_type[orphan.kind] = batch.events_by_type.get(orphan.kind, 0) + 1
        batch.orphans += 1

    def _external_id(self) -> str:
        number = self.next_external
        self.next_external = number + 1
        return f"{self.external_prefix}{number}"


def _instant_or_null(utc: UtcText, instant: int | None) -> str:
    return NULL if instant is None else utc(instant)


class CopyWriter:
    """Loads rows on one psycopg connection inside the caller's transaction."""

    def __init__(self, conn: psycopg.Connection[Any], workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    def write_parents(
        self, campaigns: Iterable[CampaignPlan], accounts: Iterable[AccountPlan], utc: UtcText
    ) -> None:
        """Campaigns and accounts: few rows, so ``write_row`` and its type adaptation."""
        self._write_rows(
            "COPY sending_accounts (id, workspace_id, email, domain, ip_address, blacklisted,"
            " blacklist_checked_at, created_at) FROM STDIN",
            (
                (a.id, self.workspace_id, a.email, a.domain, a.ip_address, a.blacklisted,
                 None if a.checked_at is None else utc(a.checked_at), utc(a.created_at))
                for a in accounts
            ),
        )
        self._write_rows(
            "COPY campaigns (id, workspace_id, name, description, keywords, status, created_at,"
            " updated_at) FROM STDIN",
            (
                (c.id, self.workspace_id, c.name, c.description, list(c.keywords), c.status,
                 utc(c.created_at), utc(c.updated_at))
                for c in campaigns
            ),
        )
        self.conn.execute(SUPPRESSIONS_STAGING)

    def _write_rows(self, statement: str, rows: Iterable[tuple[Any, ...]]) -> None:
        with self.conn.cursor() as cur, cur.copy(statement) as copy:  # type: ignore[arg-type]
            for row in rows:
                copy.write_row(row)

    def write_batch(self, batch: Batch) -> None:
        """Every table's lines of the batch, parents first."""
        with self.conn.cursor() as cur:
            for table, statement in COPY_STATEMENTS.items():
                lines = batch.lines[table]
                if lines:
                    with cur.copy(statement) as copy:  # type: ignore[arg-type]
                        copy.write("".join(lines))

    def merge_suppressions(self) -> int:
        """Moves the staged suppressions into the table; returns how many were new."""
        with self.conn.cursor() as cur:
            cur.execute(SUPPRESSIONS_MERGE, (self.workspace_id,))  # type: ignore[arg-type]
            return cur.rowcount

