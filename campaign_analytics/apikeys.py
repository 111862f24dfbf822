"""API keys: generated once, shown once, stored as a SHA-256 digest.

A key carries 256 bits of randomness, so a plain (unsalted) SHA-256 is as strong as a slow
hash here and lets a request find its key with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .ids import new_id
from .models import ApiKey

KEY_PREFIX = "ca_"
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def create_key(session: Session, workspace_id: str, name: str | None = None) -> tuple[ApiKey, str]:
    """Create a key and return it with its plain text, which is never stored."""
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("key"),
        workspace_id=workspace_id,
        name=name,
        prefix=plain[:10],
        hash=hash_key(plain),
    )
    session.add(key)
    session.flush()
    return key, plain


def authenticate(session: Session, plain: str) -> ApiKey | None:
    """The active key matching ``plain``, or None. Records use at most once a minute."""
    if not plain.startswith(KEY_PREFIX) or len(plain) > 200:
        return None
    digest = hash_key(plain)
    key = session.scalar(select(ApiKey).where(ApiKey.hash == digest))
    if key is None or not hmac.compare_digest(key.hash, digest) or not key.is_active:
        return None
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        session.commit()
    return key
