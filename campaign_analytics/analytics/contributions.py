"""The SQL that turns raw events into rollup rows: what a set of messages contributes.

One statement computes, for every message in scope, its contribution to the rollups as
of watermark ``:new`` (sign +1) and, for an incremental refresh, as of ``:old`` (sign -1);
their sum is exactly the change the new events make, and it is added to the rollups.
A full refresh is the same statement with ``:old = 0`` on emptied rollups.

Counting rules (SPEC §7, §11.7, §11.18): a message counts once its ``sent`` event is in;
``sent`` and every unique count (delivered, bounced by type, spam, unsubscribe, opened,
clicked, replied) fall in the bucket of the message's first such event; ``failed`` and
the totals count every event; ``slot_*`` credit engagement to the send bucket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..engagement.rules import Rules
from ..engagement.sql import (
    CLIENTS,
    click_verdict_sql,
    client_sql,
    clients_sql,
    codes,
    link_sql,
)
from ..models.rollup import COUNTERS, LEAD_COUNTS

BUCKET = "date_bin('15 minutes', {at}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"

# Unique counts: the rollup column, and the events whose first occurrence it counts (None:
# a first open is the earlier of the people's and the machines', see ``_firsts``).
FIRSTS: tuple[tuple[str, str | None], ...] = (
    ("sent", "type = 'sent'"),
    ("delivered", "type = 'delivered'"),
    ("bounced_hard", "type = 'bounced' AND bounce_type = 'hard'"),
    ("bounced_soft", "type = 'bounced' AND bounce_type = 'soft'"),
    ("spam_complaints", "type = 'spam_complaint'"),
    ("unsubscribes", "type = 'unsubscribed'"),
    ("opened", None),
    ("clicked", "type = 'clicked'"),
    ("replied", "type = 'replied'"),
)
# Engagement credited to the send slot: the slot column, and when a sent message has it
# (``m``: its firsts; ``p``: its people's and machines' clicks, see ``PEOPLE``).
SLOTS: tuple[tuple[str, str], ...] = (
    ("slot_opened", "m.opened IS NOT NULL"), ("slot_clicked", "m.clicked IS NOT NULL"),
    ("slot_replied", "m.replied IS NOT NULL"),
    ("slot_human_opened", "coalesce(m.human_open, p.person_click) IS NOT NULL"),
    ("slot_human_clicked", "p.human_click IS NOT NULL"),
)


REPLY_COUNTERS = {"replies_interested": "interested",
                  "replies_not_interested": "not_interested",
                  "replies_out_of_office": "out_of_office"}


def reply_is(counter: str, classification: str) -> str:
    """Whether a reply of this class counts in ``counter`` (no record: ``replies_other``)."""
    if counter in REPLY_COUNTERS:
        return f"{classification} = '{REPLY_COUNTERS[counter]}'"
    named = ", ".join(f"'{name}'" for name in REPLY_COUNTERS.values())
    return f"coalesce({classification}, '') NOT IN ({named})"


def _bit(name: str) -> int:
    """A fact names the counters it adds to as bits of one integer (``counters``): a fact
    that adds to several (a message's send and the engagement credited to its slot) is one
    row to aggregate, not one per counter."""
    return 1 << COUNTERS.index(name)


def _bits(conditions: Iterable[tuple[str, str]]) -> str:
    """The bits of the counters whose condition holds (``(counter, condition)`` pairs)."""
    return " | ".join(f"CASE WHEN {test} THEN {_bit(name)} ELSE 0 END"
                      for name, test in conditions)


def _reply_counter(classification: str) -> str:
    """The bit of the replies counter a reply of this class adds to."""
    return "CASE " + " ".join(f"WHEN {reply_is(c, classification)} THEN {_bit(c)}"
                              for c in REPLY_COUNTERS) + f" ELSE {_bit('replies_other')} END"


# The counter each event adds to: failures, opens, clicks, replies by their reply's class.
EVERY_EVENT = f"""CASE ev.type WHEN 'failed' THEN {_bit("failed")}
        WHEN 'opened' THEN {_bit("total_opens")}
        WHEN 'clicked' THEN {_bit("total_clicks")}
        ELSE {_reply_counter("ev.classification")}
    END"""


# Where events and messages come from: the whole workspace (full refresh), or the
# ``refresh_events`` and ``refresh_scope`` tables a scoped refresh fills first.
@dataclass(frozen=True)
class Source:
    # rows (id, message_id, type, occurred_at, bounce_type, reason, classification, client,
    # link); {client}, {link} and {clients} are filled in with the engagement rules
    events: str
    messages: str  # rows (message_id, campaign_id, account_id, provider, lead_id)
    clients: str  # the user agents and addresses of the opens and clicks in ``events``


WORKSPACE = Source(
    events="""(SELECT e.id, e.message_id, e.type, e.occurred_at, e.bounce_type, e.reason,
                      r.classification, {client} AS client, {link} AS link
               FROM email_events e
               LEFT JOIN replies r ON e.type = 'replied' AND r.workspace_id = :ws
                                  AND r.event_external_id = e.external_id
               {clients}
               WHERE e.workspace_id = :ws)""",
    clients="""SELECT user_agent, ip FROM email_events
               WHERE workspace_id = :ws AND id <= :new AND type IN ('opened', 'clicked')""",
    messages="""(SELECT message_id, campaign_id, coalesce(account_id, '') AS account_id,
                        mailbox_provider AS provider, lead_id
                 FROM messages WHERE workspace_id = :ws)""",
)
SCOPE = Source(
    events="""(SELECT e.id, e.message_id, e.type, e.occurred_at, e.bounce_type, e.reason,
                      e.classification, {client} AS client, {link} AS link
               FROM refresh_events e
               {clients})""",
    clients="SELECT user_agent, ip FROM refresh_events WHERE type IN ('opened', 'clicked')",
    messages="refresh_scope")

# What a scoped refresh reads, gathered by index lookups before the aggregation runs.
# LATERAL subqueries that cannot be flattened into a join (``OFFSET 0``) are index lookups
# whatever the planner estimates, so the cost follows the scope, never the size of the
# workspace's tables (flattened, 21k messages in scope made it read all 10M events: 3.3 s).
FILL_SCOPE_EVENTS = """
CREATE TEMP TABLE refresh_events ON COMMIT DROP AS
SELECT e.id, e.message_id, e.type, e.occurred_at, e.bounce_type, e.reason,
       (SELECT r.classification FROM replies r
        WHERE e.type = 'replied' AND r.workspace_id = :ws
          AND r.event_external_id = e.external_id) AS classification,
       e.user_agent, e.ip, e.http_method, e.url
FROM refresh_scope s
CROSS JOIN LATERAL (
    SELECT * FROM email_events e
    WHERE e.workspace_id = :ws AND e.message_id = s.message_id AND e.id <= :new
      AND (NOT s.context OR e.type IN ('sent', 'failed'))
    OFFSET 0
) e
"""


def with_rules(sql: str, rules: Rules) -> str:
    """Fill in how each open and click is judged (see ``engagement.sql``); the statement
    needs ``judge_clients_sql`` run first in the transaction."""
    return sql.replace("{client}", client_sql(rules)).replace("{link}", link_sql()) \
        .replace("{clients}", CLIENTS)


def judge_clients_sql(source: Source, rules: Rules) -> str:
    """The user agents and addresses the statement over ``source`` will read, each judged
    once."""
    return clients_sql(rules, source.clients)


def _firsts() -> str:
    """The firsts but ``opened``: every open's ``client`` is a code (``client_sql``), a
    machine's or not, so a message's first open is the earlier of the two firsts the
    people's and machines' counts need anyway (``firsts``): one aggregate fewer over every
    event."""
    return ",\n        ".join(
        f"min(occurred_at) FILTER (WHERE {condition}) AS {name}" for name, condition in FIRSTS
        if condition is not None
    )


# What people did, per message: the firsts of opens that are no machine's and of the
# machines' (``m``, from ``firsts``), of clicks that are no machine's, judged human, and of
# the machines' (``p``, from ``click_people``). A click a person is known to have made
# implies an open (one without client data does not). Each is usually the message's first
# open or click itself (the first it is named with), whose fact then adds to it too.
PEOPLE: tuple[tuple[str, str, str | None], ...] = (
    ("human_opened", "least(m.human_open, p.person_click)", "opened"),
    ("machine_opened", "m.machine_open", "opened"),
    ("inferred_opens", "CASE WHEN m.human_open IS NULL THEN p.person_click END", None),
    ("human_clicked", "p.human_click", "clicked"),
    ("bot_clicked", "p.bot_click", "clicked"),
)


def _lead_sums() -> str:
    """A campaign's change in ``LEAD_COUNTS`` from its leads' counts as of ``:new`` (sign
    +1) and ``:old`` (sign -1): a lead's class depends on all its messages, so a scoped
    refresh has them all in scope (see ``refresh.TOUCHED``)."""
    classes = {"only_sent": "sent > 0 AND failed = 0", "only_failed": "sent = 0 AND failed > 0",
               "partial": "sent > 0 AND failed > 0"}
    return ", ".join(
        [f"sum(sign * {name}) AS {name}" for name in ("sent", "failed")]
        + [f"coalesce(sum(sign) FILTER (WHERE {test}), 0) AS {name}"
           for name, test in classes.items()])


def _first_facts() -> list[tuple[str, str]]:
    """A sent message's firsts as facts, one per instant (``at``, ``counters``): each
    first's with the people's firsts at the same instant and, the send's, with its slots;
    a people's first at another instant has its own."""
    def joined(first: str) -> str:
        riders = (list(SLOTS) if first == "sent" else []) + [
            (name, f"{at} = m.{first}") for name, at, of in PEOPLE if of == first]
        return f"{_bit(first)} | {_bits(riders)}" if riders else str(_bit(first))

    return [(f"m.{first}", joined(first)) for first, _ in FIRSTS] + [
        (at if of is None else f"CASE WHEN {at} IS DISTINCT FROM m.{of} THEN {at} END",
         str(_bit(name))) for name, at, of in PEOPLE]


def _unpivot(facts: list[tuple[str, str]]) -> str:
    """Columns ``counters`` and ``at``: one row per fact. Two arrays unnested side by side,
    not a ``VALUES`` list joined to each message: a Values Scan prepares its expressions
    again for every row, which made the bits' ``CASE`` expressions cost more than the
    rows they save (at 10M events, a first full refresh 125-128 s against 106.6 s)."""
    counters = ", ".join(counters for _, counters in facts)
    instants = ", ".join(at for at, _ in facts)
    return f"unnest(ARRAY[{counters}]) AS counters, unnest(ARRAY[{instants}]) AS at"


def _sums() -> str:
    """Each counter cast to the rollups' ``integer`` (``sum`` gives a ``bigint``): ``fine``'s
    rows, kept for two readers and sorted, are a third narrower (2M events: the rebuild
    statement 13.6 against 14.3 s)."""
    return ",\n    ".join(
        f"coalesce(sum(sign) FILTER (WHERE counters & {_bit(name)} <> 0), 0)::int AS {name}"
        for name in COUNTERS
    )


def events_sql(source: Source, rules: Rules, *, since: bool) -> str:
    """CTEs ``fine``, one row per (campaign, account, provider, bucket), ``reasons``,
    ``per_lead``, one row per campaign, and ``engaged`` (every open and click of a sent
    message with its reason code): the contributions as of ``:new``, minus (``since``)
    those as of ``:old``.

    Judging adds as little relational work as it can to the counting without it. An open's
    verdict is what it carries (``client``), so the firsts of people's and machines' opens
    take the place of the first open's aggregate in ``firsts`` (one more, not two) and its
    totals are counted in the same join to its message as before. Only clicks need their
    message (its delivery, its first click: the timing rules): they are joined to it once
    (``clicks``), whether several links were clicked within the window found (``bursts``:
    the least and the greatest link differ, a hash aggregate where counting distinct links
    took a sort), judged (``judged``) and their firsts taken (``click_people``). The
    people's firsts are facts of their own only where they differ from the message's first
    open or click; a person's total adds to the same fact as the total (``_bit``).
    """
    events = with_rules(source.events, rules)
    older = f"UNION ALL SELECT e.*, -1 AS sign FROM {events} e WHERE e.id <= :old" \
        if since else ""
    machine = f"IN ({codes(rules, 'machine')})"
    return f"""
WITH ev AS MATERIALIZED (
    SELECT e.*, 1 AS sign FROM {events} e WHERE e.id <= :new
    {older}
),
firsts AS (
    SELECT *, least(human_open, machine_open) AS opened FROM (
        SELECT message_id, sign,
            {_firsts()},
            bool_or(type = 'failed') AS failed_any,
            min(occurred_at) FILTER (WHERE type = 'opened' AND client NOT {machine}) AS human_open,
            min(occurred_at) FILTER (WHERE type = 'opened' AND client {machine}) AS machine_open
        FROM ev GROUP BY message_id, sign
    ) f
),
msg AS MATERIALIZED (
    SELECT f.*, m.campaign_id, m.account_id, m.provider, m.lead_id
    FROM firsts f JOIN {source.messages} m ON m.message_id = f.message_id
),
counted AS MATERIALIZED (
    SELECT ev.id, ev.message_id, ev.sign, ev.type, ev.occurred_at, ev.bounce_type, ev.reason,
           ev.classification, ev.client, ev.link, m.campaign_id, m.account_id, m.provider,
           m.sent, m.delivered, m.clicked
    FROM ev JOIN msg m ON m.message_id = ev.message_id AND m.sign = ev.sign
    WHERE ev.type = 'failed' OR (m.sent IS NOT NULL AND ev.type IN ('opened', 'clicked',
                                                                     'replied', 'bounced'))
),
clicks AS MATERIALIZED (
    SELECT id, message_id, sign, occurred_at, client, link, campaign_id, account_id, provider,
           sent, delivered, clicked
    FROM counted WHERE type = 'clicked'
),
bursts AS (
    SELECT message_id, sign, min(link) <> max(link) AS several_links
    FROM clicks
    WHERE occurred_at < clicked + make_interval(secs => {rules.links_at_once_seconds})
    GROUP BY 1, 2
),
judged AS MATERIALIZED (
    SELECT c.id, c.message_id, c.sign, c.occurred_at, c.campaign_id, c.account_id,
           c.provider, {click_verdict_sql(rules)} AS reason
    FROM clicks c LEFT JOIN bursts b ON b.message_id = c.message_id AND b.sign = c.sign
),
click_people AS (
    SELECT message_id, sign,
        min(occurred_at) FILTER (WHERE reason NOT {machine}) AS human_click,
        min(occurred_at) FILTER (WHERE reason IN ({codes(rules, 'human')})) AS person_click,
        min(occurred_at) FILTER (WHERE reason {machine}) AS bot_click
    FROM judged GROUP BY message_id, sign
),
engaged AS (
    SELECT id, message_id, sign, campaign_id, client AS reason
    FROM counted WHERE type = 'opened'
    UNION ALL
    SELECT id, message_id, sign, campaign_id, reason FROM judged
),
facts AS (
    SELECT * FROM (
        SELECT m.campaign_id, m.account_id, m.provider, m.sign, {_unpivot(_first_facts())}
        FROM msg m LEFT JOIN click_people p ON p.message_id = m.message_id
                                           AND p.sign = m.sign
        WHERE m.sent IS NOT NULL
    ) f WHERE at IS NOT NULL
    UNION ALL
    SELECT campaign_id, account_id, provider, sign, {EVERY_EVENT}
           | {_bits([("human_total_opens", f"type = 'opened' AND client NOT {machine}")])},
           occurred_at
    FROM counted ev WHERE type IN ('failed', 'opened', 'replied')
    UNION ALL
    SELECT campaign_id, account_id, provider, sign,
           {_bit("total_clicks")} | {_bits([("human_total_clicks", f"reason NOT {machine}")])},
           occurred_at
    FROM judged
),
fine AS (
    SELECT campaign_id, account_id, provider, {BUCKET.format(at="at")} AS bucket,
    {_sums()}
    FROM facts GROUP BY 1, 2, 3, 4
),
first_bounces AS (
    SELECT DISTINCT ON (sign, message_id, bounce_type)
           campaign_id, account_id, sign, bounce_type, occurred_at,
           coalesce(nullif(btrim(reason), ''), 'unknown') AS reason
    FROM counted WHERE type = 'bounced' AND bounce_type IS NOT NULL
    ORDER BY sign, message_id, bounce_type, occurred_at, id
),
reasons AS (
    SELECT campaign_id, account_id, {BUCKET.format(at="occurred_at")} AS bucket,
           bounce_type, reason, sum(sign) AS bounces
    FROM first_bounces GROUP BY 1, 2, 3, 4, 5
),
leads AS (
    SELECT campaign_id, sign, (count(*) FILTER (WHERE sent IS NOT NULL))::int AS sent,
           (count(*) FILTER (WHERE sent IS NULL AND failed_any))::int AS failed
    FROM msg WHERE lead_id IS NOT NULL GROUP BY campaign_id, lead_id, sign
),
per_lead AS (
    SELECT campaign_id, {_lead_sums()}
    FROM leads GROUP BY campaign_id
)"""


def _add(table: str, key: str, upsert: bool, columns: tuple[str, ...] = COUNTERS) -> str:
    """Rollups are emptied before a rebuild, so only a change needs ``ON CONFLICT``."""
    if not upsert:
        return ""
    changes = ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name in columns)
    return f"ON CONFLICT ({key}) DO UPDATE SET {changes}"


