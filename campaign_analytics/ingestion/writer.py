"""Writes one batch of parsed events, set-based, in the caller's transaction.

The batch is COPied into a temporary staging table; a handful of statements then insert
the events (``ON CONFLICT DO NOTHING`` decides accepted versus duplicate), the messages
their ``sent``/``failed`` events describe, the replies, the suppressions, the messages'
latest states and the leads' automatic moves. A transaction-scoped advisory lock makes a
workspace's batches take turns, so concurrent senders never race on the same message.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from ..ids import new_id
from ..leads import apply_moves, fact_move
from .parsing import MESSAGE_TYPES, ParsedEvent

STAGING_COLUMNS = (
    "idx", "row_id", "external_id", "type", "occurred_at", "campaign_id", "message_id",
    "lead_id", "account_id", "step", "variant", "subject", "recipient", "mailbox_provider",
    "bounce_type", "reason", "url", "user_agent", "ip", "reply_from", "body", "classification",
)

CREATE_STAGING = """
CREATE TEMP TABLE ingest_staging (
    idx int, row_id text, external_id text, type text, occurred_at timestamptz,
    campaign_id text, message_id text, lead_id text, account_id text, step smallint,
    variant text, subject text, recipient text, mailbox_provider text, bounce_type text,
    reason text, url text, user_agent text, ip text, reply_from text, body text,
    classification text
) ON COMMIT DROP
"""

INSERT_EVENTS = """
WITH inserted AS (
    INSERT INTO email_events (workspace_id, campaign_id, message_id, external_id, type,
                              occurred_at, bounce_type, reason, url, user_agent, ip)
    SELECT :ws, campaign_id, message_id, external_id, type, occurred_at, bounce_type, reason,
           url, user_agent, ip
    FROM ingest_staging ORDER BY idx
    ON CONFLICT (workspace_id, external_id) DO NOTHING
    RETURNING external_id
)
DELETE FROM ingest_staging s
WHERE NOT EXISTS (SELECT 1 FROM inserted i WHERE i.external_id = s.external_id)
"""

# A message is born from its first sent/failed event; a later ``sent`` (a retried send)
# fills in ``sent_at``. Only messages born in this batch are returned.
INSERT_MESSAGES = """
INSERT INTO messages (id, workspace_id, campaign_id, message_id, lead_id, account_id, step,
                      variant, subject, recipient, mailbox_provider, sent_at, state)
SELECT DISTINCT ON (message_id) row_id, :ws, campaign_id, message_id, lead_id, account_id,
       step, variant, subject, recipient, mailbox_provider,
       CASE WHEN type = 'sent' THEN occurred_at END, type
FROM ingest_staging WHERE type IN ('sent', 'failed')
ORDER BY message_id, (type = 'sent') DESC, occurred_at
ON CONFLICT (workspace_id, message_id) DO UPDATE SET sent_at = EXCLUDED.sent_at
    WHERE messages.sent_at IS NULL AND EXCLUDED.sent_at IS NOT NULL
RETURNING message_id, (xmax = 0) AS born
"""

INSERT_REPLIES = """
INSERT INTO replies (id, workspace_id, campaign_id, message_id, lead_id, event_external_id,
                     received_at, "from", subject, body, classification, classified_by)
SELECT s.row_id, :ws, s.campaign_id, s.message_id, m.lead_id, s.external_id, s.occurred_at,
       s.reply_from, s.subject, s.body, s.classification, 'auto'
FROM ingest_staging s
LEFT JOIN messages m ON m.workspace_id = :ws AND m.message_id = s.message_id
WHERE s.type = 'replied'
ON CONFLICT DO NOTHING
"""

# Replies that came before their message learn their lead once the message exists.
ADOPT_REPLIES = """
UPDATE replies r SET lead_id = m.lead_id
FROM messages m
WHERE r.workspace_id = :ws AND r.lead_id IS NULL AND r.message_id = ANY(:early)
  AND m.workspace_id = :ws AND m.message_id = r.message_id
