"""export schedules: recurring exports whose runs are ordinary export jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export_schedules",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("export", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("cadence", sa.String(length=8), nullable=False),
        sa.Column("time", sa.String(length=5), nullable=True),
        sa.Column("weekday", sa.String(length=9), nullable=True),
        sa.Column("cron", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_export_id", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("status IN ('active', 'paused')",
                           name=op.f("ck_export_schedules_status")),
        sa.CheckConstraint("cadence IN ('daily', 'weekly', 'cron')",
                           name=op.f("ck_export_schedules_cadence")),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"],
                                name=op.f("fk_export_schedules_workspace_id_workspaces"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["last_export_id"], ["jobs.id"],
                                name=op.f("fk_export_schedules_last_export_id_jobs"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_schedules")),
    )
    op.create_index("ix_export_schedules_workspace_created", "export_schedules",
                    ["workspace_id", "created_at", "id"])
    op.create_index("ix_export_schedules_due", "export_schedules", ["next_run_at"],
                    postgresql_where=sa.text("status = 'active'"))
    # A schedule's runs: export jobs whose params name it.
    op.create_index("ix_jobs_schedule_runs", "jobs",
                    [sa.text("((params -> 'schedule'::text) ->> 'id'::text)"), "created_at"],
                    postgresql_where=sa.text("params ? 'schedule'"))


def downgrade() -> None:
    op.drop_index("ix_jobs_schedule_runs", table_name="jobs")
    op.drop_index("ix_export_schedules_due", table_name="export_schedules")
    op.drop_index("ix_export_schedules_workspace_created", table_name="export_schedules")
    op.drop_table("export_schedules")
