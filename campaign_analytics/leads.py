"""Leads and their lifecycle (seed 001, SPEC 11.19).

Two transition tables, each defined once: the moves a person may make, and the forward-only
moves ingestion makes on its own (which never undo a manual ``placed`` or ``lost``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import Connection, select, text, update
from sqlalchemy.orm import Session

from .campaigns import get_campaign
from .errors import AccountNotFound, InvalidStatusTransition, LeadNotFound
from .fields import Changes, Score, Text, Url
from .ids import new_id
from .models import Lead, SendingAccount
from .models.vocabulary import LeadStatus, Qualification, ReplyClass, StatusSource
from .pagination import DEFAULT_LIMIT, Page, paginate
from .pgarrays import text_array

S = LeadStatus
MANUAL_MOVES: Mapping[LeadStatus, frozenset[LeadStatus]] = {
    S.DISCOVERED: frozenset({S.CONTACTED}),
    S.CONTACTED: frozenset({S.REPLIED, S.BOUNCED}),
    S.REPLIED: frozenset({S.PLACED, S.LOST}),
    S.PLACED: frozenset(),
    S.LOST: frozenset(),
    S.BOUNCED: frozenset(),
}

# What an ingested fact does to its lead: (statuses it moves from, status it moves to).
AUTO_MOVES: Mapping[str, tuple[frozenset[LeadStatus], LeadStatus]] = {
    "sent": (frozenset({S.DISCOVERED}), S.CONTACTED),
    "hard_bounce": (frozenset({S.CONTACTED}), S.BOUNCED),
    "positive_reply": (frozenset({S.CONTACTED}), S.REPLIED),
    "negative_reply": (frozenset({S.CONTACTED, S.REPLIED}), S.LOST),
}

MAX_BULK = 10_000


Title = Annotated[Text, Field(max_length=500)]
Source = Annotated[Text, Field(max_length=100)]
# Empty would name no account, yet pass every "is there one?" test on its way to the FK.
AccountId = Annotated[Text, Field(min_length=1, max_length=40)]


class LeadDetails(BaseModel):
    """The optional facts about a lead, shared by creation and change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    website_url: Url | None = None
    website_title: Title | None = None
    contact_email: EmailStr | None = None
    quality_score: Score | None = None
    relevance_score: Score | None = None
    guest_post_likelihood: Score | None = None
    source: Source | None = None
    account_id: AccountId | None = None


class LeadFields(LeadDetails):
    qualification: Qualification = Qualification.PENDING


class LeadChanges(Changes, LeadDetails):
    """Only the fields present change; ``status`` follows the manual lifecycle."""

    CLEARABLE = frozenset(LeadDetails.model_fields)

    status: LeadStatus | None = None
    qualification: Qualification | None = None


def check_move(current: LeadStatus, target: LeadStatus) -> None:
    """Raise unless a person may move a lead from ``current`` to ``target``."""
    if target != current and target not in MANUAL_MOVES[current]:
        allowed = ", ".join(sorted(MANUAL_MOVES[current])) or "none (final status)"
        raise InvalidStatusTransition(
            f"A lead cannot move from {current} to {target}; allowed: {allowed}",
            {"from": current.value, "to": target.value},
        )


def _row(workspace_id: str, campaign_id: str, fields: LeadFields) -> dict[str, object]:
    now = datetime.now(UTC)
    values = fields.model_dump()
    values["contact_email"] = str(fields.contact_email).lower() if fields.contact_email else None
    qualified = fields.qualification == Qualification.QUALIFIED
    return {**values, "id": new_id("lead"), "workspace_id": workspace_id,
            "campaign_id": campaign_id, "status": LeadStatus.DISCOVERED.value,
            "qualified_at": now if qualified else None, "created_at": now, "updated_at": now}


