"""Signed download links for completed exports on local storage (SPEC §8).

A token is an itsdangerous ``URLSafeTimedSerializer`` signature, with a salt of its own (a
token made for anything else with the same SECRET_KEY never verifies here), over
``{"e": export id, "w": workspace id, "k": file key}``. It needs no API key: whoever holds
it may fetch that one file until it expires, ``DOWNLOAD_URL_TTL_SECONDS`` after issue. A new
one is issued on every status read, so a link is never older than the read that showed it.

Rotation: tokens are signed with SECRET_KEY and verified with it or any key listed in
DOWNLOAD_OLD_SECRET_KEYS, so links issued before a rotation keep working for their TTL.

* tampered, truncated, signed with an unknown key → ``DOWNLOAD_INVALID`` (403);
* genuine but older than the TTL → ``DOWNLOAD_EXPIRED`` (410);
* genuine and fresh, but the file is gone (the export was deleted, expired by retention,
  its campaign deleted, or its workspace deleted) → ``DOWNLOAD_EXPIRED`` (410) too: the
  link was real and the file it named no longer exists ("Gone"). It never says 404, which
  would suggest the link was mistyped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DownloadExpired, DownloadInvalid
from ..models import Job
from ..models.vocabulary import JobStatus
from ..settings import Settings

SALT = "campaign-analytics.export-download.v1"


@dataclass(frozen=True)
class Claims:
    export_id: str
    workspace_id: str
    file_key: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def _keys(settings: Settings) -> list[str]:
    """Oldest first: itsdangerous signs with the last key and verifies with every one."""
    old = [key.strip() for key in settings.download_old_secret_keys.split(",") if key.strip()]
    return [*old, settings.secret_key]


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_keys(settings), salt=SALT)


def issue(settings: Settings, job: Job, now: datetime | None = None) -> IssuedToken:
    """A token for a completed export's file, and when it stops working."""
    if job.status != JobStatus.COMPLETED or not job.file_key or not job.workspace_id:
        raise ValueError(f"export {job.id} has no file to download")
    payload: dict[str, Any] = {"e": job.id, "w": job.workspace_id, "k": job.file_key}
    token = _serializer(settings).dumps(payload)
    issued = now or datetime.now(UTC)
    return IssuedToken(str(token), issued + timedelta(seconds=settings.download_url_ttl_seconds))


def verify(settings: Settings, token: str) -> Claims:
    """The claims of a genuine, unexpired token."""
    try:
        payload = _serializer(settings).loads(token, max_age=settings.download_url_ttl_seconds)
    except SignatureExpired:
        raise DownloadExpired(
            "This download link has expired; read the export's status for a new one") from None
    except BadSignature:
        raise DownloadInvalid("This download link is not valid") from None
    try:
        return Claims(str(payload["e"]), str(payload["w"]), str(payload["k"]))
    except (KeyError, TypeError):
        raise DownloadInvalid("This download link is not valid") from None


def downloadable(session: Session, settings: Settings, token: str) -> Job:
    """The completed export a token names, still holding the file the token was made for."""
    claims = verify(settings, token)
    job = session.scalar(select(Job).where(
        Job.id == claims.export_id, Job.workspace_id == claims.workspace_id))
    if job is None or job.status != JobStatus.COMPLETED or job.file_key != claims.file_key:
        raise DownloadExpired("This export's file was deleted or has expired")
    return job
