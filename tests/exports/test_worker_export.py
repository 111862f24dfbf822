"""An export submitted through the outbox runs in a real Celery worker process and lands in
the storage named by STORAGE_URL, with the row's size and sha256 matching the file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campaign_analytics.db import Database
from campaign_analytics.exports.spec import Compression, ExportFormat, ExportType
from campaign_analytics.exports.storage import LocalStorage
from campaign_analytics.jobs import outbox
from campaign_analytics.settings import Settings
from tests.conftest import free_port
from tests.exports.conftest import params
from tests.exports.seed import seed
from tests.jobs.conftest import OwnBroker
from tests.jobs.helpers import load, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    """A Redis of this test's own: no other test session's worker can take its message."""
    broker = OwnBroker(free_port(), tmp_path / "redis")
    broker.start()
    yield broker
    broker.stop()


def test_an_export_completes_in_a_worker_process(
        settings: Settings, db: Database, tmp_path: Path, process_env: dict[str, str],
        own_broker: OwnBroker, celery_processes: Any) -> None:
    from webapi import create_app

    app = create_app(settings.model_copy(update={"redis_url": own_broker.url}))
    seeded = seed(db)
    root = tmp_path / "export-files"
    worker = celery_processes("worker", {**process_env, "REDIS_URL": own_broker.url,
                                         "STORAGE_URL": f"file://{root}"})
    export_params = params(ExportType.REPLIES, ExportFormat.CSV, compression=Compression.GZIP)
    with db.sessions() as session:
        job = outbox.submit(session, app.extensions["job_publisher"], kind="export",
                            workspace_id=seeded.workspace_id, params=export_params.to_params())
    assert job.id.startswith("exp_")
    wait_until(lambda: load(db, job.id).status in ("completed", "failed"), 60,
               f"export did not finish: {vars(load(db, job.id))}\n{worker.log()[-3000:]}")
    done = load(db, job.id)
    assert done.status == "completed", (done.error_code, done.error_message, worker.log())
    data = LocalStorage(root).local_path(done.file_key or "").read_bytes()
    assert done.file_key == f"exports/{seeded.workspace_id}/{job.id}/{job.id}_replies.csv.gz"
    assert done.file_size == len(data)
    assert done.file_sha256 == hashlib.sha256(data).hexdigest()
    assert done.row_count == done.result["row_count"] > 0
    assert done.progress["percent"] == 100.0
