"""`campaign-analytics generate` writes a data set of the size asked, once per seed."""

from __future__ import annotations

from campaign_analytics.db import Database
from tests.cli.test_ingest import _run
from tests.conftest import Tenant
from tests.world import count


def test_generate_writes_n_events_and_refuses_a_repeated_seed(
    tenant: Tenant, db: Database, database_url: str
) -> None:
    first = _run(database_url, "generate", "--workspace", tenant.id, "--events", "3000",
                 "--seed", "7")
    assert first.returncode == 0, first.stderr
    assert "generated 3000 events" in first.stdout
    events = count(db, "SELECT count(*) FROM email_events WHERE workspace_id = :w", w=tenant.id)
    assert abs(events - 3000) <= 30
    again = _run(database_url, "generate", "--workspace", tenant.id, "--events", "3000",
                 "--seed", "7")
    assert again.returncode == 2
    assert "seed 7" in again.stderr
    assert count(db, "SELECT count(*) FROM email_events WHERE workspace_id = :w",
                 w=tenant.id) == events
