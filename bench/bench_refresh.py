"""Rollup refresh: full and incremental ``refresh`` beside one bare aggregation, same run.

    .venv/bin/python bench/bench_refresh.py                        # 10,000,000 events
    .venv/bin/python bench/bench_refresh.py --events 1000000       # quick run
    .venv/bin/python bench/bench_refresh.py --double [--explain]   # also on a doubled base

On a throw-away database (``ca_bench_<hex>``, dropped at the end even on failure): one
workspace, ``generate_dataset`` of N events, ``VACUUM ANALYZE``; then

* **baseline** — one bare ``INSERT INTO <unlogged table> SELECT … GROUP BY …`` written
  here (not from ``contributions.py``) that computes the DAILY (UTC) counts per campaign
  the rollups hold: sent (first ``sent`` of a message), delivered / bounced hard / soft /
  spam / unsubscribed / opened / clicked / replied as unique messages on the day of their
  first such event (messages with a ``sent`` only), failed events, total opens, clicks and
  replies (replies split by the class of their reply record). Same ``work_mem`` as refresh
  (256MB), planner defaults.
* **full** — ``refresh(db, ws, RefreshMode.FULL)`` on empty rollups, then again on
  populated ones (warm). Target: ≤ 1.5x the baseline. The baseline's daily counts are
  checked against the rollups summed per UTC day (a fast-but-wrong refresh shows).
* **incremental** — 10,000 new events through ``ingest_batch`` (late opens, clicks,
  replies, unsubscribes of recent messages and new sent messages with their deliveries
  and first opens), then ``refresh(db, ws, RefreshMode.INCREMENTAL)``. Target: ≤ 2 % of
  the full refresh.
* ``--double``: another N events (another seed) into the same workspace, full refresh,
  baseline, then 10,000 new events + incremental again. Target: incremental flat.

Prints times, ratios, the machine's load average at each step, the process's peak RSS and
the rollup tables' sizes. ``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the full
refresh statement (rolled back) on the first base, and after each measured increment runs
another one under auto_explain, printing the plan of each of its statements over 20 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from _common import (
    default_admin_url,
    generate,
    max_rss_mb,
    say,
    scratch_database,
    sigterm_as_exit,
    timed,
)
from sqlalchemy import event as sa_event
from sqlalchemy import text

from campaign_analytics.analytics.contributions import (
    WORKSPACE,
    Verdicts,
    apply_sql,
    events_sql,
    judge_clients_sql,
)
from campaign_analytics.analytics.refresh import (
    NO_JIT,
    PLAN_SETTINGS,
    ROLLUPS,
    WORK_MEM,
    RefreshMode,
    jit_pays,
    refresh,
)
from campaign_analytics.db import Database
from campaign_analytics.engagement.reasons import reason_ids
from campaign_analytics.engagement.rules import load_rules
from campaign_analytics.ingestion.batch import ingest_batch
from campaign_analytics.workspaces import create_workspace

BASELINE_TABLE = "bench_daily_baseline"
COUNTS = ("sent", "delivered", "bounced_hard", "bounced_soft", "spam_complaints",
          "unsubscribes", "opened", "clicked", "replied", "failed", "total_opens",
          "total_clicks", "total_replies", "replies_interested", "replies_not_interested",
          "replies_out_of_office")
CREATE_BASELINE = f"""
CREATE UNLOGGED TABLE {BASELINE_TABLE} (
    campaign_id varchar(40) NOT NULL, day date NOT NULL,
    {", ".join(f"{name} bigint NOT NULL" for name in COUNTS)}
)"""
# The plain aggregation: one pass for each message's firsts, one for the per-event totals.
BASELINE_SQL = f"""
INSERT INTO {BASELINE_TABLE}
WITH ev AS (
    SELECT e.message_id, e.type, e.bounce_type, e.occurred_at, r.classification
    FROM email_events e
    LEFT JOIN replies r ON e.type = 'replied' AND r.workspace_id = %(ws)s
                       AND r.event_external_id = e.external_id
    WHERE e.workspace_id = %(ws)s
),
firsts AS (
    SELECT message_id,
           min(occurred_at) FILTER (WHERE type = 'sent') AS sent,
           min(occurred_at) FILTER (WHERE type = 'delivered') AS delivered,
           min(occurred_at) FILTER (WHERE type = 'bounced' AND bounce_type = 'hard')
               AS bounced_hard,
           min(occurred_at) FILTER (WHERE type = 'bounced' AND bounce_type = 'soft')
               AS bounced_soft,
           min(occurred_at) FILTER (WHERE type = 'spam_complaint') AS spam_complaints,
           min(occurred_at) FILTER (WHERE type = 'unsubscribed') AS unsubscribes,
           min(occurred_at) FILTER (WHERE type = 'opened') AS opened,
           min(occurred_at) FILTER (WHERE type = 'clicked') AS clicked,
           min(occurred_at) FILTER (WHERE type = 'replied') AS replied
    FROM ev GROUP BY message_id
),
msg AS (
    SELECT f.*, m.campaign_id
    FROM firsts f JOIN messages m ON m.workspace_id = %(ws)s AND m.message_id = f.message_id
),
facts AS (
    SELECT msg.campaign_id, x.metric, x.at
    FROM msg CROSS JOIN LATERAL (VALUES
        ('sent', msg.sent), ('delivered', msg.delivered), ('bounced_hard', msg.bounced_hard),
        ('bounced_soft', msg.bounced_soft), ('spam_complaints', msg.spam_complaints),
        ('unsubscribes', msg.unsubscribes), ('opened', msg.opened),
        ('clicked', msg.clicked), ('replied', msg.replied)) AS x(metric, at)
    WHERE msg.sent IS NOT NULL AND x.at IS NOT NULL
    UNION ALL
    SELECT msg.campaign_id,
           CASE ev.type WHEN 'failed' THEN 'failed' WHEN 'opened' THEN 'total_opens'
                WHEN 'clicked' THEN 'total_clicks'
                ELSE 'reply_' || coalesce(ev.classification, 'other') END,
           ev.occurred_at
    FROM ev JOIN msg ON msg.message_id = ev.message_id
    WHERE ev.type = 'failed'
       OR (msg.sent IS NOT NULL AND ev.type IN ('opened', 'clicked', 'replied'))
)
SELECT campaign_id, (at AT TIME ZONE 'UTC')::date AS day,
       count(*) FILTER (WHERE metric = 'sent'),
       count(*) FILTER (WHERE metric = 'delivered'),
       count(*) FILTER (WHERE metric = 'bounced_hard'),
       count(*) FILTER (WHERE metric = 'bounced_soft'),
       count(*) FILTER (WHERE metric = 'spam_complaints'),
       count(*) FILTER (WHERE metric = 'unsubscribes'),
       count(*) FILTER (WHERE metric = 'opened'),
       count(*) FILTER (WHERE metric = 'clicked'),
       count(*) FILTER (WHERE metric = 'replied'),
       count(*) FILTER (WHERE metric = 'failed'),
       count(*) FILTER (WHERE metric = 'total_opens'),
       count(*) FILTER (WHERE metric = 'total_clicks'),
       count(*) FILTER (WHERE metric LIKE 'reply%%'),
       count(*) FILTER (WHERE metric = 'reply_interested'),
       count(*) FILTER (WHERE metric = 'reply_not_interested'),
       count(*) FILTER (WHERE metric = 'reply_out_of_office')
