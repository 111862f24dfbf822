"""Every job kind, in one table. Adding a kind means adding one line here."""

from __future__ import annotations

from ..analytics.refresh import refresh_job
from ..diagnostics import run_diagnostic
from ..exports.job import run_export
from ..purge import purge_campaign
from .kinds import JobKind, Queue

KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind("diagnostic", Queue.MAINTENANCE, run_diagnostic),
        JobKind("campaign_purge", Queue.MAINTENANCE, purge_campaign),
        JobKind("refresh", Queue.ANALYTICS, refresh_job),
        JobKind("export", Queue.EXPORTS, run_export, id_prefix="exp"),
    )
}


def get_kind(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise LookupError(f"unknown job kind {name!r}") from None
