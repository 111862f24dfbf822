"""Full and incremental refresh of a workspace's rollups.

Invariant: the rollups hold exactly the contributions of every event with
``id <= refresh_state.watermark``. A refresh moves the watermark forward atomically:

* The new watermark is read under the workspace's ingest lock, so no batch is half
  written: every event of the workspace with a smaller id is committed, and any later
  one gets a larger id (the id sequence only grows).
* Refreshes of one workspace take turns on a session advisory lock, and each runs in one
  REPEATABLE READ transaction begun after that lock and after the watermark: running two
  at once, or re-running one, leaves the same rollups.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from ..db import Database
from ..engagement.reasons import reason_ids
from ..engagement.rules import Rules, load_rules
from ..jobs.context import JobContext
from ..locks import lock_ingest, refreshing
from ..models import (
    BounceReasonBucket,
    Campaign,
    CampaignBucket,
    CampaignLeads,
    DeliveryBucket,
    RefreshState,
    ReplyCorrection,
)
from .contributions import (
    CORRECTIONS,
    FILL_SCOPE_EVENTS,
    PACKED_BELOW,
    ROLLUP_TABLES,
    SCOPE,
    WORKSPACE,
    Source,
    Verdicts,
    apply_sql,
    events_sql,
    judge_clients_sql,
    merge_sql,
)

log = logging.getLogger(__name__)

ROLLUPS = (CampaignBucket, DeliveryBucket, BounceReasonBucket, CampaignLeads)
# Aggregating millions of events in memory instead of in temp files on disk.
WORK_MEM = "256MB"
PLAN_SETTINGS = ("enable_nestloop", "enable_sort")
# No JIT anywhere in a refresh: the cost penalty of PLAN_SETTINGS would make PostgreSQL
# compile every aggregation, seconds of work even for ten events, and the statements that
# gather an increment's events by index are estimated high enough to be compiled with
# inlining and optimization (about 0.2 s of a 2 s increment at 10M events).
NO_JIT = "SET LOCAL jit = off"
# Except for the statement that rebuilds a large workspace: compiling it takes about 3.5 s
# and saves about a tenth of a refresh that is mostly expression evaluation and tuple
# deforming (113 against 124 s at 10M events, 3.6M messages); below about a million
# messages the compilation would cost more than it saves.
JIT_FROM_MESSAGES = 1_000_000


class RefreshMode(StrEnum):
    INCREMENTAL = "incremental"
    FULL = "full"


@dataclass(frozen=True)
class RefreshResult:
    mode: RefreshMode
    watermark: int
    as_of: datetime
    new_events: int  # events between the previous watermark and this one

    def as_dict(self) -> dict[str, object]:
        """The job's result. The watermark stays internal: an id of the shared event
        sequence would tell a workspace how much every workspace ingests."""
        return {"mode": self.mode.value, "as_of": self.as_of.isoformat(),
                "new_events": self.new_events}


def refresh(
    db: Database, workspace_id: str, mode: RefreshMode,
    campaign_ids: Iterable[str] | None = None,
) -> RefreshResult:
    """Bring the rollups up to date; ``campaign_ids`` limits a full rebuild to them."""
    campaigns = sorted(set(campaign_ids or ()))
    rules = load_rules()
    with db.engine.connect() as conn, refreshing(conn, workspace_id):
        watermark, as_of = _safe_watermark(conn, workspace_id)
        conn.commit()  # the ingest lock, held no longer than reading the watermark
        numbers = reason_ids(conn, rules)
        conn.commit()
        tx = conn.execution_options(isolation_level="REPEATABLE READ")
        with tx.begin():
            tx.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
            tx.execute(text(NO_JIT))
            result = _run(tx, workspace_id, mode, campaigns, watermark, as_of,
                          Verdicts(numbers), rules)
    log.info("refresh %s of workspace %s: %d new events, watermark %d",
             mode.value, workspace_id, result.new_events, result.watermark)
    return result


def _safe_watermark(conn: Connection, workspace_id: str) -> tuple[int, datetime]:
    """The newest id no in-flight batch of this workspace can undercut, and its instant."""
    lock_ingest(conn, workspace_id)
    row = conn.execute(text(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS watermark, "
        "clock_timestamp() AS as_of FROM email_events_id_seq")).one()
    return int(row.watermark), row.as_of


def _run(
    conn: Connection, workspace_id: str, mode: RefreshMode, campaigns: list[str],
    watermark: int, as_of: datetime, verdicts: Verdicts, rules: Rules,
) -> RefreshResult:
    state = conn.execute(select(RefreshState).where(
        RefreshState.workspace_id == workspace_id)).one_or_none()
    previous = state.watermark if state is not None else 0
    verdicts = replace(verdicts, packed=max(watermark, previous) < PACKED_BELOW)
    # Rollups and verdicts made under other engagement rules are re-made whole: history is
    # re-classified, and an increment never mixes the two rule sets.
    same_rules = state is not None and state.engagement_rules == rules.fingerprint
    if mode is RefreshMode.FULL and campaigns and same_rules:
        assert state is not None
        # A partial rebuild keeps the workspace's watermark: other campaigns stay as they are.
        _rebuild_campaigns(conn, workspace_id, campaigns, previous, verdicts, rules)
        conn.execute(update(RefreshState).where(RefreshState.workspace_id == workspace_id)
                     .values(refreshed_at=func.clock_timestamp()))
        return RefreshResult(mode, previous, state.as_of, 0)
    watermark = max(watermark, previous)
    new_events = _count_events(conn, workspace_id, previous, watermark)
    if mode is RefreshMode.FULL or not same_rules:
        _rebuild(conn, workspace_id, watermark, verdicts, rules,
                 judged=previous if same_rules else None,
                 stored=previous if state is not None else None)
        _save_state(conn, workspace_id, watermark, as_of, rules, full=True)
        return RefreshResult(RefreshMode.FULL, watermark, as_of, new_events)
    assert state is not None
    _advance(conn, workspace_id, previous, watermark, verdicts, rules)
    _save_state(conn, workspace_id, watermark, max(as_of, state.as_of), rules, full=False)
    return RefreshResult(mode, watermark, max(as_of, state.as_of), new_events)


def _rebuild(conn: Connection, workspace_id: str, watermark: int, verdicts: Verdicts,
             rules: Rules, *, judged: int | None, stored: int | None) -> None:
    """Empty rollups are filled directly; populated ones (the nightly case) are computed
    into temporary tables and merged, so unchanged rows are not rewritten. Verdicts up to
    watermark ``judged`` are current (each refresh stored those of the messages it
    touched), so only messages with later events are stored again, and none when there
    are none; ``None`` (new rules): every verdict is made again, and only those the rules
    change are written. Verdicts are stored up to watermark ``stored``, under these rules
    or others; ``None``: none is (a first refresh: verdicts are only ever stored with the
    state, and go with their events), and every one is inserted."""
    # Reclassifications are already in the replies this snapshot reads.
    conn.execute(delete(ReplyCorrection).where(ReplyCorrection.workspace_id == workspace_id))
    changes = None if judged == watermark else replace(
        verdicts, since_judged=judged is not None, stored=stored is not None)
    params = {"ws": workspace_id, "new": watermark, "judged": judged or 0,
              "stored": stored or 0}
    _judge_clients(conn, WORKSPACE, rules, params)
    contributions = events_sql(WORKSPACE, rules, since=False)
    populated = conn.execute(select(CampaignBucket.campaign_id).where(
        CampaignBucket.workspace_id == workspace_id).limit(1)).first()
    own = {"ws": workspace_id, "campaigns": list(conn.scalars(
        select(Campaign.id).where(Campaign.workspace_id == workspace_id)))}
    jit = jit_pays(conn, workspace_id)
    if populated is None:  # rows of campaigns whose messages have all gone
        _delete_rollups(conn, workspace_id, own["campaigns"])
        _aggregate(conn, apply_sql(contributions, upsert=False, verdicts=changes), params,
                   jit=jit)
        return
    for table, _, _ in ROLLUP_TABLES:
        conn.execute(text(f"CREATE TEMP TABLE fresh_{table} (LIKE {table}) ON COMMIT DROP"))
    _aggregate(conn, apply_sql(contributions, upsert=False, prefix="fresh_",
                               verdicts=changes), params, jit=jit)
    for table, key, values in ROLLUP_TABLES:
        for statement in merge_sql(table, key, values):
            _aggregate(conn, statement, own)


def _rebuild_campaigns(
    conn: Connection, workspace_id: str, campaigns: list[str], watermark: int,
    verdicts: Verdicts, rules: Rules,
) -> None:
    """Rebuild some campaigns' rollups as of the current watermark."""
    _apply_corrections(conn, workspace_id, watermark)
    _delete_rollups(conn, workspace_id, campaigns)
    _fill_scope(conn, workspace_id, CAMPAIGNS, {"campaigns": campaigns})
    _aggregate_scope(conn, workspace_id, watermark, None, verdicts, rules)


