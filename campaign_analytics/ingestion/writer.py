"""Writes one batch of parsed events, set-based, in the caller's transaction.

The batch is COPied into a temporary staging table before the workspace's ingest lock is
taken; under the lock a handful of statements then insert the events (``ON CONFLICT DO
NOTHING`` decides accepted versus duplicate), the messages their ``sent``/``failed`` events
describe (with their latest state, read from the batch), the replies, the suppressions,
the states of messages that existed before and the leads' automatic moves. The
transaction-scoped advisory lock makes a workspace's writes take turns, so concurrent
senders never race on the same message.

Every statement that reaches into a big table does it by one index probe per staged row
or per id (scalar subqueries over ``unnest`` or staging), and runs with custom plans: the
cost follows the batch, not the workspace's size or the table statistics.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, text

from ..ids import new_id
from ..leads import apply_moves, fact_move
from ..pgarrays import text_array
from .parsing import MESSAGE_TYPES, ParsedEvent

STAGING_COLUMNS = (
    "idx", "row_id", "external_id", "type", "occurred_at", "campaign_id", "message_id",
    "lead_id", "account_id", "step", "variant", "subject", "recipient", "mailbox_provider",
    "bounce_type", "reason", "url", "user_agent", "ip", "reply_from", "body", "classification",
    "http_method",
)
# Their types, for a binary COPY (the cheapest to encode and to read).
STAGING_TYPES = tuple(
    {"idx": "int4", "occurred_at": "timestamptz", "step": "int2"}.get(name, "text")
    for name in STAGING_COLUMNS
)
# The types that set a message's state (MessageState), newest wins.
STATE_TYPES = frozenset({"sent", "failed", "delivered", "bounced"})

# Room for the batch's sorts and hashes, for the rest of the transaction; and no JIT: the
# statements are index probes per row, which compiling never pays back, while batches of
# 10-20k rows cross jit_above_cost and spent 6-14 ms compiling each of three statements.
SESSION_SETTINGS = "SELECT set_config('work_mem', '32MB', true), set_config('jit', 'off', true)"

CREATE_STAGING = """
CREATE TEMP TABLE ingest_staging (
    idx int, row_id text, external_id text, type text, occurred_at timestamptz,
    campaign_id text, message_id text, lead_id text, account_id text, step smallint,
    variant text, subject text, recipient text, mailbox_provider text, bounce_type text,
    reason text, url text, user_agent text, ip text, reply_from text, body text,
    classification text, http_method text
) ON COMMIT DROP
"""
# A temp table has no statistics until analysed; the staging-only joins and sorts below
# are planned for its real size. The columns they group and join on are enough.
ANALYZE_STAGING = "ANALYZE ingest_staging (idx, external_id, message_id, type)"

DROP_STAGED = "DELETE FROM ingest_staging WHERE idx = ANY(CAST(:idx AS int[]))"

INSERT_EVENTS = """
WITH inserted AS (
    INSERT INTO email_events (workspace_id, campaign_id, message_id, external_id, type,
                              occurred_at, bounce_type, reason, url, user_agent, ip,
                              http_method)
    SELECT :ws, campaign_id, message_id, external_id, type, occurred_at, bounce_type, reason,
           url, user_agent, ip, http_method
    FROM ingest_staging ORDER BY idx
    ON CONFLICT (workspace_id, external_id) DO NOTHING
    RETURNING external_id
)
DELETE FROM ingest_staging s
WHERE NOT EXISTS (SELECT 1 FROM inserted i WHERE i.external_id = s.external_id)
"""

# A message is born from its first sent/failed event; a later ``sent`` (a retried send)
# fills in ``sent_at``. A message born here takes its latest state from the batch (newest
# state event, ties to the later one, as email_events' ids order them); messages that
# existed before, or had events stored before their birth, get theirs from UPDATE_STATES.
INSERT_MESSAGES = """
INSERT INTO messages (id, workspace_id, campaign_id, message_id, lead_id, account_id, step,
                      variant, subject, recipient, mailbox_provider, sent_at, state)
SELECT DISTINCT ON (message_id) row_id, :ws, campaign_id, message_id, lead_id, account_id,
       step, variant, subject, recipient, mailbox_provider,
       CASE WHEN type = 'sent' THEN occurred_at END, latest
