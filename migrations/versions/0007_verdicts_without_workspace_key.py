"""event_verdicts: no foreign key to workspaces; its rows go with their campaign

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 17:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "fk_event_verdicts_workspace_id_workspaces"


def upgrade() -> None:
    op.drop_constraint(KEY, "event_verdicts", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key(KEY, "event_verdicts", "workspaces", ["workspace_id"], ["id"],
                          ondelete="CASCADE")