def _known_accounts(session: Session, workspace_id: str, ids: Iterable[str | None]) -> set[str]:
    wanted = {account_id for account_id in ids if account_id}
    if not wanted:
        return set()
    return set(session.scalars(select(SendingAccount.id).where(
        SendingAccount.workspace_id == workspace_id, SendingAccount.id.in_(wanted))))


def create_leads(
    session: Session, workspace_id: str, campaign_id: str, items: list[tuple[int, LeadFields]]
) -> tuple[list[tuple[int, str]], list[tuple[int, str, str]]]:
    """Insert valid leads in one statement; returns (created [(index, id)], failed)."""
    get_campaign(session, workspace_id, campaign_id)
    accounts = _known_accounts(session, workspace_id, (f.account_id for _, f in items))
    created: list[tuple[int, str]] = []
    failed: list[tuple[int, str, str]] = []
    rows = []
    for index, fields in items:
        if fields.account_id and fields.account_id not in accounts:
            failed.append((index, AccountNotFound.code,
                           f"Account {fields.account_id} not found"))
            continue
        row = _row(workspace_id, campaign_id, fields)
        rows.append(row)
        created.append((index, str(row["id"])))
    if rows:
        session.execute(Lead.__table__.insert(), rows)
    session.commit()
    return created, failed


def create_lead(session: Session, workspace_id: str, campaign_id: str, fields: LeadFields) -> Lead:
    created, failed = create_leads(session, workspace_id, campaign_id, [(0, fields)])
    if failed:
        raise AccountNotFound(fields.account_id or "")
    return get_lead(session, workspace_id, campaign_id, created[0][1])


def get_lead(
    session: Session, workspace_id: str, campaign_id: str, lead_id: str, *, lock: bool = False
) -> Lead:
    get_campaign(session, workspace_id, campaign_id)
    query = select(Lead).where(
        Lead.id == lead_id, Lead.campaign_id == campaign_id, Lead.workspace_id == workspace_id)
    lead = session.scalar(query.with_for_update() if lock else query)
    if lead is None:
        raise LeadNotFound(lead_id)
    return lead


def list_leads(
    session: Session, workspace_id: str, campaign_id: str, *, status: LeadStatus | None = None,
    limit: int = DEFAULT_LIMIT, cursor: str | None = None,
) -> Page[Lead]:
    get_campaign(session, workspace_id, campaign_id)
    query = select(Lead).where(Lead.campaign_id == campaign_id, Lead.workspace_id == workspace_id)
    if status is not None:
        query = query.where(Lead.status == status)
    return paginate(session, query, Lead.created_at, Lead.id, limit=limit, cursor=cursor)


def _apply_status(lead: Lead, target: LeadStatus, now: datetime) -> None:
    check_move(LeadStatus(lead.status), target)
    if target == lead.status:
        return
    if target == LeadStatus.PLACED:
        lead.placed_at = now
    lead.status = target
    lead.status_source = StatusSource.MANUAL


def _apply_qualification(lead: Lead, qualification: Qualification, now: datetime) -> None:
    if qualification != lead.qualification:
        lead.qualified_at = now if qualification == Qualification.QUALIFIED else None
    lead.qualification = qualification


def update_lead(
    session: Session, workspace_id: str, campaign_id: str, lead_id: str, changes: LeadChanges
) -> Lead:
    # Locked: an ingestion batch moving this lead meanwhile must not be overwritten.
    lead = get_lead(session, workspace_id, campaign_id, lead_id, lock=True)
    now = datetime.now(UTC)
    given = changes.model_dump(exclude_unset=True)
    if given.get("account_id") and not _known_accounts(session, workspace_id,
                                                       [given["account_id"]]):
        raise AccountNotFound(given["account_id"])
    if changes.status is not None:
        _apply_status(lead, changes.status, now)
    if changes.qualification is not None:
        _apply_qualification(lead, changes.qualification, now)
    for name, value in given.items():
        if name in ("status", "qualification"):
            continue
        if name == "contact_email" and value is not None:
            value = str(value).lower()
        setattr(lead, name, value)
    session.commit()
    session.refresh(lead)
    return lead


