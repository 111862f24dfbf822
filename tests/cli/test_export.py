"""`campaign-analytics export` submits an export like the API, waits with a progress bar and
downloads the file (SPEC §9, §11.32)."""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
from pathlib import Path
from typing import Any

import pytest

from campaign_analytics.db import Database
from tests.cli.test_ingest import CLI
from tests.jobs.helpers import load
from tests.world import World

pytestmark = pytest.mark.slow


def _run(env: dict[str, str], *args: str, cwd: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120,
                          cwd=cwd)


@pytest.fixture
def export_env(process_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**process_env, "STORAGE_URL": f"file://{tmp_path / 'storage'}"}


def test_export_waits_and_downloads_the_file(
    world: World, db: Database, export_env: dict[str, str], celery_processes: Any,
    tmp_path: Path
) -> None:
    lead = world.lead()
    world.post([world.sent("cli-1", lead), world.event("opened", "cli-1", 3)])
    celery_processes("worker", export_env)
    out = tmp_path / "out" / "events.csv"
    done = _run(export_env, "export", "--workspace", world.tenant.id, "--type", "events",
                "--campaign", world.campaign, "--time-range", "90d", "--out", str(out))
    assert done.returncode == 0, done.stderr
    first, last = done.stdout.strip().splitlines()
    export_id = first.split()[1]
    assert first == f"export {export_id} queued: events, workspace {world.tenant.id}"
    job = load(db, export_id)
    assert last == (f"export {export_id} completed: 2 rows, {job.file_size} bytes, "
                    f"sha256 {job.file_sha256} -> {out}")
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() == job.file_sha256
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert [row["type"] for row in rows] == ["sent", "opened"]
    assert job.params["campaign_ids"] == [world.campaign]
    assert job.params["period"] == "90d" and job.params["format"] == "csv"


def test_export_defaults_to_the_files_name_in_the_current_directory(
    world: World, export_env: dict[str, str], celery_processes: Any, tmp_path: Path
) -> None:
    celery_processes("worker", export_env)
    done = _run(export_env, "export", "--workspace", world.tenant.id, "--type",
                "campaign_performance", "--format", "jsonl", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    export_id = done.stdout.split()[1]
    written = tmp_path / f"{export_id}_campaign_performance.jsonl"
    assert written.is_file() and world.campaign in written.read_text()


def test_export_reports_bad_input_with_exit_code_2(
    world: World, export_env: dict[str, str], quiet_queues: None
) -> None:
    unknown_type = _run(export_env, "export", "--workspace", world.tenant.id, "--type", "all")
    assert unknown_type.returncode == 2 and "--type" in unknown_type.stderr
    unknown_campaign = _run(export_env, "export", "--workspace", world.tenant.id, "--type",
                            "leads", "--campaign", "cmp_missing")
    assert unknown_campaign.returncode == 2
    assert "Campaign cmp_missing not found" in unknown_campaign.stderr
    bad_range = _run(export_env, "export", "--workspace", world.tenant.id, "--type", "leads",
                     "--time-range", "45d")
    assert bad_range.returncode == 2 and "timeRange" in bad_range.stderr