def _delete_rollups(conn: Connection, workspace_id: str, campaigns: list[str]) -> None:
    """By the campaigns' ids, which every rollup key leads with or follows the workspace
    with."""
    for table in ROLLUPS:
        conn.execute(delete(table).where(table.workspace_id == workspace_id,
                                         table.campaign_id.in_(campaigns)))


def _advance(
    conn: Connection, workspace_id: str, previous: int, watermark: int, verdicts: Verdicts,
    rules: Rules,
) -> None:
    """Add what the events in (previous, watermark] change, message by message."""
    _apply_corrections(conn, workspace_id, previous)
    if watermark == previous:
        return
    _fill_scope(conn, workspace_id, TOUCHED, {"old": previous, "new": watermark})
    _aggregate_scope(conn, workspace_id, watermark, previous, verdicts, rules)


def _apply_corrections(conn: Connection, workspace_id: str, watermark: int) -> None:
    conn.execute(text(apply_sql(CORRECTIONS, upsert=True)), {"ws": workspace_id, "old": watermark})


# The messages of a scoped refresh (each source: the ``context`` column, then the FROM
# clause): those the new events name (by the id index, then one index lookup each), with,
# as context, the other messages of their leads (by the lead index): a lead's class in
# ``rollup_campaign_leads`` depends on all its messages, and their ``sent`` and ``failed``
# events are all that is read of them (they have no new event, so the rest of what they
# contribute is the same as of both watermarks and cancels out). Or every message of some
# campaigns.
TOUCHED = """m.context
FROM (
    WITH named AS MATERIALIZED (
        SELECT m.*
        FROM (SELECT DISTINCT message_id FROM email_events
              WHERE id > :old AND id <= :new AND workspace_id = :ws) t
        CROSS JOIN LATERAL (SELECT * FROM messages m
                            WHERE m.workspace_id = :ws AND m.message_id = t.message_id
                            OFFSET 0) m
    )
    SELECT *, false AS context FROM named
    UNION ALL
    SELECT s.*, true
    FROM (SELECT DISTINCT campaign_id, lead_id FROM named WHERE lead_id IS NOT NULL) l
    CROSS JOIN LATERAL (SELECT * FROM messages s
                        WHERE s.lead_id = l.lead_id AND s.campaign_id = l.campaign_id
                          AND s.workspace_id = :ws OFFSET 0) s
    WHERE s.message_id NOT IN (SELECT message_id FROM named)
) m
"""
CAMPAIGNS = ("false AS context "
             "FROM messages m WHERE m.workspace_id = :ws AND m.campaign_id = ANY(:campaigns)")