FROM (
    SELECT s.*, first_value(s.type) OVER (
               PARTITION BY s.message_id ORDER BY s.occurred_at DESC, s.idx DESC) AS latest
    FROM ingest_staging s WHERE s.type IN ('sent', 'failed', 'delivered', 'bounced')
) s
WHERE type IN ('sent', 'failed')
ORDER BY message_id, (type = 'sent') DESC, occurred_at
ON CONFLICT (workspace_id, message_id) DO UPDATE SET sent_at = EXCLUDED.sent_at
    WHERE messages.sent_at IS NULL AND EXCLUDED.sent_at IS NOT NULL
"""
# The same, when some unborn messages have history: which of those were born.
INSERT_MESSAGES_BORN = f"""
WITH written AS ({INSERT_MESSAGES} RETURNING message_id, (xmax = 0) AS born)
SELECT message_id FROM written
WHERE born AND message_id IN (SELECT unnest(CAST(:early AS text[])))
"""

INSERT_REPLIES = """
INSERT INTO replies (id, workspace_id, campaign_id, message_id, lead_id, event_external_id,
                     received_at, "from", subject, body, classification, classified_by)
SELECT s.row_id, CAST(:ws AS text), s.campaign_id, s.message_id,
       (SELECT m.lead_id FROM messages m
        WHERE m.workspace_id = :ws AND m.message_id = s.message_id),
       s.external_id, s.occurred_at, s.reply_from, s.subject, s.body, s.classification, 'auto'
FROM ingest_staging s
WHERE s.type = 'replied'
ON CONFLICT DO NOTHING
"""

# Replies that came before their message learn their lead once the message exists.
ADOPT_REPLIES = """
UPDATE replies r SET lead_id = m.lead_id
FROM unnest(CAST(:early AS text[])) AS h(message_id), messages m
WHERE r.workspace_id = :ws AND r.message_id = h.message_id AND r.lead_id IS NULL
  AND m.workspace_id = :ws AND m.message_id = h.message_id
"""

# A "not interested" reply suppresses the address: the reply's sender, else the recipient.
# This batch's declines come from staging; earlier ones only for messages born with history.
BATCH_DECLINES = """
SELECT reply_from AS "from", message_id FROM ingest_staging
WHERE classification = 'not_interested'
"""
EARLY_DECLINES = """
UNION
SELECT r."from", r.message_id FROM unnest(CAST(:early AS text[])) AS h(message_id)
JOIN replies r ON r.workspace_id = :ws AND r.message_id = h.message_id
WHERE r.classification = 'not_interested'
"""
SUPPRESS = """
WITH declines AS ({declines})
INSERT INTO suppressions (workspace_id, email, reason)
SELECT DISTINCT CAST(:ws AS text), lower(address), 'not_interested'
FROM (
    SELECT coalesce(d."from", (SELECT m.recipient FROM messages m
                               WHERE m.workspace_id = :ws AND m.message_id = d.message_id))
           AS address
    FROM declines d
) a
WHERE address IS NOT NULL
ON CONFLICT DO NOTHING
"""

# Messages that existed before the batch, or were born with history, and got a state event
# in it: one index lookup per such message.
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
    WHERE t.message_id IN (SELECT s.message_id FROM ingest_staging s
                           WHERE s.type IN ('sent', 'failed', 'delivered', 'bounced'))
) latest
WHERE m.workspace_id = :ws AND m.message_id = latest.message_id AND m.state <> latest.type
"""

# The facts that take effect now: this batch's events whose message exists (from staging),
# and the earlier events of messages born with history; oldest first, as they happened.
BATCH_FACTS = """
SELECT (SELECT m.lead_id FROM messages m
        WHERE m.workspace_id = :ws AND m.message_id = s.message_id) AS lead_id,
       s.type, s.bounce_type, s.classification, s.occurred_at, 1 AS in_batch,
       s.idx::bigint AS seq
FROM ingest_staging s
WHERE s.type IN ('sent', 'bounced', 'replied')
"""
EARLY_FACTS = """
UNION ALL
SELECT m.lead_id, e.type, e.bounce_type, r.classification, e.occurred_at, 0, e.id
FROM unnest(CAST(:early AS text[])) AS h(message_id)
JOIN messages m ON m.workspace_id = :ws AND m.message_id = h.message_id
JOIN email_events e ON e.workspace_id = :ws AND e.message_id = h.message_id
LEFT JOIN replies r ON r.workspace_id = :ws AND r.event_external_id = e.external_id
WHERE m.lead_id IS NOT NULL AND e.type IN ('sent', 'bounced', 'replied')
  AND NOT EXISTS (SELECT 1 FROM ingest_staging s WHERE s.external_id = e.external_id)
"""
# Facts without a lead (no message yet, or a message without one) are dropped by the
# caller: a filter on lead_id here would run the batch facts' scalar subquery twice a row.
LEAD_FACTS = """
SELECT lead_id, type, bounce_type, classification FROM ({facts}) facts
ORDER BY occurred_at, in_batch, seq
"""


