"""API keys: generated once, shown once, stored as a SHA-256 digest.

A key carries 256 bits of randomness, so a plain (unsalted) SHA-256 is as strong as a slow
hash here and lets a request find its key with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, TextualSelect, bindparam, select, true, update
from sqlalchemy.orm import Session

from .ids import new_id
from .models import ApiKey
from .prepared import Prepared

KEY_PREFIX = "ca_"
_LAST_USED_RESOLUTION = timedelta(minutes=1)
_KEY_COLUMNS = tuple(ApiKey.__table__.c)


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


class KeyLookup:
    """Finds a key by its digest and, with ``alongside``, reads one more row in the same
    statement: the facts the request's answer is kept under (``analytics.facts``), so that
    a kept answer costs one round trip. ``alongside`` is read only for an active key of the
    workspace its ``workspace_id`` parameter names: anyone else's request costs the key
    lookup alone, as it did before. Build one per kind of request, once: compiling the
    statement costs more than running it."""

    def __init__(self, alongside: Select[Any] | TextualSelect | None = None) -> None:
        key = select(*_KEY_COLUMNS)
        if alongside is not None:
            row = alongside.subquery("alongside")
            found = (select(true().label("found"), row)  # "found": a row, all NULL or not
                     .where(ApiKey.workspace_id == bindparam("workspace_id"),
                            ApiKey.revoked_at.is_(None))
                     .limit(1)  # keeps the planner from flattening it past that condition
                     .lateral("found"))
            key = key.add_columns(*found.c).outerjoin_from(ApiKey, found, true())
        self._statement = Prepared(key.where(ApiKey.hash == bindparam("digest")))

    @property
    def sql(self) -> str:
        return self._statement.sql

    def find(self, engine: Engine, digest: str, params: Mapping[str, Any],
             ) -> tuple[ApiKey | None, tuple[Any, ...] | None]:
        row = self._statement.first(engine, {**params, "digest": digest})
        if row is None:
            return None, None
        width = len(_KEY_COLUMNS)
        key = ApiKey(**{column.key: value
                        for column, value in zip(_KEY_COLUMNS, row[:width], strict=True)})
        alongside = row[width + 1:] if len(row) > width and row[width] else None
        return key, alongside


KEY_ONLY = KeyLookup()


def authenticate(engine: Engine, plain: str, lookup: KeyLookup = KEY_ONLY,
                 params: Mapping[str, Any] | None = None,
                 ) -> tuple[ApiKey | None, tuple[Any, ...] | None]:
    """The active key matching ``plain`` (None if there is none), and the row ``lookup``
    reads alongside it with ``params``. Reads only, outside any transaction: the
    request's own session may be a read-only snapshot; ``record_use`` writes separately."""
    if not plain.startswith(KEY_PREFIX) or len(plain) > 200:
        return None, None
    digest = hash_key(plain)
    key, alongside = lookup.find(engine, digest, params or {})
    if key is None or not hmac.compare_digest(key.hash, digest) or not key.is_active:
        return None, None
    return key, alongside


def should_record_use(key: ApiKey, now: datetime) -> bool:
    """Use is recorded at most once a minute: a key's requests don't all write its row."""
    return key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION


def record_use(session: Session, key_id: str, now: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