def _fill_scope(
    conn: Connection, workspace_id: str, source: str, params: dict[str, object]
) -> None:
    """The messages a scoped refresh recomputes, each with ``context`` (there only for its
    lead's counts, see ``TOUCHED``); a message the events name but that was never sent or
    failed contributes nothing (SPEC §11.18)."""
    conn.execute(text(
        "CREATE TEMP TABLE refresh_scope ON COMMIT DROP AS "
        "SELECT m.message_id, m.campaign_id, coalesce(m.account_id, '') AS account_id, "
        f"m.mailbox_provider AS provider, m.lead_id, {source}"),
        {"ws": workspace_id, **params})
    conn.execute(text("ANALYZE refresh_scope"))


def _aggregate_scope(
    conn: Connection, workspace_id: str, new: int, old: int | None, verdicts: Verdicts,
    rules: Rules,
) -> None:
    """Gather the scope's events by index, then add what changed since ``old`` (None: the
    scope's rollups were emptied), and store the scope's verdicts."""
    params = {"ws": workspace_id, "new": new}
    conn.execute(text(FILL_SCOPE_EVENTS), params)
    conn.execute(text("ANALYZE refresh_events"))
    _judge_clients(conn, SCOPE, rules, params)
    since = old is not None
    # Verdicts are stored up to the previous watermark (``old``), or all (``new``): a
    # campaign rebuild re-reads only events some refresh read.
    _aggregate(conn, apply_sql(events_sql(SCOPE, rules, since=since), upsert=since,
                               verdicts=verdicts),
               {**params, "old": old, "stored": old} if since else {**params, "stored": new})