FROM facts GROUP BY campaign_id, day
"""
# The rollups summed per campaign and UTC day, in the baseline's columns.
ROLLUP_DAILY = f"""
SELECT campaign_id, (bucket AT TIME ZONE 'UTC')::date AS day,
       {", ".join(f"sum({name})::bigint" for name in COUNTS[:12])},
       sum(replies_interested + replies_not_interested + replies_out_of_office
           + replies_other)::bigint,
       sum(replies_interested)::bigint, sum(replies_not_interested)::bigint,
       sum(replies_out_of_office)::bigint
FROM rollup_campaign_buckets WHERE workspace_id = %(ws)s GROUP BY 1, 2
"""
CHECK_SQL = f"""
SELECT (SELECT count(*) FROM ({ROLLUP_DAILY} EXCEPT SELECT * FROM {BASELINE_TABLE}) a),
       (SELECT count(*) FROM (SELECT * FROM {BASELINE_TABLE} EXCEPT {ROLLUP_DAILY}) b),
       (SELECT count(*) FROM {BASELINE_TABLE}),
       (SELECT coalesce(sum(sent), 0) FROM {BASELINE_TABLE})
"""
NEW_EVENTS = 10_000
REPLY_BODIES = (
    ("Sounds good, send me a draft.", None),
    ("Yes, we accept guest posts. What topics do you have in mind?", None),
    ("Not interested, please remove me from your list.", None),
    ("I am out of the office until Monday with limited access to e-mail.",
     "Automatic reply: out of office"),
    ("Who gave you this address?", None),
)


@dataclass
class Figures:
    label: str
    events: int
    baseline: list[float]
    full: list[float]
    incremental: float = 0.0
    new_events: int = 0
    ingest: float = 0.0


# --- steps -------------------------------------------------------------------------------

def run_baseline(url: str, ws: str) -> float:
    with psycopg.connect(url) as conn:
        conn.execute(f"TRUNCATE {BASELINE_TABLE}")
        conn.commit()
        elapsed = timed()
        conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        conn.execute(BASELINE_SQL, {"ws": ws})  # type: ignore[arg-type]
        conn.commit()
        seconds = elapsed()
    say(f"baseline (bare daily INSERT … SELECT … GROUP BY): {seconds:.1f} s")
    return seconds


def run_full(db: Database, ws: str, label: str) -> float:
    elapsed = timed()
    result = refresh(db, ws, RefreshMode.FULL)
    seconds = elapsed()
    say(f"full refresh ({label}): {seconds:.1f} s, watermark {result.watermark:,}")
    return seconds


def check(url: str, ws: str) -> bool:
    with psycopg.connect(url) as conn:
        only_rollups, only_baseline, days, sent = conn.execute(
            CHECK_SQL, {"ws": ws}).fetchone()  # type: ignore[misc]
    ok = only_rollups == 0 and only_baseline == 0
    say(f"check rollups per UTC day vs baseline: {days:,} campaign-days, {sent:,} sent; "
        f"{only_rollups} rollup rows and {only_baseline} baseline rows differ -> "
        f"{'OK' if ok else 'MISMATCH'}")
    return ok


def new_events(url: str, ws: str, rng: random.Random, tag: str, now: datetime) -> list[Any]:
    """10,000 events as a sender would post them five minutes after the last refresh:
    ~85 % engagement of messages sent in the last 14 days, ~15 % new messages."""
    with psycopg.connect(url) as conn:
        recent = conn.execute(
            "SELECT message_id, campaign_id, lead_id, account_id, recipient, step "
            "FROM messages WHERE workspace_id = %s AND state <> 'failed' AND sent_at IS NOT NULL "
            "AND account_id IS NOT NULL AND sent_at > %s - interval '14 days' "
            "ORDER BY random() LIMIT 12000", (ws, now)).fetchall()
    assert len(recent) >= 1000, f"only {len(recent)} recent messages"
    events: list[Any] = []

    def at(seconds_ago: float) -> str:
        return (now - timedelta(seconds=seconds_ago)).isoformat()

    def add(kind: str, message: tuple[Any, ...], message_id: str, when: str,
            **extra: Any) -> None:
        events.append({"external_id": f"{tag}-{len(events)}", "type": kind,
                       "occurred_at": when, "campaign_id": message[1],
                       "message_id": message_id, **extra})

    new_messages = 0
    for message in recent:
        if len(events) >= NEW_EVENTS:
            break
        roll = rng.random()
        if roll < 0.12:  # a follow-up to the same lead: sent, delivered, maybe opened
            message_id = f"{tag}-m{new_messages}"
            new_messages += 1
            sent = rng.uniform(60, 290)
            add("sent", message, message_id, at(sent), lead_id=message[2],
                account_id=message[3], recipient=message[4], step=min(message[5] + 1, 100),
                subject="Re: quick question")
            if rng.random() < 0.04:
                add("bounced", message, message_id, at(sent - 20), bounce_type="soft",
                    reason="452 4.2.2 The recipient's mailbox is full")
            else:
                add("delivered", message, message_id, at(sent - 20))
                if rng.random() < 0.3:
                    add("opened", message, message_id, at(sent - 50),
                        user_agent="Mozilla/5.0", ip="84.12.34.56")
        elif roll < 0.72:
            add("opened", message, message[0], at(rng.uniform(0, 300)),
                user_agent="Mozilla/5.0", ip="84.12.34.56")
        elif roll < 0.90:
            add("clicked", message, message[0], at(rng.uniform(0, 300)),
                url="https://example.com/offer")
        elif roll < 0.97:
            body, subject = rng.choice(REPLY_BODIES)
            add("replied", message, message[0], at(rng.uniform(0, 300)), body=body,
                subject=subject or "Re: quick question", **{"from": message[4]})
        elif roll < 0.99:
            add("unsubscribed", message, message[0], at(rng.uniform(0, 300)))
        else:
            add("spam_complaint", message, message[0], at(rng.uniform(0, 300)))
    return events[:NEW_EVENTS]


def run_incremental(db: Database, url: str, ws: str, rng: random.Random, tag: str,
                    full_seconds: float) -> tuple[float, int, float]:
    now = datetime.now(UTC)
    events = new_events(url, ws, rng, tag, now)
    elapsed = timed()
    with db.engine.begin() as conn:
        result = ingest_batch(conn, ws, events, now=now + timedelta(minutes=1))
    ingest_seconds = elapsed()
    if result.accepted != len(events):
        raise RuntimeError(f"ingest accepted {result.accepted:,} of {len(events):,}: "
                           f"{result.rejected[:3]}")
    kinds: dict[str, int] = {}
    for event in events:
        kinds[event["type"]] = kinds.get(event["type"], 0) + 1
    say(f"ingested {result.accepted:,} new events in {ingest_seconds:.1f} s ("
        + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())) + ")")
    elapsed = timed()
    refreshed = refresh(db, ws, RefreshMode.INCREMENTAL)
    seconds = elapsed()
    say(f"incremental refresh: {seconds:.2f} s for {refreshed.new_events:,} new events = "
        f"{seconds / full_seconds:.2%} of the full refresh ({full_seconds:.1f} s)")
    return seconds, refreshed.new_events, ingest_seconds


def explain(db: Database, ws: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the full refresh statement as a first refresh runs it
    (emptied rollups, every verdict inserted), rolled back; with the session settings
    refresh uses (JIT too, for a workspace that large)."""
    rules = load_rules()
    with db.engine.connect() as conn:
        verdicts = Verdicts(reason_ids(conn, rules), stored=False)
        conn.commit()
        sql = apply_sql(events_sql(WORKSPACE, rules, since=False), upsert=False,
                        verdicts=verdicts)
        tx = conn.begin()
        try:
            watermark = conn.execute(text("SELECT max(id) FROM email_events")).scalar_one()
            conn.execute(text(judge_clients_sql(WORKSPACE, rules)), {"ws": ws, "new": watermark})
            for table in ROLLUPS:
                conn.execute(text(f"DELETE FROM {table.__tablename__} WHERE workspace_id = :ws"),
                             {"ws": ws})
            conn.execute(text("DELETE FROM event_verdicts v USING email_events e "
                              "WHERE e.id = v.event_id AND e.workspace_id = :ws"), {"ws": ws})
            conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
            conn.execute(text(NO_JIT))
            for setting in PLAN_SETTINGS:
                conn.execute(text(f"SET LOCAL {setting} = off"))
            if jit_pays(conn, ws):
                conn.execute(text("SET LOCAL jit = on"))
            elapsed = timed()
            plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql),
                                {"ws": ws, "new": watermark}).scalars().all()
            seconds = elapsed()
        finally:
            tx.rollback()
    say(f"EXPLAIN ANALYZE of the full refresh statement ({seconds:.1f} s, rolled back):")
    print("\n".join(plan), flush=True)


