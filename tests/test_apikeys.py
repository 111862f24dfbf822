"""API keys are stored hashed and never written to logs."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import pytest
from sqlalchemy import select, text

from campaign_analytics.analytics.workspace import WORKSPACE_FACTS
from campaign_analytics.apikeys import KeyLookup, authenticate, create_key, hash_key
from campaign_analytics.db import Database
from campaign_analytics.models import ApiKey
from tests.conftest import Tenant


def test_only_the_digest_is_stored(tenant: Tenant, db: Database) -> None:
    with db.sessions() as session:
        dump = session.execute(text("SELECT api_keys::text FROM api_keys")).scalars().all()
        key = session.scalar(select(ApiKey).where(ApiKey.workspace_id == tenant.id))
    assert not any(tenant.key in row for row in dump)
    assert key is not None
    assert key.hash == hashlib.sha256(tenant.key.encode()).hexdigest()
    assert tenant.key.startswith(key.prefix)


def test_use_is_recorded(tenant: Tenant, db: Database) -> None:
    tenant.get("/jobs")
    with db.sessions() as session:
        key = session.scalar(select(ApiKey).where(ApiKey.workspace_id == tenant.id))
    assert key is not None and key.last_used_at is not None


def test_each_key_authenticates_only_itself(tenant: Tenant, db: Database) -> None:
    with db.sessions() as session:
        second, plain = create_key(session, tenant.id, "second")
        session.commit()
    found, _ = authenticate(db.engine, plain)
    assert found is not None and found.id == second.id
    assert authenticate(db.engine, plain + "x") == (None, None)
    assert authenticate(db.engine, plain[:-1]) == (None, None)


def test_keys_never_reach_the_logs(tenant: Tenant, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tenant.get("/jobs")
    tenant.client.get(tenant.prefix + "/jobs", headers={"Authorization": "Bearer ca_wrongkey"})
    tenant.post("/jobs/diagnostics", json={"steps": 1})
    assert tenant.key not in caplog.text
    assert "ca_wrongkey" not in caplog.text


def test_facts_are_read_only_for_an_active_key_of_their_workspace(
        tenant: Tenant, make_tenant: Any, db: Database) -> None:
    """Another workspace's key (or a revoked one) on a kept view's path costs the key
    lookup alone: the facts' statement is never run for it."""
    lookup = KeyLookup(WORKSPACE_FACTS.statement)
    other = make_tenant("Other")
    mine = {"workspace_id": tenant.id}
    key, facts = authenticate(db.engine, tenant.key, lookup, mine)
    assert key is not None and facts is not None and facts[0] == tenant.id
    key, facts = authenticate(db.engine, other.key, lookup, mine)
    assert key is not None and key.workspace_id == other.id and facts is None
    with db.engine.connect() as conn:
        plan = "\n".join(conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, COSTS OFF) " + lookup.sql,
            {"digest": hash_key(other.key), "workspace_id": tenant.id, "param_1": 1}).scalars())
    assert "workspaces" in plan and all(
        "never executed" in line for line in plan.splitlines()
        if re.search(r"Scan on (workspaces|campaigns|refresh_state)", line)), plan
