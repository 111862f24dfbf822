"""rollup tables: no foreign keys (a trigger on campaigns deletes a deleted campaign's rows);
rollup_lead_messages without its workspace index

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 05:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A first full refresh at 10M events writes 2.4M rollup rows, and each of the two keys of a
# row is a lookup (and a FOR KEY SHARE lock) per row: about 21 s of the refresh. Deleting a
# campaign, directly or with its workspace, is rare and takes its rows with it here,
# once per statement; a purge deletes them in batches before the campaign row.
TABLES = ("rollup_campaign_buckets", "rollup_delivery_buckets", "rollup_bounce_reasons",
          "rollup_lead_messages")
FORGET_ROLLUPS = f"""
CREATE FUNCTION forget_campaign_rollups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{"".join(f"    DELETE FROM {table} WHERE campaign_id IN (SELECT id FROM gone);{chr(10)}"
         for table in TABLES)}    RETURN NULL;
END
$$
"""


# An entry per per-lead row (1.6M at 10M events) for a lookup only refreshes make, which
# find a workspace's rows through its campaigns (the key's first column) instead.
LEAD_INDEX = "ix_rollup_lead_messages_workspace_id"


def _key(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def upgrade() -> None:
    for table in TABLES:
        op.drop_constraint(_key(table, "campaign_id", "campaigns"), table, type_="foreignkey")
        op.drop_constraint(_key(table, "workspace_id", "workspaces"), table, type_="foreignkey")
    op.drop_index(LEAD_INDEX, table_name="rollup_lead_messages")
    op.execute(FORGET_ROLLUPS)
    op.execute("CREATE TRIGGER forget_rollups AFTER DELETE ON campaigns "
               "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
               "EXECUTE FUNCTION forget_campaign_rollups()")


def downgrade() -> None:
    op.execute("DROP TRIGGER forget_rollups ON campaigns")
    op.execute("DROP FUNCTION forget_campaign_rollups()")
    op.create_index(LEAD_INDEX, "rollup_lead_messages", ["workspace_id"])
    for table in TABLES:
        op.execute(f"DELETE FROM {table} t WHERE NOT EXISTS "
                   "(SELECT 1 FROM campaigns c WHERE c.id = t.campaign_id)")
        op.create_foreign_key(_key(table, "campaign_id", "campaigns"), table, "campaigns",
                              ["campaign_id"], ["id"], ondelete="CASCADE")
        op.create_foreign_key(_key(table, "workspace_id", "workspaces"), table, "workspaces",
                              ["workspace_id"], ["id"], ondelete="CASCADE")
