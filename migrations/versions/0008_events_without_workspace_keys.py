"""email_events, messages: no foreign key to workspaces; their rows go with their campaign

Each insert into a table with a key to workspaces takes a FOR KEY SHARE lock on the
workspace row and probes its primary key; on the ingestion path that is paid once per
event and per message, inside the workspace lock. Every event and message also carries
a campaign_id whose key cascades (the campaign's own key to workspaces cascades too), so
deleting a workspace or purging a campaign still removes them
(tests/ingestion/test_workspace_keys.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 20:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = {
    "email_events": "fk_email_events_workspace_id_workspaces",
    "messages": "fk_messages_workspace_id_workspaces",
}


def upgrade() -> None:
    for table, key in KEYS.items():
        op.drop_constraint(key, table, type_="foreignkey")


def downgrade() -> None:
    for table, key in KEYS.items():
        op.create_foreign_key(key, table, "workspaces", ["workspace_id"], ["id"],
                              ondelete="CASCADE")
