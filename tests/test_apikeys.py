"""API keys are stored hashed and never written to logs."""

from __future__ import annotations

import hashlib
import logging

import pytest
from sqlalchemy import select, text

from campaign_analytics.apikeys import authenticate, create_key
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
