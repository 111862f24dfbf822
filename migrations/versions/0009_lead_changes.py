"""lead_changes: every transaction that changes a campaign's leads or replies leaves a mark

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row per (campaign, writing transaction), inserted by statement triggers: writers never
# wait on each other (unlike a counter row), and a reader's sum of the weights in its snapshot
# grows with every change it can see, so it versions the campaign's live lead numbers.
# A campaign being purged is gone from ``campaigns`` by the time its leads' cascade fires:
# it has no numbers left to version. Fold rows carry negative keys (see lead_versions).
NOTE_CHANGES = """
CREATE FUNCTION note_lead_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched varchar[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT campaign_id FROM new_rows);
    ELSIF TG_OP = 'UPDATE' THEN
        touched := ARRAY(SELECT campaign_id FROM new_rows
                         UNION SELECT campaign_id FROM old_rows);
    ELSE
        touched := ARRAY(SELECT DISTINCT campaign_id FROM old_rows);
    END IF;
    INSERT INTO lead_changes (campaign_id, xid)
    SELECT c.id, pg_current_xact_id()::text::bigint FROM campaigns c WHERE c.id = ANY(touched)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$
"""
# TRUNCATE has no transition tables: every campaign is marked.
NOTE_TRUNCATE = """
CREATE FUNCTION note_lead_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_changes (campaign_id, xid)
    SELECT id, pg_current_xact_id()::text::bigint FROM campaigns
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$
"""
TABLES = ("leads", "replies")
EVENTS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "lead_changes",
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("weight", sa.BigInteger(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_lead_changes_campaign_id_campaigns"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "xid", name=op.f("pk_lead_changes")),
    )
    op.execute(NOTE_CHANGES)
    op.execute(NOTE_TRUNCATE)
    for table in TABLES:
        for event, clause in EVENTS.items():
            op.execute(f"CREATE TRIGGER note_{table}_{event} AFTER {event.upper()} ON {table} "
                       f"{clause} FOR EACH STATEMENT EXECUTE FUNCTION note_lead_changes()")
        op.execute(f"CREATE TRIGGER note_{table}_truncate AFTER TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION note_lead_truncate()")


def downgrade() -> None:
    for table in TABLES:
        for event in (*EVENTS, "truncate"):
            op.execute(f"DROP TRIGGER note_{table}_{event} ON {table}")
    op.execute("DROP FUNCTION note_lead_truncate()")
    op.execute("DROP FUNCTION note_lead_changes()")
    op.drop_table("lead_changes")
