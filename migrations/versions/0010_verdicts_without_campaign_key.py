"""event_verdicts: no foreign key to campaigns; a trigger deletes a deleted campaign's rows

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 02:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "fk_event_verdicts_campaign_id_campaigns"
# The key checked every verdict a refresh wrote (a lookup in campaigns per row: a sixth of
# a first full refresh's verdict writes). Deleting a campaign, directly or through its
# workspace, is rare and takes its verdicts with it here instead, once per statement.
FORGET_VERDICTS = """
CREATE FUNCTION forget_campaign_verdicts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM event_verdicts WHERE campaign_id IN (SELECT id FROM gone);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.drop_constraint(KEY, "event_verdicts", type_="foreignkey")
    op.execute(FORGET_VERDICTS)
    op.execute("CREATE TRIGGER forget_verdicts AFTER DELETE ON campaigns "
               "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
               "EXECUTE FUNCTION forget_campaign_verdicts()")


def downgrade() -> None:
    op.execute("DROP TRIGGER forget_verdicts ON campaigns")
    op.execute("DROP FUNCTION forget_campaign_verdicts()")
    op.execute("DELETE FROM event_verdicts v WHERE NOT EXISTS "
               "(SELECT 1 FROM campaigns c WHERE c.id = v.campaign_id)")
    op.create_foreign_key(KEY, "event_verdicts", "campaigns", ["campaign_id"], ["id"],
                          ondelete="CASCADE")