# Manual reclassifications (``reply_corrections``) of replies already in the rollups at
# watermark ``:old``: each moves one count from the old class's counter to the new one's.
CORRECTIONS = f"""
WITH taken AS (
    DELETE FROM reply_corrections WHERE workspace_id = :ws
    RETURNING reply_id, old_classification, new_classification
),
facts AS (
    SELECT m.campaign_id, coalesce(m.account_id, '') AS account_id,
           m.mailbox_provider AS provider, e.occurred_at AS at, x.sign, x.counters
    FROM taken t
    JOIN replies r ON r.id = t.reply_id
    JOIN email_events e ON e.workspace_id = :ws AND e.external_id = r.event_external_id
    JOIN messages m ON m.workspace_id = :ws AND m.message_id = r.message_id
    CROSS JOIN LATERAL (VALUES (-1, {_reply_counter("t.old_classification")}),
                               (1, {_reply_counter("t.new_classification")})) AS x(sign, counters)
    WHERE e.id <= :old AND EXISTS (
        SELECT 1 FROM email_events s
        WHERE s.workspace_id = :ws AND s.message_id = r.message_id AND s.type = 'sent'
          AND s.id <= :old)
),
fine AS (
    SELECT campaign_id, account_id, provider, {BUCKET.format(at="at")} AS bucket,
    {_sums()}
    FROM facts GROUP BY 1, 2, 3, 4
),
reasons AS (
    SELECT NULL::text AS campaign_id, NULL::text AS account_id, NULL::timestamptz AS bucket,
           NULL::text AS bounce_type, NULL::text AS reason, 0 AS bounces
    WHERE false
),
per_lead AS (
    SELECT NULL::text AS campaign_id, {", ".join(f"0 AS {name}" for name in LEAD_COUNTS)}
    WHERE false
)"""


