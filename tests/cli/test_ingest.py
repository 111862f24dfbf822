"""`campaign-analytics ingest` loads a file through the API's validation, idempotently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from campaign_analytics.db import Database
from tests.world import World, count

CLI = str(Path(sys.executable).parent / "campaign-analytics")


def _run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def test_ingest_a_file_twice(world: World, db: Database, database_url: str,
                             tmp_path: Path) -> None:
    lead = world.lead()
    events = [world.sent(f"cli-{n}", lead, n) for n in range(40)]
    events.append(world.event("opened", "cli-1", 90, campaign_id="cmp_unknown"))
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(event) for event in events))

    first = _run(database_url, "ingest", "--workspace", world.tenant.id, str(path))
    assert first.returncode == 0, first.stderr
    assert "read 41: accepted 40, duplicates 0, rejected 1" in first.stdout
    assert "event #41: CAMPAIGN_NOT_FOUND" in first.stdout
    second = _run(database_url, "ingest", "--workspace", world.tenant.id, str(path))
    assert "accepted 0, duplicates 40, rejected 1" in second.stdout
    assert count(db, "SELECT count(*) FROM email_events WHERE campaign_id = :c",
                 c=world.campaign) == 40


def test_unknown_workspace_is_a_usage_error(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("{}\n")
    result = _run(database_url, "ingest", "--workspace", "ws_nope", str(path))
    assert result.returncode == 2
    assert "Workspace ws_nope not found" in result.stderr
