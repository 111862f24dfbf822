"""Sending accounts (mailboxes)."""

from __future__ import annotations

from flask import Response

from campaign_analytics import accounts

from ..auth import workspace_blueprint
from ..database import db_session
from ..openapi import operation
from ..responses import ok
from ..schemas.common import PageQuery
from ..schemas.outreach import AccountOut

bp = workspace_blueprint("accounts", __name__)


@bp.post("/accounts")
@operation("Add a sending account", response=AccountOut, body=accounts.AccountFields,
           status=201, tags=("accounts",), errors=("409",))
def create(workspace_id: str, body: accounts.AccountFields) -> Response:
    return ok(AccountOut.of(accounts.create_account(db_session(), workspace_id, body)),
              status=201)


@bp.get("/accounts")
@operation("List sending accounts", response=AccountOut, query=PageQuery, tags=("accounts",),
           paginated=True)
def index(workspace_id: str, query: PageQuery) -> Response:
    page = accounts.list_accounts(db_session(), workspace_id, limit=query.limit,
                                  cursor=query.cursor)
    return ok([AccountOut.of(a) for a in page.items], next_cursor=page.next_cursor)


@bp.patch("/accounts/<account_id>")
@operation("Change an account's IP or blacklist flag (records the check time)",
           response=AccountOut, body=accounts.AccountChanges, tags=("accounts",))
def change(workspace_id: str, account_id: str, body: accounts.AccountChanges) -> Response:
    account = accounts.update_account(db_session(), workspace_id, account_id, body)
    return ok(AccountOut.of(account))
