"""API keys: generated once, shown once, stored as a SHA-256 digest.

A key carries 256 bits of randomness, so a plain (unsalted) SHA-256 is as strong as a slow
hash here and lets a request find its key with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from .ids import new_id
from .models import ApiKey

KEY_PREFIX = "ca_"
_LAST_USED_RESOLUTION = timedelta(minutes=1)
# Every request runs it: built once, as building it costs more than running it.
_BY_HASH = select(ApiKey.__table__).where(ApiKey.hash == bindparam("digest"))


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
    """The active key matching ``plain``, or None. Reads only: a read-only request may run
    in one snapshot; ``record_use`` writes separately."""
    if not plain.startswith(KEY_PREFIX) or len(plain) > 200:
        return None
    digest = hash_key(plain)
    row = session.connection().execute(_BY_HASH, {"digest": digest}).one_or_none()
    key = None if row is None else ApiKey(**row._mapping)  # not in the session: only read
    if key is None or not hmac.compare_digest(key.hash, digest) or not key.is_active:
        return None
    return key


def should_record_use(key: ApiKey, now: datetime) -> bool:
    """Use is recorded at most once a minute: a key's requests don't all write its row."""
    return key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION


def record_use(session: Session, key_id: str, now: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
