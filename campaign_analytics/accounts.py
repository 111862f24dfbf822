"""Sending accounts: the mailboxes campaigns send from (seed 004)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, EmailStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import AccountAlreadyExists, AccountNotFound
from .fields import IpAddress
from .ids import new_id
from .models import SendingAccount
from .pagination import DEFAULT_LIMIT, Page, paginate


class AccountFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    ip_address: IpAddress | None = None
    blacklisted: bool = False


class AccountChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ip_address: IpAddress | None = None
    blacklisted: bool | None = None


def create_account(session: Session, workspace_id: str, fields: AccountFields) -> SendingAccount:
    email = str(fields.email).lower()
    account = SendingAccount(
        id=new_id("acct"), workspace_id=workspace_id, email=email,
        domain=email.rsplit("@", 1)[1],
        ip_address=str(fields.ip_address) if fields.ip_address else None,
        blacklisted=fields.blacklisted,
        blacklist_checked_at=datetime.now(UTC) if fields.blacklisted else None,
    )
    session.add(account)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AccountAlreadyExists(f"An account for {email} already exists") from None
    session.refresh(account)
    return account


def get_account(session: Session, workspace_id: str, account_id: str) -> SendingAccount:
    account = session.scalar(select(SendingAccount).where(
        SendingAccount.id == account_id, SendingAccount.workspace_id == workspace_id))
    if account is None:
        raise AccountNotFound(account_id)
    return account


def list_accounts(
    session: Session, workspace_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[SendingAccount]:
    query = select(SendingAccount).where(SendingAccount.workspace_id == workspace_id)
    return paginate(session, query, SendingAccount.created_at, SendingAccount.id,
                    limit=limit, cursor=cursor)


def update_account(
    session: Session, workspace_id: str, account_id: str, changes: AccountChanges
) -> SendingAccount:
    account = get_account(session, workspace_id, account_id)
    given = changes.model_dump(exclude_unset=True)
    if "ip_address" in given:
        account.ip_address = str(changes.ip_address) if changes.ip_address else None
    if changes.blacklisted is not None:
        # Setting the flag is the record of a blacklist check (SPEC 11.12: last_check).
        account.blacklisted = changes.blacklisted
        account.blacklist_checked_at = datetime.now(UTC)
    session.commit()
    session.refresh(account)
    return account