@contextmanager
def tuned(conn: Connection) -> Iterator[None]:
    """Settings for a batch: ``work_mem`` for the rest of the transaction, and no automatic
    prepared statements while the batch runs, so every statement is planned for this
    batch's own parameters and never with a generic plan frozen after a few batches.
    (``plan_cache_mode = force_custom_plan`` would also re-plan every foreign-key check.)"""
    conn.execute(text(SESSION_SETTINGS))
    raw = conn.connection.driver_connection
    assert raw is not None
    threshold = raw.prepare_threshold
    raw.prepare_threshold = None
    try:
        yield
    finally:
        raw.prepare_threshold = threshold


def stage(conn: Connection, events: Sequence[ParsedEvent]) -> None:
    """COPY the events into this transaction's staging table; no lock is needed."""
    conn.execute(text(CREATE_STAGING))
    raw = conn.connection.driver_connection
    assert raw is not None
    columns = ", ".join(STAGING_COLUMNS)
    with raw.cursor() as cursor, cursor.copy(
        f"COPY ingest_staging ({columns}) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(STAGING_TYPES)
        write_row = copy.write_row
        for event in events:
            row_id = (new_id("msg") if event.type in MESSAGE_TYPES
                      else new_id("rpl") if event.classification else None)
            write_row((
                event.index, row_id, event.external_id, event.type, event.occurred_at,
                event.campaign_id, event.message_id, event.lead_id, event.account_id,
                event.step, event.variant, event.subject, event.recipient,
                event.mailbox_provider, event.bounce_type, event.reason, event.url,
                event.user_agent, event.ip, event.reply_from, event.body, event.classification,
                event.http_method,
            ))
    conn.execute(text(ANALYZE_STAGING))


def write_batch(
    conn: Connection, workspace_id: str, events: Sequence[ParsedEvent], *,
    staged: int, unstage: Collection[int] = (), existing: Collection[str] = (),
    early: Collection[str] = (),
) -> int:
    """Store a batch of distinct, validated events; returns how many were new.

    Holding the workspace's ingest lock: ``staged`` rows were staged, those at positions
    ``unstage`` are dropped (``events`` are the rest); ``existing`` are the messages stored
    before the batch, ``early`` the unborn ones with events stored before their birth."""
    ws = {"ws": workspace_id}
    if unstage:
        conn.execute(text(DROP_STAGED), {"idx": sorted(unstage)})
    duplicates = conn.execute(text(INSERT_EVENTS), ws).rowcount
    accepted = staged - len(unstage) - duplicates
    if not accepted:
        return 0
    births = {e.message_id for e in events if e.type in MESSAGE_TYPES} - set(existing)
    with_history = sorted(births & set(early))
    history: list[str] = []
    if with_history:
        history = sorted(conn.execute(text(INSERT_MESSAGES_BORN),
                                      {**ws, "early": with_history}).scalars())
    else:
        conn.execute(text(INSERT_MESSAGES), ws)
    conn.execute(text(INSERT_REPLIES), ws)
    declines = BATCH_DECLINES
    if history:
        conn.execute(text(ADOPT_REPLIES), {**ws, "early": history})
        declines += EARLY_DECLINES
    conn.execute(text(SUPPRESS.format(declines=declines)),
                 {**ws, "early": history} if history else ws)
    # Messages born here without history already have their state from the batch.
    fresh = births - set(early)
    touched = sorted({e.message_id for e in events if e.type in STATE_TYPES} - fresh)
    if touched:
        conn.execute(text(UPDATE_STATES), {**ws, "touched": text_array(touched)})
    facts_sql = LEAD_FACTS.format(facts=BATCH_FACTS + (EARLY_FACTS if history else ""))
    facts = conn.execute(text(facts_sql), {**ws, "early": history} if history else ws).all()
    apply_moves(conn, ((lead_id, fact_move(kind, bounce_type, classification))
                       for lead_id, kind, bounce_type, classification in facts
                       if lead_id is not None))
    return accepted
