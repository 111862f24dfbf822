"""The refresh lock is a session lock held across transactions: it must be released even
when a statement failed outside a transaction block and left the connection aborted."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from campaign_analytics.db import Database
from campaign_analytics.locks import refreshing

TRY = "SELECT pg_try_advisory_xact_lock(hashtext('refresh:' || :ws))"


def test_a_failed_statement_does_not_keep_the_lock(db: Database) -> None:
    with db.engine.connect() as conn:
        with pytest.raises(DBAPIError), refreshing(conn, "wsp_lock_test"):
            conn.execute(text("SELECT 1 / 0"))
        with db.engine.begin() as other:  # another session: ``conn`` is still checked out
            assert other.execute(text(TRY), {"ws": "wsp_lock_test"}).scalar_one() is True