def _judge_clients(conn: Connection, source: Source, rules: Rules,
                   params: dict[str, object]) -> None:
    conn.execute(text(judge_clients_sql(source, rules)), params)
    conn.execute(text("ANALYZE refresh_clients"))


def jit_pays(conn: Connection, workspace_id: str) -> bool:
    """Whether the workspace has ``JIT_FROM_MESSAGES`` messages (counted no further)."""
    return conn.execute(text(
        "SELECT count(*) FROM (SELECT 1 FROM messages WHERE workspace_id = :ws LIMIT :n) m"),
        {"ws": workspace_id, "n": JIT_FROM_MESSAGES}).scalar_one() >= JIT_FROM_MESSAGES


def _aggregate(conn: Connection, sql: str, params: dict[str, object], *,
               jit: bool = False) -> None:
    """Hash joins and hash aggregates only: with a new workspace's stale statistics a
    nested loop over millions of rows could be chosen and run for hours, and sorting the
    facts on their text keys costs more than hashing them."""
    # (setting, its value for the statement, its value after)
    settings = [(name, "off", "on") for name in PLAN_SETTINGS] + (
        [("jit", "on", "off")] if jit else [])
    for name, during, _ in settings:
        conn.execute(text(f"SET LOCAL {name} = {during}"))
    conn.execute(text(sql), params)
    for name, _, after in settings:
        conn.execute(text(f"SET LOCAL {name} = {after}"))


def _count_events(conn: Connection, workspace_id: str, old: int, new: int) -> int:
    return int(conn.execute(text(
        "SELECT count(*) FROM email_events WHERE id > :old AND id <= :new "
        "AND workspace_id = :ws"), {"ws": workspace_id, "old": old, "new": new}).scalar_one())


def _save_state(
    conn: Connection, workspace_id: str, watermark: int, as_of: datetime, rules: Rules, *,
    full: bool,
) -> None:
    values: dict[str, object] = {"workspace_id": workspace_id, "watermark": watermark,
                                 "as_of": as_of, "refreshed_at": func.clock_timestamp(),
                                 "engagement_rules": rules.fingerprint}
    if full:
        values["full_refreshed_at"] = as_of
    statement = insert(RefreshState).values(**values)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[RefreshState.workspace_id],
        set_={key: statement.excluded[key] for key in values if key != "workspace_id"}))


def refresh_job(ctx: JobContext) -> dict[str, object]:
    """The ``refresh`` job: params ``mode`` and optional ``campaign_ids``."""
    assert ctx.workspace_id is not None, "a refresh belongs to a workspace"
    result = refresh(ctx.db, ctx.workspace_id, RefreshMode(ctx.params["mode"]),
                     ctx.params.get("campaign_ids"))
    return result.as_dict()
