"""A long export whose worker goes away: killed outright, or stopped gracefully. Either way
the export completes once, with the bytes of an undisturbed run, and no partial file is
ever served."""

from __future__ import annotations

import gzip
import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from campaign_analytics.db import Database
from tests.conftest import Tenant
from tests.exports.big import BIG, request_export, tenant_with_events
from tests.jobs.helpers import load, wait_until

pytestmark = pytest.mark.slow


def writing(db: Database, export_id: str) -> bool:
    job = load(db, export_id)
    return job.status == "processing" and (job.progress or {}).get("rows_written", 0) > 0


def finished_files(export_dir: Path) -> list[Path]:
    return [path for path in export_dir.rglob("*")
            if path.is_file() and not path.name.startswith(".tmp-")]


def whole(path: Path) -> bool:
    """A truncated gzip stream raises EOFError: a partial file can never pass."""
    with gzip.open(path) as stream:
        while stream.read(1 << 20):
            pass
    return True


def assert_matches_an_undisturbed_run(db: Database, tenant: Tenant, export_id: str,
                                      worker: Any) -> None:
    """Same rows and bytes as the same request run without a fault; and served as such."""
    rerun = load(db, export_id)
    undisturbed_id = request_export(tenant)
    wait_until(lambda: load(db, undisturbed_id).status == "completed", 120,
               lambda: f"the second export did not complete:\n{worker.log()}")
    undisturbed = load(db, undisturbed_id)
    assert undisturbed.attempts == 1
    assert (rerun.row_count, rerun.file_sha256) == (undisturbed.row_count,
                                                    undisturbed.file_sha256)
    status = tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    served = tenant.client.get(status["download_url"])
    assert served.status_code == 200
    assert hashlib.sha256(served.data).hexdigest() == rerun.file_sha256


def test_a_worker_killed_mid_export_leaves_nothing_downloadable_and_the_rerun_matches(
    export_app: Flask, db: Database, worker_env: dict[str, str], celery_processes: Any,
    export_dir: Path
) -> None:
    """SIGKILL of the worker's whole process group while it writes: no file is ever
    served meanwhile, the job is re-run on a new worker and completes once, with the same
    bytes (sha256) as an undisturbed run of the same request."""
    tenant = tenant_with_events(export_app.test_client(), db, BIG)
    worker = celery_processes("worker", worker_env, name="doomed")
    export_id = request_export(tenant)
    wait_until(lambda: writing(db, export_id), 60,
               lambda: f"the export to start writing:\n{worker.log()}", interval=0.05)
    worker.kill_group()
    status = tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
    assert status["status"] == "processing" and status["download_url"] is None
    assert finished_files(export_dir) == []

    replacement = celery_processes("worker", worker_env, name="replacement")
    celery_processes("beat", worker_env)  # its sweeper takes back the expired lease

    def completed_and_never_served_before() -> bool:
        status = tenant.get(f"/analytics/exports/{export_id}").get_json()["data"]
        if status["status"] != "completed":
            assert status["download_url"] is None, status
            # The rerun renames its finished file into place just before it records the
            # job completed; in that window the file may be seen, but only whole.
            assert all(whole(path) for path in finished_files(export_dir))
        return bool(status["status"] == "completed")

    wait_until(completed_and_never_served_before, 120,
               lambda: f"the export was not completed after the kill:\n{replacement.log()}")
    assert load(db, export_id).attempts >= 2
    assert replacement.log().count(f"job {export_id} (export) completed") == 1
    assert_matches_an_undisturbed_run(db, tenant, export_id, replacement)


def test_sigterm_hands_a_running_export_to_the_next_worker_at_once(
    export_app: Flask, db: Database, worker_env: dict[str, str], celery_processes: Any,
    export_dir: Path
) -> None:
    """docker stop / Kubernetes: SIGTERM to the worker's main process mid-export. The worker
    stops within seconds, gives the job back (not counted as an attempt) and re-publishes
    it; a new worker finishes it. No beat runs here, so no sweeper: only the hand-back can
    bring the job back before its lease (and long before the visibility timeout)."""
    tenant = tenant_with_events(export_app.test_client(), db, BIG)
    leaving = celery_processes("worker", worker_env, name="leaving")
    export_id = request_export(tenant)
    wait_until(lambda: writing(db, export_id), 60,
               lambda: f"the export to start writing:\n{leaving.log()}", interval=0.05)

    asked = time.monotonic()
    assert leaving.terminate() == 0, leaving.log()
    assert time.monotonic() - asked < 15, "the warm shutdown waited for the export to end"
    assert f"job {export_id} handed back by attempt 1" in leaving.log(), leaving.log()
    handed = load(db, export_id)
    assert (handed.status, handed.attempts, handed.claimed_by) == ("queued", 0, None)
    assert handed.release_requested_at is None and handed.file_key is None
    assert finished_files(export_dir) == []

    arriving = celery_processes("worker", worker_env, name="arriving")
    wait_until(lambda: load(db, export_id).status == "completed", 120,
               lambda: f"the handed-back export was not completed:\n{arriving.log()}")
    done = load(db, export_id)
    assert done.attempts == 1
    assert arriving.log().count(f"job {export_id} (export) completed") == 1
    assert_matches_an_undisturbed_run(db, tenant, export_id, arriving)
