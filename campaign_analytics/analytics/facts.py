"""The facts a kept answer is keyed by, and the one statement that reads them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, TextualSelect
from sqlalchemy.orm import Session

Facts = TypeVar("Facts")


@dataclass(frozen=True)
class FactsQuery(Generic[Facts]):
    """``statement`` reads one row, the arguments of ``facts`` in order; its bind names are
    the path parameters of the routes that use it (``workspace_id``, ``campaign_id``).
    It runs in a request's snapshot, or beside the caller's key (``apikeys.KeyLookup``) so
    that a kept answer costs one round trip; ``missing`` is the error when no row comes."""

    statement: Select[Any] | TextualSelect
    facts: Callable[..., Facts]
    missing: Callable[[Mapping[str, Any]], Exception]

    def from_row(self, row: tuple[Any, ...]) -> Facts:
        return self.facts(*row)

    def read(self, session: Session, params: Mapping[str, Any]) -> Facts:
        row = session.connection().execute(self.statement, dict(params)).one_or_none()
        if row is None:
            raise self.missing(params)
        return self.from_row(tuple(row))