# auto_explain, for one instrumented incremental refresh: the plan of every statement slower
# than 20 ms, nested ones included, sent back to the client as a notice.
AUTO_EXPLAIN = ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = '20ms'",
                "SET auto_explain.log_analyze = on", "SET auto_explain.log_buffers = on",
                "SET auto_explain.log_nested_statements = on",
                "SET auto_explain.log_level = 'notice'")


def explain_incremental(db: Database, url: str, ws: str, rng: random.Random, tag: str,
                        full_seconds: float) -> None:
    """Another 10,000 events ingested and refreshed on connections with ``AUTO_EXPLAIN``,
    printing the plans: where an increment's time goes. Its times are not figures (the
    instrumentation costs)."""
    plans: list[str] = []

    def instrument(dbapi: Any, _record: Any) -> None:
        dbapi.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
        with dbapi.cursor() as cursor:
            for statement in AUTO_EXPLAIN:
                cursor.execute(statement)
        dbapi.commit()

    db.engine.dispose()
    sa_event.listen(db.engine, "connect", instrument)
    try:
        say("instrumented increment (auto_explain; times not comparable):")
        run_incremental(db, url, ws, rng, tag, full_seconds)
    finally:
        sa_event.remove(db.engine, "connect", instrument)
        db.engine.dispose()
    print("\n\n".join(plans), flush=True)


