"""Advisory locks shared by writers and readers of a workspace's event stream."""

from __future__ import annotations

from sqlalchemy import Connection, text


def lock_ingest(conn: Connection, workspace_id: str) -> None:
    """Held by every writer of a workspace's events until it commits: while a reader holds
    it, no batch of the workspace is half written (refresh reads its watermark so)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('ingest:' || :ws))"),
                 {"ws": workspace_id})
