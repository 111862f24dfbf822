"""engagement: the HTTP method of opens and clicks, human and machine counters in the
rollups, verdicts per event

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = (
    "human_opened", "human_clicked", "inferred_opens", "human_total_opens",
    "human_total_clicks", "slot_human_opened", "slot_human_clicked", "machine_opened",
    "bot_clicked",
)
TABLES = ("rollup_campaign_buckets", "rollup_delivery_buckets")


def upgrade() -> None:
    op.add_column("email_events", sa.Column("http_method", sa.String(length=10), nullable=True))
    for table in TABLES:
        for name in COUNTERS:
            op.add_column(table, sa.Column(name, sa.Integer(), server_default="0",
                                           nullable=False))
    op.add_column("refresh_state", sa.Column("engagement_rules", sa.String(length=40),
                                             nullable=True))
    op.create_table(
        "event_verdicts",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name=op.f("fk_event_verdicts_campaign_id_campaigns"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"],
                                name=op.f("fk_event_verdicts_workspace_id_workspaces"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_verdicts")),
    )
    op.create_index(op.f("ix_event_verdicts_campaign_id"), "event_verdicts", ["campaign_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_event_verdicts_campaign_id"), table_name="event_verdicts")
    op.drop_table("event_verdicts")
    op.drop_column("refresh_state", "engagement_rules")
    for table in TABLES:
        for name in reversed(COUNTERS):
            op.drop_column(table, name)
    op.drop_column("email_events", "http_method")
