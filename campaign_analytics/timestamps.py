"""How an instant is written wherever it leaves the service (API, webhooks, CLI, keys)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC, ending in ``Z`` (SPEC §11.25)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