# Verdicts are sorted as ``id * PACK + reason number``: a reason number (a ``smallint``,
# at least 1) is below PACK, and for an id below PACKED_BELOW the key fits a ``bigint``.
PACK = 1 << 16
PACKED_BELOW = 1 << 47


@dataclass(frozen=True)
class Verdicts:
    """Which verdicts of ``engaged`` to store, as numbers (``reason_ids``: the
    ``verdict_reasons`` id of each reason code): those of every message, or
    (``since_judged``) of the messages with an event after watermark ``:judged`` (a
    message's verdicts change only when it has new events). Verdicts are stored up to the
    watermark ``:stored`` (``stored``; each refresh stores those of every event it reads):
    a later event has none, so its verdict is simply inserted. Any other is first looked
    up by key and written only when new or changed, since a conflicting ``INSERT`` locks,
    and so writes, even a row it leaves as it was. Without ``stored`` (a first refresh:
    none stored) every one is inserted; a conflict check would cost as much again as the
    insertion. Verdicts go in in key order: ``engaged`` has the opens, then the clicks,
    each in id order, and inserting the clicks' keys between the opens' costs a read and
    a write of index pages the opens had finished with (2.64M verdicts at 10M events:
    5.6 s as two runs, 3.0 s sorted, the sort included)."""

    reason_ids: tuple[int, ...]
    since_judged: bool = False
    stored: bool = True
    # Whether every id to store is below ``PACKED_BELOW`` (the watermark is; ``refresh``
    # sets it). Sorted as one number (PostgreSQL sorts a single by-value column without
    # forming a row for each), not as (id, reason) rows: 2.62M verdicts (10M events) take
    # 98 against 222 MB and 0.8 against 1.8 s. Past id 2^47 (1.4e14) the rows are sorted.
    packed: bool = False

    def sql(self) -> str:
        number = f"(ARRAY[{', '.join(map(str, self.reason_ids))}]::smallint[])[reason + 1]"

        def insert(which: str = "") -> str:
            chosen = f"FROM engaged WHERE sign = 1 {which}"
            rows = (f"""SELECT key / {PACK}, (key % {PACK})::smallint FROM (
        SELECT id * {PACK} + {number} AS key {chosen} ORDER BY 1) packed"""
                    if self.packed else f"SELECT id, {number} {chosen} ORDER BY id")
            return f"INSERT INTO event_verdicts (event_id, reason_id)\n    {rows}"

        if not self.stored:
            return f"\nby_verdict AS (\n    {insert()}\n),"
        touched = ("AND message_id IN (SELECT message_id FROM ev WHERE id > :judged)"
                   if self.since_judged else "")
        changed = ("AND (SELECT v.reason_id FROM event_verdicts v WHERE v.event_id = engaged.id) "
                   f"IS DISTINCT FROM {number}")
        return f"""
by_new_verdict AS (
    {insert("AND id > :stored")}
),
by_verdict AS (
    {insert(f"AND id <= :stored {touched} {changed}")}
    ON CONFLICT (event_id) DO UPDATE SET reason_id = EXCLUDED.reason_id
),"""


