"""Where export files live: a local directory or an S3 bucket, behind one small interface.

A file becomes visible only when it is complete (local: temp file in the same directory,
fsync, ``os.replace``; S3: a local spool file uploaded with ``upload_fileobj``, whose
multipart upload publishes the object only when it completes), so a crash or a cancel never
leaves a partial file under a real key. Size and sha256 are computed from the bytes written,
which are exactly the bytes stored and served.

Keys are built only by ``export_key`` from ids and checked by ``validate_key`` before any
backend touches them: no ``..``, no absolute path, nothing outside ``[A-Za-z0-9._-]`` in a
segment — path traversal is impossible by construction and refused if attempted.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import quote, urlsplit

from ..settings import Settings

_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")
MAX_KEY_LENGTH = 512
TEMP_PREFIX = ".tmp-"
UPLOAD_CHUNK_BYTES = 16 * 1024 * 1024


class InvalidStorageKey(ValueError):
    """A key that could escape the storage root or is not one ``export_key`` builds."""


class StorageUnavailable(ConnectionError):
    """Storage was briefly away (network, throttling, disk full): retrying may succeed.

    A ``ConnectionError``, so ``jobs.errors.classify`` treats it as transient.
    """


class StorageRefused(Exception):
    """Storage refused the operation for good (missing bucket, no permission)."""


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise ``InvalidStorageKey``."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidStorageKey("storage key must be a non-empty string of at most "
                                f"{MAX_KEY_LENGTH} characters")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
            raise InvalidStorageKey(f"unsafe storage key {key!r}")
    return key


def export_key(workspace_id: str, export_id: str, file_name: str) -> str:
    """``exports/<workspace_id>/<export_id>/<file_name>``: deterministic per export, so a
    re-run after a crash overwrites (atomically) the same key."""
    return validate_key(f"exports/{workspace_id}/{export_id}/{file_name}")


class FileWriter(ABC):
    """Bytes streamed to one key; size and sha256 are those of the stored bytes.

    Use as a context manager: leaving the block normally commits the file (it appears
    atomically); leaving it with an exception discards everything written.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.size = 0
        self._hash = hashlib.sha256()
        self._committed = False

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self._hash.update(data)
        self.size += len(data)
        self._write(data)

    @abstractmethod
    def _write(self, data: bytes | bytearray | memoryview) -> None: ...

    @abstractmethod
    def commit(self) -> None:
        """Make the file visible under its key (overwriting any previous one)."""

    @abstractmethod
    def discard(self) -> None:
        """Remove every trace of what was written; safe to call more than once."""

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            try:
                self.commit()
                self._committed = True
            finally:
                if not self._committed:
                    self.discard()
        else:
            self.discard()


class Storage(ABC):
    """The operations exports need; backends differ only in where bytes go."""

    @abstractmethod
    def writer(self, key: str, *, content_type: str | None = None) -> FileWriter:
        """A writer for ``key``; nothing is visible until it commits."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the file; no error if it is already gone."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """The stored bytes, for reading (tests, CLI); raises FileNotFoundError."""

    def remove_stale_temporaries(self, older_than: timedelta) -> int:
        """Temporary files a killed writer left behind; none by default (an S3 writer spools
        to an unlinked local file, which the kernel reclaims with the process)."""
        return 0


class _LocalWriter(FileWriter):
    def __init__(self, key: str, target: Path) -> None:
        super().__init__(key)
        self._target = target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
        except OSError as exc:
            raise _local_error(exc) from exc
        self._temp = Path(name)
        self._file: IO[bytes] = os.fdopen(fd, "wb")

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            raise _local_error(exc) from exc

    def commit(self) -> None:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._temp, self._target)
            _fsync_dir(self._target.parent)
        except OSError as exc:
            raise _local_error(exc) from exc

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._temp.unlink()


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable (a crash right after must not lose the file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _local_error(exc: OSError) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
        return StorageUnavailable(f"local export storage: {exc.strerror}")
    return StorageRefused(f"local export storage: {exc.strerror}")


@dataclass(frozen=True)
class LocalStorage(Storage):
    """Files under ``root``; the API serves them itself (Range, ETag) via ``local_path``."""

    root: Path

    def local_path(self, key: str) -> Path:
        """The file's path; the key is validated, so the path is always inside ``root``."""
        path = self.root.joinpath(*validate_key(key).split("/"))
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise InvalidStorageKey(f"unsafe storage key {key!r}")
        return path

    def writer(self, key: str, *, content_type: str | None = None) -> FileWriter:
        return _LocalWriter(key, self.local_path(key))

    def delete(self, key: str) -> None:
        path = self.local_path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with contextlib.suppress(OSError):  # only empty directories go; never the root
            path.parent.rmdir()

    def exists(self, key: str) -> bool:
        return self.local_path(key).is_file()

    def open(self, key: str) -> BinaryIO:
        return self.local_path(key).open("rb")

    def remove_stale_temporaries(self, older_than: timedelta) -> int:
        """A SIGKILLed writer leaves its ``.tmp-`` file; no live writer is older than the
        hard time limit, so older ones are garbage (and block their directory's removal)."""
        cutoff = time.time() - older_than.total_seconds()
        removed = 0
        for path in self.root.rglob(f"{TEMP_PREFIX}*"):
            with contextlib.suppress(FileNotFoundError):
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
                    with contextlib.suppress(OSError):
                        path.parent.rmdir()
        return removed


