"""A campaign with an account, and helpers to build and send events to it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from campaign_analytics.db import Database
from tests.conftest import Tenant

T0 = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
_ids = itertools.count()
next_id = _ids.__next__


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


@dataclass
class World:
    tenant: Tenant
    campaign: str
    account: str

    def lead(self, email: str | None = None) -> str:
        email = email or f"editor{next_id()}@example.com"
        response = self.tenant.post(f"/campaigns/{self.campaign}/leads",
                                    json={"contact_email": email})
        return str(response.get_json()["data"]["id"])

    def event(self, kind: str, message: str, minutes: float, **fields: Any) -> dict[str, Any]:
        return {"external_id": f"e-{next_id()}", "type": kind, "occurred_at": at(minutes),
                "campaign_id": self.campaign, "message_id": message, **fields}

    def sent(self, message: str, lead: str, minutes: float = 0, **fields: Any) -> dict[str, Any]:
        defaults = {"lead_id": lead, "account_id": self.account,
                    "recipient": f"{message}@gmail.com", "subject": "Guest post idea"}
        return self.event("sent", message, minutes, **{**defaults, **fields})

    def post(self, events: list[Any]) -> dict[str, Any]:
        response = self.tenant.post("/events", json={"events": events})
        assert response.status_code == 202, response.get_data(as_text=True)
        return dict(response.get_json()["data"])

    def lead_status(self, lead: str) -> str:
        path = f"/campaigns/{self.campaign}/leads/{lead}"
        return str(self.tenant.get(path).get_json()["data"]["status"])


def count(db: Database, sql: str, **params: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())