def apply_sql(contributions: str, *, upsert: bool, prefix: str = "",
              verdicts: Verdicts | None = None) -> str:
    """Add ``fine``, ``reasons`` and ``per_lead`` to the rollup tables (or to tables of the
    same shape named with ``prefix``), and with ``verdicts`` the verdicts of ``engaged``
    to ``event_verdicts``, in one statement. A change (``upsert``) skips the rows of
    buckets where it adds nothing: most of those an increment touches (a message's send
    and delivery, counted out as of ``:old`` and back in as of ``:new``), whose rows exist
    already, and updating them would only write them again; a rebuild has none; nor
    does a campaign with no message sent or failed yet. The delivery rows go in in key
    order: a key inserted at random into an index larger than the server's buffers costs
    a page read and write each, and the nightly merge then probes the table in key order
    too. Sorted by bytes: the ids are ASCII, whose byte order is the database collation's,
    and a byte comparison is much cheaper than the locale's."""
    columns, lead_counts = ", ".join(COUNTERS), ", ".join(LEAD_COUNTS)
    grouped = ", ".join(f"sum({name})" for name in COUNTERS)
    adds = f"WHERE ({columns}) <> ({', '.join('0' for _ in COUNTERS)})" if upsert else ""
    return f"""{contributions},{verdicts.sql() if verdicts else ""}
by_delivery AS (
    INSERT INTO {prefix}rollup_delivery_buckets (workspace_id, campaign_id, account_id, provider,
                                         bucket, {columns})
    SELECT :ws, campaign_id, account_id, provider, bucket, {columns} FROM fine {adds}
    ORDER BY bucket, campaign_id COLLATE "C", account_id COLLATE "C", provider COLLATE "C"
    {_add("rollup_delivery_buckets", "workspace_id, bucket, campaign_id, account_id, provider",
          upsert)}
),
by_reason AS (
    INSERT INTO {prefix}rollup_bounce_reasons (workspace_id, campaign_id, account_id, bucket,
                                       bounce_type, reason, bounces)
    SELECT :ws, campaign_id, account_id, bucket, bounce_type, reason, bounces FROM reasons
    {"WHERE bounces <> 0" if upsert else ""}
    {_add("rollup_bounce_reasons",
          "workspace_id, bucket, campaign_id, account_id, bounce_type, reason", upsert,
          ("bounces",))}
),
by_lead AS (
    INSERT INTO {prefix}rollup_campaign_leads (workspace_id, campaign_id, {lead_counts})
    SELECT :ws, campaign_id, {lead_counts} FROM per_lead
    WHERE ({lead_counts}) <> ({", ".join("0" for _ in LEAD_COUNTS)})
    {_add("rollup_campaign_leads", "campaign_id", upsert, LEAD_COUNTS)}
)
INSERT INTO {prefix}rollup_campaign_buckets (workspace_id, campaign_id, bucket, {columns})
SELECT :ws, campaign_id, bucket, {grouped} FROM fine {adds} GROUP BY campaign_id, bucket
{_add("rollup_campaign_buckets", "campaign_id, bucket", upsert)}
"""