def bulk_change_status(
    session: Session, workspace_id: str, campaign_id: str, lead_ids: list[str],
    target: LeadStatus,
) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Move many leads; partial success is normal. Returns (updated ids, failed)."""
    get_campaign(session, workspace_id, campaign_id)
    current = dict(session.execute(
        select(Lead.id, Lead.status).where(
            Lead.campaign_id == campaign_id, Lead.workspace_id == workspace_id,
            Lead.id.in_(set(lead_ids)))
        .order_by(Lead.id)  # the lock order ingestion uses too: no deadlock
        .with_for_update()
    ).all())
    updated: list[str] = []
    failed: list[tuple[str, str, str]] = []
    for lead_id in dict.fromkeys(lead_ids):  # each id once, in the caller's order
        if lead_id not in current:
            failed.append((lead_id, LeadNotFound.code, f"Lead {lead_id} not found"))
            continue
        try:
            check_move(LeadStatus(current[lead_id]), target)
        except InvalidStatusTransition as exc:
            failed.append((lead_id, exc.code, exc.message))
            continue
        updated.append(lead_id)
    moving = [lead_id for lead_id in updated if current[lead_id] != target]
    if moving:
        now = datetime.now(UTC)
        values: dict[str, object] = {"status": target.value, "updated_at": now,
                                     "status_source": StatusSource.MANUAL.value}
        if target == LeadStatus.PLACED:
            values["placed_at"] = now
        session.execute(update(Lead).where(Lead.id.in_(moving)).values(**values))
    session.commit()
    return updated, failed


MOVE_LEADS = """
UPDATE leads l SET status = moved.status, status_source = 'auto', updated_at = now()
FROM unnest(CAST(:ids AS text[]), CAST(:statuses AS text[])) AS moved(id, status)
WHERE l.id = moved.id
"""
LOCK_LEADS = """
SELECT id, status FROM leads WHERE id = ANY(CAST(:ids AS text[])) ORDER BY id FOR UPDATE
"""
_STATUSES = {status.value: status for status in LeadStatus}
POSITIVE_REPLIES = frozenset({ReplyClass.INTERESTED, ReplyClass.REPLIED})


def fact_move(event_type: str, bounce_type: str | None, classification: str | None) -> str | None:
    """The AUTO_MOVES entry an ingested fact triggers, if any."""
    if event_type == "sent":
        return "sent"
    if event_type == "bounced":
        return "hard_bounce" if bounce_type == "hard" else None
    if classification == ReplyClass.NOT_INTERESTED:
        return "negative_reply"
    return "positive_reply" if classification in POSITIVE_REPLIES else None


def apply_moves(conn: Connection, facts: Iterable[tuple[str, str | None]]) -> int:
    """Apply (lead_id, move) facts in order, forward only; returns how many leads changed.

    Rows are locked in id order, the order every writer of leads uses. Ingestion calls
    this under the workspace's ingest lock with thousands of leads, hence array literals
    (``pgarrays``) and a plain lookup of each status.
    """
    ordered = [(lead_id, move) for lead_id, move in facts if move]
    if not ordered:
        return 0
    lead_ids = sorted({lead_id for lead_id, _ in ordered})
    rows = conn.execute(text(LOCK_LEADS), {"ids": text_array(lead_ids)}).all()
    status = {lead_id: _STATUSES[value] for lead_id, value in rows}
    before = dict(status)
    for lead_id, move in ordered:
        sources, target = AUTO_MOVES[move]
        if lead_id in status and status[lead_id] in sources:
            status[lead_id] = target
    changed = [lead_id for lead_id in status if status[lead_id] != before[lead_id]]
    if changed:
        conn.execute(text(MOVE_LEADS), {"ids": text_array(changed),
                                        "statuses": text_array(status[i].value for i in changed)})
    return len(changed)
