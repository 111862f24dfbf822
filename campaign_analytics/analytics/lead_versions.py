"""Versions of a campaign's live lead numbers (statuses, qualification, replied leads).

Every transaction that changes a campaign's leads or replies leaves one row in
``lead_changes`` (statement triggers, migration 0009). Writers only insert rows keyed by
their own transaction, so they never wait on one another, and the sum of the weights a
snapshot sees grows with every change that snapshot can see: equal sums mean equal lead
numbers, so numbers cached under a sum are exact for any later snapshot with that sum.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, text

from ..models import LeadChange

# Each campaign's rows folded into one carrying their total weight, in one statement, so
# every snapshot sees the same sum before and after. Rows of transactions still running
# are not visible here and stay as they are; a second fold running at once finds the rows
# already gone and adds nothing. The folded row's key is the negated transaction id, which
# no trigger's row can share: a transaction that folds and then changes leads still
# leaves its mark.
_FOLD = text("""
WITH gone AS (
    DELETE FROM lead_changes
    WHERE campaign_id IN (
        SELECT campaign_id FROM lead_changes GROUP BY campaign_id HAVING count(*) > 1)
    RETURNING campaign_id, weight)
INSERT INTO lead_changes (campaign_id, xid, weight)
SELECT campaign_id, -(pg_current_xact_id()::text::bigint), sum(weight) FROM gone
GROUP BY campaign_id
""")


def lead_version(campaign_id: Any) -> Any:
    """The version of ``campaign_id``'s lead numbers in the reader's snapshot, as a scalar
    subquery (0 for a campaign whose leads never changed)."""
    return (select(func.coalesce(func.sum(LeadChange.weight), 0))
            .where(LeadChange.campaign_id == campaign_id).scalar_subquery())


def fold(conn: Connection) -> None:
    """Keep the versions cheap to read, in every workspace: beat's incremental refresh tick
    calls it, since leads change without new events. Run it in a READ COMMITTED
    transaction (a fold running at once must not make it fail)."""
    conn.execute(_FOLD)