# Every rollup table: its key and its value columns (a full rebuild merges by them).
ROLLUP_TABLES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("rollup_campaign_buckets", ("campaign_id", "bucket"), COUNTERS),
    ("rollup_delivery_buckets",
     ("workspace_id", "bucket", "campaign_id", "account_id", "provider"), COUNTERS),
    ("rollup_bounce_reasons",
     ("workspace_id", "bucket", "campaign_id", "account_id", "bounce_type", "reason"),
     ("bounces",)),
    ("rollup_campaign_leads", ("campaign_id",), LEAD_COUNTS),
)


def merge_sql(table: str, key: tuple[str, ...], values: tuple[str, ...]) -> tuple[str, str]:
    """Make ``table`` equal ``fresh_<table>`` for the workspace, writing only rows that
    changed: a nightly rebuild of mostly unchanged numbers then costs index probes, not
    the WAL and dead rows of deleting and re-inserting everything. Stale rows are found by the
    workspace and the ids of its campaigns (``:campaigns``, a list: an index condition
    even with nested loops off), one of which every rollup key leads with."""
    keys, cols = ", ".join(key), ", ".join(values)
    changed = ", ".join(f"EXCLUDED.{name}" for name in values)
    upsert = f"""
INSERT INTO {table} SELECT * FROM fresh_{table}
ON CONFLICT ({keys}) DO UPDATE SET ({cols}) = ROW({changed})
WHERE ({", ".join(f"{table}.{name}" for name in values)}) IS DISTINCT FROM ({changed})"""
    stale = f"""
DELETE FROM {table} t WHERE t.workspace_id = :ws AND t.campaign_id = ANY(:campaigns)
AND NOT EXISTS (
    SELECT 1 FROM fresh_{table} f WHERE ({", ".join(f"f.{k}" for k in key)})
                                      = ({", ".join(f"t.{k}" for k in key)}))"""
    return upsert, stale