def rollup_sizes(url: str) -> str:
    parts = []
    with psycopg.connect(url) as conn:
        for table in [t.__tablename__ for t in ROLLUPS]:
            rows, size = conn.execute(
                f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}"
            ).fetchone()  # type: ignore[misc]
            parts.append(f"{table} {rows:,} rows {size / 1024 / 1024:.1f} MB")
    return "; ".join(parts)


def report(figures: list[Figures]) -> None:
    print()
    print(f"{'base':<14}{'events':>12}{'baseline s':>12}{'full s':>9}{'ratio':>7}"
          f"{'warm s':>9}{'ratio':>7}{'incr s':>9}{'incr/full':>10}")
    for f in figures:
        warm = (f"{f.full[1]:>9.1f}{f.full[1] / f.baseline[-1]:>7.2f}" if len(f.full) > 1
                else f"{'':>16}")
        print(f"{f.label:<14}{f.events:>12,}{f.baseline[0]:>12.1f}{f.full[0]:>9.1f}"
              f"{f.full[0] / f.baseline[0]:>7.2f}{warm}{f.incremental:>9.2f}"
              f"{f.incremental / f.full[0]:>10.2%}")
    if len(figures) > 1:
        a, b = figures[0], figures[-1]
        print(f"incremental on the doubled base: {b.incremental:.2f} s vs {a.incremental:.2f} s "
              f"= {b.incremental / a.incremental:.2f}x (target: flat)")
    print("targets: full <= 1.5x baseline; incremental <= 2 % of full; incremental flat "
          "when the base doubles")