"""

# A "not interested" reply suppresses the address: the reply's sender, else the recipient.
# This batch's declines come from staging; earlier ones only for messages born with history.
SUPPRESS = """
WITH declines AS (
    SELECT reply_from AS "from", message_id FROM ingest_staging
    WHERE classification = 'not_interested'
    UNION
    SELECT r."from", r.message_id FROM replies r
    WHERE r.workspace_id = :ws AND r.message_id = ANY(:early)
      AND r.classification = 'not_interested'
)
INSERT INTO suppressions (workspace_id, email, reason)
SELECT DISTINCT :ws, lower(coalesce(d."from", m.recipient)), 'not_interested'
FROM declines d
LEFT JOIN messages m ON m.workspace_id = :ws AND m.message_id = d.message_id
WHERE coalesce(d."from", m.recipient) IS NOT NULL
ON CONFLICT DO NOTHING
"""

# One index lookup per touched message: the cost follows the batch whatever the planner
# believes about the table's size.
UPDATE_STATES = """
UPDATE messages m SET state = latest.type
FROM (
    SELECT t.message_id, (
        SELECT e.type FROM email_events e
        WHERE e.workspace_id = :ws AND e.message_id = t.message_id
          AND e.type IN ('sent', 'failed', 'delivered', 'bounced')
        ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1
    ) AS type
    FROM unnest(CAST(:touched AS text[])) AS t(message_id)
) latest
WHERE m.workspace_id = :ws AND m.message_id = latest.message_id AND m.state <> latest.type
"""

# The facts that take effect now: this batch's events whose message exists (from staging),
# and the earlier events of messages born with history; oldest first, as they happened.
LEAD_FACTS = """
SELECT lead_id, type, bounce_type, classification FROM (
    SELECT m.lead_id, s.type, s.bounce_type, s.classification, s.occurred_at,
           1 AS in_batch, s.idx::bigint AS seq
    FROM ingest_staging s
    JOIN messages m ON m.workspace_id = :ws AND m.message_id = s.message_id
    WHERE m.lead_id IS NOT NULL AND s.type IN ('sent', 'bounced', 'replied')
    UNION ALL
    SELECT m.lead_id, e.type, e.bounce_type, r.classification, e.occurred_at, 0, e.id
    FROM email_events e
    JOIN messages m ON m.workspace_id = :ws AND m.message_id = e.message_id
    LEFT JOIN replies r ON r.workspace_id = :ws AND r.event_external_id = e.external_id
    WHERE e.workspace_id = :ws AND e.message_id = ANY(:early) AND m.lead_id IS NOT NULL
      AND e.type IN ('sent', 'bounced', 'replied')
      AND NOT EXISTS (SELECT 1 FROM ingest_staging s WHERE s.external_id = e.external_id)
) facts
ORDER BY occurred_at, in_batch, seq
"""


def lock_workspace(conn: Connection, workspace_id: str) -> None:
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('ingest:' || :ws))"),
                 {"ws": workspace_id})


def _stage(conn: Connection, events: Sequence[ParsedEvent]) -> None:
    conn.execute(text(CREATE_STAGING))
    raw = conn.connection.driver_connection
    assert raw is not None
    columns = ", ".join(STAGING_COLUMNS)
    with raw.cursor() as cursor, cursor.copy(f"COPY ingest_staging ({columns}) FROM STDIN") as copy:
        for event in events:
            row_id = (new_id("msg") if event.type in MESSAGE_TYPES
                      else new_id("rpl") if event.classification else None)
            copy.write_row((
                event.index, row_id, event.external_id, event.type, event.occurred_at,
                event.campaign_id, event.message_id, event.lead_id, event.account_id,
                event.step, event.variant, event.subject, event.recipient,
                event.mailbox_provider, event.bounce_type, event.reason, event.url,
                event.user_agent, event.ip, event.reply_from, event.body, event.classification,
            ))
    # A temp table has no statistics until analysed; without them every join below is
    # planned for a guessed size and the batch's cost grows with the workspace's tables.
    conn.execute(text("ANALYZE ingest_staging"))


def write_batch(
    conn: Connection, workspace_id: str, events: Sequence[ParsedEvent], early: set[str]
) -> int:
    """Store a batch of distinct, validated events; returns how many were new."""
    ws = {"ws": workspace_id}
    _stage(conn, events)
    conn.execute(text(INSERT_EVENTS), ws)
    accepted = conn.execute(text("SELECT count(*) FROM ingest_staging")).scalar_one()
    if not accepted:
        return 0
    born = [row.message_id for row in conn.execute(text(INSERT_MESSAGES), ws) if row.born]
    history = [message_id for message_id in born if message_id in early]
    conn.execute(text(INSERT_REPLIES), ws)
    conn.execute(text(ADOPT_REPLIES), {**ws, "early": history})
    conn.execute(text(SUPPRESS), {**ws, "early": history})
    touched = list(conn.execute(text(
        "SELECT DISTINCT message_id FROM ingest_staging "
        "WHERE type IN ('sent', 'failed', 'delivered', 'bounced')")).scalars())
    if touched:
        conn.execute(text(UPDATE_STATES), {**ws, "touched": touched})
    facts = conn.execute(text(LEAD_FACTS), {**ws, "early": history})
    apply_moves(conn, ((row.lead_id, fact_move(row.type, row.bounce_type, row.classification))
                       for row in facts))
    return int(accepted)

