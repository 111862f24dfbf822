"""Both storage backends on real media: a temp directory, and S3 served by moto_server in
its own process (downloads through a presigned URL with requests)."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
import requests

from campaign_analytics.exports.storage import (
    InvalidStorageKey,
    LocalStorage,
    S3Storage,
    StorageUnavailable,
    export_key,
    storage_from_settings,
    validate_key,
)
from campaign_analytics.settings import Settings
from tests.exports.conftest import MotoServer, new_id

TRAVERSALS = [
    "../etc/passwd", "exports/../../etc/passwd", "/etc/passwd", "exports//x", "exports/./x",
    "exports/..", "..", ".", "", "exports/x/", "exports\\..\\x", "exports/a b", "exports/%2e%2e",
    "exports/\x00x", "exports/é", "exports/.hidden", "exports/-x", "~/x", "C:/x", "x" * 600,
]


@pytest.mark.parametrize("key", TRAVERSALS)
def test_unsafe_keys_are_refused_by_every_operation(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "root")
    with pytest.raises(InvalidStorageKey):
        validate_key(key)
    for operation in (storage.local_path, storage.delete, storage.exists, storage.open,
                      storage.writer):
        with pytest.raises(InvalidStorageKey):
            operation(key)
    s3 = S3Storage("bucket", "prefix", client=object())
    with pytest.raises(InvalidStorageKey):
        s3.object_key(key)
    assert not any(tmp_path.rglob("*"))


def test_keys_are_built_from_ids_only() -> None:
    key = export_key("ws_1", "exp_2", "exp_2_leads.csv.gz")
    assert key == "exports/ws_1/exp_2/exp_2_leads.csv.gz"
    with pytest.raises(InvalidStorageKey):
        export_key("ws_1/../ws_2", "exp_2", "f.csv")
    with pytest.raises(InvalidStorageKey):
        export_key("ws_1", "..", "f.csv")


def test_local_writes_appear_only_when_complete_with_their_size_and_sha256(tmp_path: Path
                                                                          ) -> None:
    storage = LocalStorage(tmp_path / "exports")
    key = export_key("ws_1", "exp_1", "exp_1_events.csv")
    payload = os.urandom(300_000)
    with storage.writer(key) as out:
        for start in range(0, len(payload), 65_536):
            out.write(payload[start:start + 65_536])
            assert not storage.exists(key)  # only a temp file so far
    path = storage.local_path(key)
    assert path.read_bytes() == payload
    assert (out.size, out.sha256) == (len(payload), hashlib.sha256(payload).hexdigest())
    assert [p.name for p in path.parent.iterdir()] == [path.name]

    # A failed rewrite leaves the previous file alone and no temp file behind.
    with pytest.raises(RuntimeError), storage.writer(key) as out:
        out.write(b"partial")
        raise RuntimeError("interrupted")
    assert path.read_bytes() == payload
    assert [p.name for p in path.parent.iterdir()] == [path.name]

    storage.delete(key)
    storage.delete(key)  # idempotent
    assert not storage.exists(key) and not path.parent.exists()
    assert storage.root.exists()


def test_storage_is_chosen_by_storage_url(tmp_path: Path) -> None:
    default = storage_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(default, LocalStorage) and default.root == tmp_path / "exports"
    local = storage_from_settings(Settings(storage_url=f"file://{tmp_path}/files"))
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "files"
    s3 = storage_from_settings(Settings(storage_url="s3://my-bucket/some/prefix/",
                                        s3_endpoint_url="http://127.0.0.1:1"))
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.object_key("exports/a/b/c.csv")) == (
        "my-bucket", "some/prefix/exports/a/b/c.csv")
    for bad in ("ftp://x/y", "file://host/path", "s3:///prefix"):
        with pytest.raises(ValueError):
            storage_from_settings(Settings(storage_url=bad))


@pytest.fixture
def bucket(moto_server: MotoServer, aws_env: None) -> str:
    name = new_id("bucket").replace("_", "-")
    boto3.client("s3", endpoint_url=moto_server.endpoint).create_bucket(Bucket=name)
    return name


def test_s3_upload_is_invisible_until_complete_and_downloads_by_presigned_url(
        moto_server: MotoServer, bucket: str) -> None:
    storage = storage_from_settings(Settings(storage_url=f"s3://{bucket}/tenant-files",
                                             s3_endpoint_url=moto_server.endpoint))
    assert isinstance(storage, S3Storage)
    key = export_key("ws_1", "exp_9", "exp_9_events.csv.gz")
    payload = os.urandom(17 * 1024 * 1024 + 123)  # above the part size: a multipart upload
    with storage.writer(key, content_type="application/gzip") as out:
        for start in range(0, len(payload), 1 << 20):
            out.write(payload[start:start + (1 << 20)])
        assert not storage.exists(key)
    assert storage.exists(key)
    assert out.sha256 == hashlib.sha256(payload).hexdigest() and out.size == len(payload)

    url = storage.presigned_url(key, 60, "exp_9_events.csv.gz", "application/gzip")
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    assert response.content == payload
    assert response.headers["Content-Type"] == "application/gzip"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="exp_9_events.csv.gz"')

    with pytest.raises(RuntimeError), storage.writer("exports/ws_1/exp_10/f.csv") as out:
        out.write(b"never uploaded")
        raise RuntimeError("canceled")
    assert not storage.exists("exports/ws_1/exp_10/f.csv")

    storage.delete(key)
    storage.delete(key)
    assert not storage.exists(key)
    assert requests.get(url, timeout=30).status_code in (403, 404)  # gone


def test_unreachable_s3_is_a_transient_error(aws_env: None) -> None:
    from tests.conftest import free_port

    storage = S3Storage("bucket", endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageUnavailable), storage.writer("exports/a/b/c.csv") as out:
        out.write(b"x")


def test_temporaries_of_a_killed_writer_are_removed_once_stale(tmp_path: Path) -> None:
    """A SIGKILLed writer never discards its ``.tmp-`` file; retention removes it once it
    is older than any live writer can be, and leaves a live writer's alone."""
    storage = LocalStorage(tmp_path)
    key = export_key("ws_a", "exp_dead", "exp_dead_events.csv")
    folder = storage.local_path(key).parent
    folder.mkdir(parents=True)
    dead, live = folder / ".tmp-dead", folder / ".tmp-live"
    dead.write_bytes(b"half a file")
    live.write_bytes(b"being written")
    hour_ago = dead.stat().st_mtime - 3600
    os.utime(dead, (hour_ago, hour_ago))
    assert storage.remove_stale_temporaries(timedelta(minutes=30)) == 1
    assert not dead.exists() and live.exists()
    live.unlink()
    assert storage.remove_stale_temporaries(timedelta(0)) == 0