# --- main ----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--double", action="store_true",
                        help="also generate N more events (another seed) and measure again")
    parser.add_argument("--explain", action="store_true",
                        help="EXPLAIN ANALYZE the full refresh statement on the first base, and "
                             "an extra increment on each base under auto_explain")
    parser.add_argument("--admin-url", default=default_admin_url())
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sigterm_as_exit()
    rng = random.Random(args.seed)
    figures: list[Figures] = []
    ok = True
    say(f"bench_refresh: {args.events:,} events{' (+ doubled)' if args.double else ''}, "
        f"{os.cpu_count()} cores")
    with scratch_database(args.admin_url) as url:
        say(f"database {url.rsplit('/', 1)[1]}")
        db = Database.connect(url)
        try:
            with psycopg.connect(url) as conn:
                print("server: " + ", ".join(
                    f"{name}={conn.execute(f'SHOW {name}').fetchone()[0]}"  # type: ignore[index]
                    for name in ("server_version", "shared_buffers", "work_mem",
                                 "max_parallel_workers_per_gather", "max_wal_size")))
                conn.execute(CREATE_BASELINE)
                conn.commit()
            with db.sessions() as session:
                workspace, _ = create_workspace(session, "bench refresh", "UTC")
            ws = workspace.id
            end = datetime.now(UTC).replace(microsecond=0)

            generate(db, url, ws, args.events, args.seed, end)
            first = Figures("N", args.events, [], [])
            first.baseline.append(run_baseline(url, ws))
            first.full.append(run_full(db, ws, "cold: empty rollups"))
            ok &= check(url, ws)
            first.baseline.append(run_baseline(url, ws))
            first.full.append(run_full(db, ws, "warm: rollups populated"))
            say(f"ratios full/baseline: cold {first.full[0] / first.baseline[0]:.2f}x, "
                f"warm {first.full[1] / first.baseline[1]:.2f}x (target <= 1.5x); "
                f"peak RSS {max_rss_mb():.0f} MB")
            say(f"rollups: {rollup_sizes(url)}")
            first.incremental, first.new_events, first.ingest = run_incremental(
                db, url, ws, rng, "bench-inc1", first.full[0])
            figures.append(first)
            if args.explain:
                explain(db, ws)
                explain_incremental(db, url, ws, rng, "bench-explain1", first.full[0])

            if args.double:
                generate(db, url, ws, args.events, args.seed + 1, end)
                second = Figures("2N (doubled)", 2 * args.events + first.new_events, [], [])
                second.full.append(run_full(db, ws, "doubled base"))
                second.baseline.append(run_baseline(url, ws))
                ok &= check(url, ws)
                say(f"ratio full/baseline on the doubled base: "
                    f"{second.full[0] / second.baseline[0]:.2f}x")
                say(f"rollups: {rollup_sizes(url)}")
                second.incremental, second.new_events, second.ingest = run_incremental(
                    db, url, ws, rng, "bench-inc2", second.full[0])
                figures.append(second)
                if args.explain:
                    explain_incremental(db, url, ws, rng, "bench-explain2", second.full[0])
        finally:
            db.engine.dispose()
    report(figures)
    print(f"bench process lifetime peak RSS (ru_maxrss): {max_rss_mb():.0f} MB")
    if not ok:
        print("FAILED CHECK: rollups differ from the baseline's daily counts")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
