"""Checks a batch's references to campaigns, leads, accounts and messages, one query each.

Every lookup is one index probe per distinct id: the ids are unnested and each row asks a
scalar subquery, so the cost follows the batch whatever the planner believes about the
size of the workspace's tables.

Campaigns, leads and accounts are checked before the workspace's ingest lock is taken
(ingestion never creates them); messages and their early events only under the lock, since
concurrent batches of the workspace create them. Their lookup's parameters are prepared
before it (``prepare_messages``): under the lock only the query runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from ..pgarrays import boolean_array, text_array
from .parsing import MESSAGE_TYPES, ParsedEvent, Rejected

LIVE_CAMPAIGNS = """
SELECT t.id FROM unnest(CAST(:ids AS text[])) AS t(id)
WHERE EXISTS (SELECT 1 FROM campaigns c
              WHERE c.id = t.id AND c.workspace_id = :ws AND c.deleted_at IS NULL)
"""
LEADS = """
SELECT t.id, (SELECT l.campaign_id FROM leads l WHERE l.id = t.id AND l.workspace_id = :ws)
FROM unnest(CAST(:ids AS text[])) AS t(id)
"""
ACCOUNTS = """
SELECT t.id FROM unnest(CAST(:ids AS text[])) AS t(id)
WHERE EXISTS (SELECT 1 FROM sending_accounts a WHERE a.id = t.id AND a.workspace_id = :ws)
"""
# The campaign of each message, and for messages about to be born (``births``) that do
# not exist yet, the campaign their earliest stored event names: events stored before
# their message exists already name its campaign.
MESSAGES = """
SELECT id, owner, CASE WHEN owner IS NULL AND births THEN (
           SELECT e.campaign_id FROM email_events e
           WHERE e.workspace_id = :ws AND e.message_id = known.id ORDER BY e.id LIMIT 1)
       END AS early
FROM (
    SELECT t.id, t.births, (SELECT m.campaign_id FROM messages m
                            WHERE m.workspace_id = :ws AND m.message_id = t.id) AS owner
    FROM unnest(CAST(:ids AS text[]), CAST(:births AS boolean[])) AS t(id, births)
    OFFSET 0
) known
"""


def _ids(events: Sequence[ParsedEvent], name: str) -> list[str]:
    return sorted({value for e in events if (value := getattr(e, name))})


def _rows(conn: Connection, sql: str, params: dict[str, object]) -> list[tuple[str, ...]]:
    return [tuple(row) for row in conn.execute(text(sql), params).all()]


def _split(
    events: Sequence[ParsedEvent], check: Callable[[ParsedEvent], None]
) -> tuple[list[ParsedEvent], list[tuple[int, str, str]]]:
    valid: list[ParsedEvent] = []
    rejected: list[tuple[int, str, str]] = []
    for event in events:
        try:
            check(event)
        except Rejected as exc:
            rejected.append((event.index, exc.code, exc.message))
        else:
            valid.append(event)
    return valid, rejected


class _Owners:
    """The campaigns, leads and accounts the batch names that exist in the workspace."""

    def __init__(self, conn: Connection, workspace_id: str, events: Sequence[ParsedEvent]) -> None:
        def lookup(sql: str, name: str) -> list[tuple[str, ...]]:
            ids = _ids(events, name)
            return _rows(conn, sql, {"ws": workspace_id, "ids": ids}) if ids else []

        self.campaigns = {row[0] for row in lookup(LIVE_CAMPAIGNS, "campaign_id")}
        self.lead_campaign = {lead: campaign for lead, campaign in lookup(LEADS, "lead_id")
                              if campaign is not None}
        self.accounts = {row[0] for row in lookup(ACCOUNTS, "account_id")}

    def check(self, event: ParsedEvent) -> None:
        if event.campaign_id not in self.campaigns:
            raise Rejected("CAMPAIGN_NOT_FOUND", f"campaign {event.campaign_id} not found")
        if event.lead_id and self.lead_campaign.get(event.lead_id) != event.campaign_id:
            raise Rejected("LEAD_NOT_FOUND",
                           f"lead {event.lead_id} not found in campaign {event.campaign_id}")
        if event.account_id and event.account_id not in self.accounts:
            raise Rejected("ACCOUNT_NOT_FOUND", f"account {event.account_id} not found")


@dataclass(frozen=True)
class MessageLookup:
    """The message check of a batch, prepared before the lock: its events and the query's
    parameters (the batch's distinct message ids, and which of them are being born)."""

    events: Sequence[ParsedEvent]
    params: dict[str, object] | None


def prepare_messages(
    workspace_id: str, events: Sequence[ParsedEvent], births: set[str]
) -> MessageLookup:
    """``births`` are the messages the whole batch has sent/failed events for (rejected
    ones too): an event of such a message must name the campaign its early events name."""
    ids = sorted({e.message_id for e in events})
    params: dict[str, object] | None = {
        "ws": workspace_id, "ids": text_array(ids),
        "births": boolean_array(i in births for i in ids),
    } if ids else None
    return MessageLookup(events, params)


class _Messages:
    """Which campaign each message belongs to: stored, early events', or this batch's."""

    def __init__(self, conn: Connection, lookup: MessageLookup) -> None:
        self.message_campaign: dict[str, str] = {}
        self.existing: set[str] = set()
        # Messages about to be born that already have events: only their history needs
        # looking at again when the batch is written.
        self.early: set[str] = set()
        if lookup.params is None:
            return
        for message_id, owner, early in _rows(conn, MESSAGES, lookup.params):
            if owner is not None:
                self.message_campaign[message_id] = owner
                self.existing.add(message_id)
            elif early is not None:
                self.message_campaign[message_id] = early
                self.early.add(message_id)

    def check(self, event: ParsedEvent) -> None:
        owner = self.message_campaign.setdefault(event.message_id, event.campaign_id) \
            if event.type in MESSAGE_TYPES else self.message_campaign.get(event.message_id)
        if owner is not None and owner != event.campaign_id:
            raise Rejected("VALIDATION_ERROR",
                           f"message {event.message_id} belongs to campaign {owner}")


def check_owners(
    conn: Connection, workspace_id: str, events: Sequence[ParsedEvent]
) -> tuple[list[ParsedEvent], list[tuple[int, str, str]]]:
    """(events whose campaign, lead and account exist, rejections of the others)."""
    return _split(events, _Owners(conn, workspace_id, events).check)


@dataclass(frozen=True)
class MessageCheck:
    valid: list[ParsedEvent]
    rejected: list[tuple[int, str, str]]
    existing: set[str]  # messages stored before the batch
    early: set[str]  # unborn messages with events stored before their sent


def check_messages(conn: Connection, lookup: MessageLookup) -> MessageCheck:
    """Holding the workspace's ingest lock, on the events ``check_owners`` let through
    (``prepare_messages`` of them)."""
    known = _Messages(conn, lookup)
    valid, rejected = _split(lookup.events, known.check)
    return MessageCheck(valid, rejected, known.existing, known.early)
