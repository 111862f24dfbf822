"""A workspace with many events, so an export runs long enough for a test to act on it
while it runs (cancel it, kill or stop its worker)."""

from __future__ import annotations

import secrets

from flask.testing import FlaskClient
from sqlalchemy import text

from campaign_analytics.db import Database
from campaign_analytics.workspaces import create_workspace
from tests.conftest import Tenant

# Enough rows that a gzip JSON Lines export takes a few seconds on this kind of machine.
BIG = 400_000


def tenant_with_events(client: FlaskClient, db: Database, events: int) -> Tenant:
    """A workspace with one campaign and ``events`` events within the last day."""
    with db.sessions() as session:
        workspace, key = create_workspace(session, f"Big {secrets.token_hex(3)}", "UTC")
    tenant = Tenant(client, workspace.id, key)
    campaign = tenant.post("/campaigns", json={"name": "Big"}).get_json()["data"]["id"]
    with db.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO email_events (workspace_id, campaign_id, message_id, external_id, type,
                                      occurred_at, user_agent)
            SELECT :ws, :cmp, 'm-' || g, 'x-' || g, 'opened',
                   now() - make_interval(secs => g % 80000),
                   'Mozilla/5.0 (a user agent long enough to make rows of a realistic size)'
            FROM generate_series(1, :n) AS g"""), {"ws": workspace.id, "cmp": campaign,
                                                    "n": events})
    return tenant


def request_export(tenant: Tenant) -> str:
    response = tenant.post("/analytics/export", json={
        "export_type": "events", "format": "jsonl", "compression": "gzip"})
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["data"]["export_id"])


