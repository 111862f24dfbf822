"""event_verdicts narrowed to (event_id, reason_id): verdict and reason numbered in
verdict_reasons; a trigger on email_events deletes the verdicts of deleted events

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A first full refresh at 10M events writes 2.6M verdicts. Two texts, the workspace and
# the campaign per row, and an index on the campaign, doubled the cost of writing them:
# the event says its workspace and campaign, and deleting an event (a purge, or a
# workspace's deletion cascading to its events) takes its verdict with it, once per
# statement.
def _forgetting(function: str, column: str) -> str:
    """A statement trigger's function: deletes the verdicts whose ``column`` names a
    deleted row (``gone``)."""
    return f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM event_verdicts WHERE {column} IN (SELECT id FROM gone);
    RETURN NULL;
END
$$
"""


FORGET_VERDICTS = _forgetting("forget_event_verdicts", "event_id")
FORGET_CAMPAIGN_VERDICTS = _forgetting("forget_campaign_verdicts", "campaign_id")  # 0010's


def upgrade() -> None:
    op.execute("DROP TRIGGER forget_verdicts ON campaigns")
    op.execute("DROP FUNCTION forget_campaign_verdicts()")
    op.create_table(
        "verdict_reasons",
        sa.Column("id", sa.SmallInteger(), sa.Identity(), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verdict_reasons")),
        sa.UniqueConstraint("verdict", "reason", name=op.f("uq_verdict_reasons_verdict_reason")),
    )
    op.execute("INSERT INTO verdict_reasons (verdict, reason) "
               "SELECT DISTINCT verdict, reason FROM event_verdicts ORDER BY 1, 2")
    op.rename_table("event_verdicts", "event_verdicts_wide")
    op.create_table(
        "event_verdicts",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("reason_id", sa.SmallInteger(), nullable=False),
    )
    op.execute("INSERT INTO event_verdicts SELECT w.event_id, r.id FROM event_verdicts_wide w "
               "JOIN verdict_reasons r USING (verdict, reason)")
    op.drop_table("event_verdicts_wide")
    op.create_primary_key(op.f("pk_event_verdicts"), "event_verdicts", ["event_id"])
    op.execute(FORGET_VERDICTS)
    op.execute("CREATE TRIGGER forget_verdicts AFTER DELETE ON email_events "
               "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
               "EXECUTE FUNCTION forget_event_verdicts()")


def downgrade() -> None:
    op.execute("DROP TRIGGER forget_verdicts ON email_events")
    op.execute("DROP FUNCTION forget_event_verdicts()")
    op.rename_table("event_verdicts", "event_verdicts_narrow")
    op.execute("ALTER TABLE event_verdicts_narrow RENAME CONSTRAINT pk_event_verdicts "
               "TO pk_event_verdicts_narrow")
    op.create_table(
        "event_verdicts",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_verdicts")),
    )
    op.execute("INSERT INTO event_verdicts SELECT n.event_id, e.workspace_id, e.campaign_id, "
               "r.verdict, r.reason FROM event_verdicts_narrow n "
               "JOIN email_events e ON e.id = n.event_id "
               "JOIN verdict_reasons r ON r.id = n.reason_id")
    op.create_index(op.f("ix_event_verdicts_campaign_id"), "event_verdicts", ["campaign_id"])
    op.drop_table("event_verdicts_narrow")
    op.drop_table("verdict_reasons")
    op.execute(FORGET_CAMPAIGN_VERDICTS)
    op.execute("CREATE TRIGGER forget_verdicts AFTER DELETE ON campaigns "
               "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
               "EXECUTE FUNCTION forget_campaign_verdicts()")
