"""Every rollup row of a workspace, read back by its natural key: what tests compare to
decide that two refreshes left the same numbers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from campaign_analytics.models.rollup import COUNTERS, LEAD_COUNTS

NONZERO = " OR ".join(f"{name} <> 0" for name in COUNTERS)
# Every rollup row of a workspace, by its natural key; rows whose counters are all zero
# (a bucket an incremental refresh emptied) say nothing and are left out.
ROLLUP_ROWS = {
    "campaign": f"SELECT campaign_id, bucket, {', '.join(COUNTERS)} "
                f"FROM rollup_campaign_buckets WHERE workspace_id = :ws AND ({NONZERO})",
    "delivery": f"SELECT campaign_id, account_id, provider, bucket, {', '.join(COUNTERS)} "
                f"FROM rollup_delivery_buckets WHERE workspace_id = :ws AND ({NONZERO})",
    "reasons": "SELECT campaign_id, account_id, bucket, bounce_type, reason, bounces "
               "FROM rollup_bounce_reasons WHERE workspace_id = :ws AND bounces <> 0",
    "leads": f"SELECT campaign_id, {', '.join(LEAD_COUNTS)} FROM rollup_campaign_leads "
             f"WHERE workspace_id = :ws AND ({' OR '.join(f'{n} <> 0' for n in LEAD_COUNTS)})",
}


def rollups(db: Database, workspace_id: str) -> dict[str, list[tuple[Any, ...]]]:
    with db.engine.connect() as conn:
        return {name: sorted(tuple(row) for row in conn.execute(text(sql), {"ws": workspace_id}))
                for name, sql in ROLLUP_ROWS.items()}


def full_rebuild(db: Database, workspace_id: str) -> dict[str, list[tuple[Any, ...]]]:
    refresh(db, workspace_id, RefreshMode.FULL)
    return rollups(db, workspace_id)