class _S3Writer(FileWriter):
    def __init__(self, key: str, storage: S3Storage, content_type: str | None) -> None:
        super().__init__(key)
        self._storage, self._content_type = storage, content_type
        # Spooled on local disk: constant memory, and nothing reaches S3 before commit.
        self._spool: IO[bytes] = tempfile.TemporaryFile(prefix=TEMP_PREFIX)  # noqa: SIM115

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        try:
            self._spool.write(data)
        except OSError as exc:
            raise _local_error(exc) from exc

    def commit(self) -> None:
        from boto3.s3.transfer import TransferConfig

        self._spool.seek(0)
        extra = {"ContentType": self._content_type} if self._content_type else {}
        with _s3_errors():
            self._storage.client.upload_fileobj(
                self._spool, self._storage.bucket, self._storage.object_key(self.key),
                ExtraArgs=extra,
                Config=TransferConfig(multipart_chunksize=UPLOAD_CHUNK_BYTES,
                                      multipart_threshold=UPLOAD_CHUNK_BYTES),
            )
        self._spool.close()

    def discard(self) -> None:
        # A failed multipart upload is aborted by boto3's transfer manager itself.
        with contextlib.suppress(OSError):
            self._spool.close()


@contextlib.contextmanager
def _s3_errors() -> Iterator[None]:
    """Map botocore's errors to transient (retry) or permanent, at the domain's edge."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        code = str(error.get("Code", ""))
        if status >= 500 or status == 429 or code in ("SlowDown", "RequestTimeout",
                                                      "Throttling", "InternalError"):
            raise StorageUnavailable(f"S3 answered {code or status}") from exc
        raise StorageRefused(f"S3 refused the request: {code or status}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"S3 was unreachable: {type(exc).__name__}") from exc


class S3Storage(Storage):
    """Objects under ``s3://bucket/prefix``; downloads go straight to S3 (presigned)."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 client: Any = None) -> None:
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("s3", endpoint_url=endpoint_url, config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5, read_timeout=60, signature_version="s3v4"))
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")

    def object_key(self, key: str) -> str:
        key = validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def writer(self, key: str, *, content_type: str | None = None) -> FileWriter:
        validate_key(key)
        return _S3Writer(key, self, content_type)

    def delete(self, key: str) -> None:
        with _s3_errors():  # S3's DeleteObject is idempotent already
            self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            with _s3_errors():
                self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except StorageRefused as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and cause.response.get(
                    "ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise
        return True

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise
        body: BinaryIO = response["Body"]
        return body

    def presigned_url(self, key: str, ttl: int, filename: str, content_type: str) -> str:
        """A time-limited GET URL that downloads as an attachment named ``filename``."""
        disposition = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.object_key(key),
                    "ResponseContentDisposition": disposition,
                    "ResponseContentType": content_type},
            ExpiresIn=int(ttl),
        )
        return url


def storage_from_settings(settings: Settings) -> Storage:
    """``STORAGE_URL``: ``file:///path`` or ``s3://bucket/prefix``; default
    ``DATA_DIR/exports``."""
    url = settings.storage_url
    if not url:
        return LocalStorage(settings.data_dir / "exports")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ValueError(f"STORAGE_URL {url!r}: use file:///absolute/path")
        return LocalStorage(Path(parts.path))
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"STORAGE_URL {url!r}: use s3://bucket/prefix")
        return S3Storage(parts.netloc, parts.path, endpoint_url=settings.s3_endpoint_url)
    raise ValueError(f"STORAGE_URL {url!r}: the scheme must be file:// or s3://")
