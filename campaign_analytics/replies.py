"""Replies and their classification; a person's correction wins over the automatic one.

When a reply is reclassified the lead follows: the new class makes its forward move (SPEC
11.19). Correcting a reply *away from* ``not_interested`` also lifts what that class did
automatically: the address's ``not_interested`` suppression is removed unless another
decline from the same address remains, and a lead that ingestion (not a person) moved to
``lost`` returns to ``replied`` (or ``contacted``) unless another of its replies declined.
"""

from __future__ import annotations

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.orm import Session

from .campaigns import get_campaign
from .errors import ReplyNotFound, SuppressionNotFound
from .leads import POSITIVE_REPLIES, apply_moves, fact_move
from .models import Campaign, Lead, Message, Reply, ReplyCorrection, Suppression
from .models.vocabulary import ClassifiedBy, LeadStatus, ReplyClass, StatusSource
from .pagination import DEFAULT_LIMIT, Page, paginate

NOT_INTERESTED = ReplyClass.NOT_INTERESTED.value


def list_replies(
    session: Session, workspace_id: str, campaign_id: str, *,
    classification: ReplyClass | None = None, limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Reply]:
    get_campaign(session, workspace_id, campaign_id)
    query = select(Reply).where(Reply.workspace_id == workspace_id,
                                Reply.campaign_id == campaign_id)
    if classification is not None:
        query = query.where(Reply.classification == classification)
    return paginate(session, query, Reply.created_at, Reply.id, limit=limit, cursor=cursor)


def get_reply(session: Session, workspace_id: str, reply_id: str) -> Reply:
    reply = session.scalar(
        select(Reply).join(Campaign, Campaign.id == Reply.campaign_id)
        .where(Reply.id == reply_id, Reply.workspace_id == workspace_id,
               Campaign.deleted_at.is_(None))
    )
    if reply is None:
        raise ReplyNotFound(reply_id)
    return reply


def _address(session: Session, reply: Reply) -> str | None:
    if reply.from_address:
        return reply.from_address.lower()
    recipient = session.scalar(select(Message.recipient).where(
        Message.workspace_id == reply.workspace_id, Message.message_id == reply.message_id))
    return recipient.lower() if recipient else None


def _other_declines(reply: Reply, *conditions: object) -> bool:
    return exists().where(Reply.workspace_id == reply.workspace_id, Reply.id != reply.id,
                          Reply.classification == NOT_INTERESTED, *conditions)


def _lift_suppression(session: Session, reply: Reply, address: str) -> None:
    recipient_is_address = select(Message.message_id).where(
        Message.workspace_id == reply.workspace_id, func.lower(Message.recipient) == address)
    still_declined = session.scalar(select(_other_declines(
        reply, or_(func.lower(Reply.from_address) == address,
                   Reply.from_address.is_(None) & Reply.message_id.in_(recipient_is_address)))))
    if not still_declined:
        session.execute(delete(Suppression).where(
            Suppression.workspace_id == reply.workspace_id, Suppression.email == address,
            Suppression.reason == NOT_INTERESTED))


def _lift_decline(session: Session, reply: Reply, new: ReplyClass) -> None:
    address = _address(session, reply)
    if address:
        _lift_suppression(session, reply, address)
    if reply.lead_id is None:
        return
    lead = session.get(Lead, reply.lead_id, with_for_update=True)
    if lead is None or lead.status != LeadStatus.LOST or lead.status_source != StatusSource.AUTO:
        return  # a person's "lost" stands
    if not session.scalar(select(_other_declines(reply, Reply.lead_id == reply.lead_id))):
        lead.status = LeadStatus.REPLIED if new in POSITIVE_REPLIES else LeadStatus.CONTACTED


def _suppress(session: Session, reply: Reply) -> None:
    address = _address(session, reply)
    if address and session.get(Suppression, (reply.workspace_id, address)) is None:
        session.add(Suppression(workspace_id=reply.workspace_id, email=address,
                                reason=NOT_INTERESTED))


def reclassify(session: Session, workspace_id: str, reply_id: str, new: ReplyClass) -> Reply:
    reply = get_reply(session, workspace_id, reply_id)
    old = ReplyClass(reply.classification)
    reply.classification = new.value
    reply.classified_by = ClassifiedBy.MANUAL.value
    if old == ReplyClass.NOT_INTERESTED and new != old:
        _lift_decline(session, reply, new)
    if new == ReplyClass.NOT_INTERESTED and new != old:
        _suppress(session, reply)
    if new != old:  # the next refresh moves the reply's count to its new class
        session.add(ReplyCorrection(workspace_id=workspace_id, reply_id=reply.id,
                                    old_classification=old.value,
                                    new_classification=new.value))
    session.flush()
    if reply.lead_id:
        apply_moves(session.connection(), [(reply.lead_id, fact_move("replied", None, new))])
    session.commit()
    session.refresh(reply)
    return reply


def list_suppressions(
    session: Session, workspace_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Suppression]:
    query = select(Suppression).where(Suppression.workspace_id == workspace_id)
    return paginate(session, query, Suppression.created_at, Suppression.email,
                    limit=limit, cursor=cursor)


def remove_suppression(session: Session, workspace_id: str, email: str) -> None:
    removed = session.execute(delete(Suppression).where(
        Suppression.workspace_id == workspace_id, Suppression.email == email.strip().lower()))
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise SuppressionNotFound(email)
    session.commit()
