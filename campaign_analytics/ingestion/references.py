"""Checks a batch's references to campaigns, leads, accounts and messages, one query each."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from .parsing import MESSAGE_TYPES, ParsedEvent, Rejected

LIVE_CAMPAIGNS = """
SELECT id FROM campaigns WHERE workspace_id = :ws AND deleted_at IS NULL AND id = ANY(:ids)
"""
LEADS = "SELECT id, campaign_id FROM leads WHERE workspace_id = :ws AND id = ANY(:ids)"
ACCOUNTS = "SELECT id FROM sending_accounts WHERE workspace_id = :ws AND id = ANY(:ids)"
MESSAGES = """
SELECT message_id, campaign_id FROM messages WHERE workspace_id = :ws AND message_id = ANY(:ids)
"""
# Events stored before their message exists already name its campaign.
EARLY_EVENTS = """
SELECT DISTINCT ON (message_id) message_id, campaign_id FROM email_events
WHERE workspace_id = :ws AND message_id = ANY(:ids) ORDER BY message_id, id
"""


def _lookup(conn: Connection, sql: str, workspace_id: str, ids: set[str]) -> list[tuple[str, ...]]:
    if not ids:
        return []
    return [tuple(row) for row in conn.execute(text(sql), {"ws": workspace_id, "ids": list(ids)})]


class _Known:
    """What the database (and earlier events of the batch) say exists."""

    def __init__(self, conn: Connection, workspace_id: str, events: Sequence[ParsedEvent]) -> None:
        def ids(name: str) -> set[str]:
            return {value for e in events if (value := getattr(e, name))}

        self.campaigns = {row[0] for row in _lookup(conn, LIVE_CAMPAIGNS, workspace_id,
                                                    ids("campaign_id"))}
        self.lead_campaign = dict(_lookup(conn, LEADS, workspace_id, ids("lead_id")))
        self.accounts = {row[0] for row in _lookup(conn, ACCOUNTS, workspace_id,
                                                   ids("account_id"))}
        self.message_campaign = dict(_lookup(conn, MESSAGES, workspace_id, ids("message_id")))
        unborn = {e.message_id for e in events if e.type in MESSAGE_TYPES}
        unborn -= set(self.message_campaign)
        # Messages about to be born that already have events: only their history needs
        # looking at again when the batch is written.
        self.early: set[str] = set()
        for message_id, campaign_id in _lookup(conn, EARLY_EVENTS, workspace_id, unborn):
            self.message_campaign[message_id] = campaign_id
            self.early.add(message_id)

    def check(self, event: ParsedEvent) -> None:
        if event.campaign_id not in self.campaigns:
            raise Rejected("CAMPAIGN_NOT_FOUND", f"campaign {event.campaign_id} not found")
        if event.lead_id and self.lead_campaign.get(event.lead_id) != event.campaign_id:
            raise Rejected("LEAD_NOT_FOUND",
                           f"lead {event.lead_id} not found in campaign {event.campaign_id}")
        if event.account_id and event.account_id not in self.accounts:
            raise Rejected("ACCOUNT_NOT_FOUND", f"account {event.account_id} not found")
        owner = self.message_campaign.setdefault(event.message_id, event.campaign_id) \
            if event.type in MESSAGE_TYPES else self.message_campaign.get(event.message_id)
        if owner is not None and owner != event.campaign_id:
            raise Rejected("VALIDATION_ERROR",
                           f"message {event.message_id} belongs to campaign {owner}")


def check_references(
    conn: Connection, workspace_id: str, events: Sequence[ParsedEvent]
) -> tuple[list[ParsedEvent], list[tuple[int, str, str]], set[str]]:
    """(valid events, rejections, ids of messages with events stored before their sent)."""
    known = _Known(conn, workspace_id, events)
    valid: list[ParsedEvent] = []
    rejected: list[tuple[int, str, str]] = []
    for event in events:
        try:
            known.check(event)
        except Rejected as exc:
            rejected.append((event.index, exc.code, exc.message))
        else:
            valid.append(event)
    return valid, rejected, known.early
