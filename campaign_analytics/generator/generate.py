"""``generate_dataset``: a realistic, reproducible data set written through COPY.

All of it is one transaction. A crash, a kill or Ctrl-C at any point rolls everything back
(the server discards the open transaction when the connection drops), so a workspace holds a
seed's whole data set or none of it, and the same command can simply be run again. Only
identity and sequence numbers consumed by the lost rows stay used.

Memory stays flat: leads are simulated one at a time into batches of ``BATCH_ROWS``
rows; a writer thread copies one batch while the next is simulated (the
server works on one core while Python works on the other), and at most two batches exist.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import errors

from ..db import Database
from ..errors import ValidationFailed
from ..workspaces import get_workspace
from .clock import DAY, LocalCalendar, UtcText, to_datetime, to_instant
from .identifiers import MAX_SEED, GeneratedIds
from .model import LOOKAHEAD_DAYS, SPAN_DAYS, DayPlan, Plan, make_plan
from .schedule import LeadQuota, events_per_lead
from .simulate import LeadRecord, LeadSimulator
from .writer import Batch, CopyWriter, RowFormatter

BATCH_ROWS = 75_000  # lines of all tables (about 50,000 events): a few MB of text
ORPHAN_SHARE = 0.005  # events whose message's ``sent`` never arrives
MAX_EVENTS = 1_000_000_000
TAIL_ATTEMPTS = 50  # leads skipped (too many events) before orphans make up the rest
PLANNING_DAYS = 5  # local days before the span: campaigns are created before they send


@dataclass
class GenerateReport:
    """What was written: rows per table, events per type, and how long it took."""

    workspace_id: str
    seed: int
    start: datetime
    end: datetime
    rows: dict[str, int]
    events_by_type: dict[str, int]
    orphan_events: int
    elapsed_seconds: float

    @property
    def events(self) -> int:
        return self.rows["email_events"]

    @property
    def events_per_second(self) -> float:
        return self.events / self.elapsed_seconds if self.elapsed_seconds else 0.0


@dataclass
class _Totals:
    rows: dict[str, int] = field(default_factory=dict)
    events_by_type: dict[str, int] = field(default_factory=dict)
    orphans: int = 0

    def add(self, batch: Batch) -> None:
        for table, lines in batch.lines.items():
            self.rows[table] = self.rows.get(table, 0) + len(lines)
        for kind, count in batch.events_by_type.items():
            self.events_by_type[str(kind)] = self.events_by_type.get(str(kind), 0) + count
        self.orphans += batch.orphans


def generate_dataset(
    db: Database,
    workspace_id: str,
    events: int,
    seed: int = 1,
    *,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerateReport:
    """Write a data set of exactly ``events`` email events (plus campaigns, accounts, leads,
    messages, replies and suppressions) covering the 120 days before ``end`` (default now,
    UTC; a naive datetime is UTC). The same seed, ``end`` and workspace timezone give the
    same data. ``progress`` receives the number of events written so far.

    Raises ``WorkspaceNotFound``, or ``ValidationFailed`` for bad arguments and for a seed
    already generated into this workspace.
    """
    _validate(events, seed)
    started = time.perf_counter()
    with db.sessions() as session:
        timezone = get_workspace(session, workspace_id).timezone
    ids = GeneratedIds(workspace_id, seed)
    end_instant = to_instant(end or datetime.now(UTC))
    rng = random.Random(seed)
    plan = make_plan(rng, ids, _calendar(timezone, end_instant), end_instant, events)
    utc = UtcText(end_instant - (SPAN_DAYS + 90) * DAY, end_instant)
    simulator = LeadSimulator(rng, ids, plan)
    batches = _batches(simulator, RowFormatter(ids, utc), plan, events)
    totals = _write(db, ids, plan, utc, batches, progress)
    return GenerateReport(
        workspace_id=workspace_id,
        seed=seed,
        start=to_datetime(plan.start),
        end=to_datetime(end_instant),
        rows=totals.rows,
        events_by_type=totals.events_by_type,
        orphan_events=totals.orphans,
        elapsed_seconds=time.perf_counter() - started,
    )


def _validate(events: int, seed: int) -> None:
    problems: dict[str, list[str]] = {}
    if not 1 <= events <= MAX_EVENTS:
        problems["events"] = [f"must be between 1 and {MAX_EVENTS:,}"]
    if not 0 <= seed <= MAX_SEED:
        problems["seed"] = [f"must be between 0 and {MAX_SEED}"]
    if problems:
        raise ValidationFailed("Invalid generate parameters", problems)


def _calendar(timezone: str, end: int) -> LocalCalendar:
    local_end = datetime.fromtimestamp(end, ZoneInfo(timezone)).date()
    first = local_end - timedelta(days=SPAN_DAYS + PLANNING_DAYS)
    return LocalCalendar(ZoneInfo(timezone), first, SPAN_DAYS + PLANNING_DAYS + LOOKAHEAD_DAYS)


class _Stream:
    """Simulated leads into batches, with orphan events mixed in, up to exactly ``target``
    events: a lead with more events than are missing is skipped."""

    def __init__(self, simulator: LeadSimulator, formatter: RowFormatter, target: int) -> None:
        self.simulator, self.formatter, self.target = simulator, formatter, target
        self.batch = Batch()
        self.written = 0
        self.orphan_debt = 0.0
        self.skipped = 0
        self.last: LeadRecord | None = None

    @property
    def missing(self) -> int:
        return self.target - self.written

    def offer(self, lead: LeadRecord) -> Batch | None:
        """Adds the lead if it fits; returns a batch when one is full."""
        self.last = lead
        count = lead.event_count
        if count > self.missing:
            self.skipped += 1
            return None
        self.formatter.add_lead(self.batch, lead)
        self.written += count
        self.orphan_debt += count * ORPHAN_SHARE
        while self.orphan_debt >= 1 and self.missing:
            self._orphan(lead)
            self.orphan_debt -= 1
        if self.batch.rows < BATCH_ROWS:
            return None
        full, self.batch = self.batch, Batch()
        return full

    def leads(self, day: DayPlan, count: int) -> Iterator[Batch]:
        """Offers ``count`` leads due on ``day``; yields the batches they fill."""
        for _ in range(count):
            if full := self.offer(self.simulator.lead(day)):
                yield full

    def fill_with_orphans(self) -> None:
        while self.missing and self.last is not None:
            self._orphan(self.last)

    def _orphan(self, near: LeadRecord) -> None:
        self.formatter.add_orphan(self.batch, self.simulator.orphan(near))
        self.written += 1


def _batches(
    simulator: LeadSimulator, formatter: RowFormatter, plan: Plan, target: int
) -> Iterator[Batch]:
    """Leads day after day, each day's quota set by the events still missing (leads due
    after ``end`` along the last days); then a few leads on random days, or orphans, for the
    last events."""
    per_lead = events_per_lead(plan, simulator.ids)
    quota = LeadQuota(plan, tuple(mean * (1 + ORPHAN_SHARE) for mean in per_lead), target)
    stream = _Stream(simulator, formatter, target)
    for index, day in enumerate(quota.days):
        yield from stream.leads(day, quota.leads_on(index, stream.missing))
        if (future := quota.future_day_with(index)) is not None:
            yield from stream.leads(future, quota.future_leads(future))
    while stream.missing and stream.skipped < TAIL_ATTEMPTS:
        yield from stream.leads(quota.any_day(simulator.rng), 1)
    stream.fill_with_orphans()
    yield stream.batch


def _write(
    db: Database,
    ids: GeneratedIds,
    plan: Plan,
    utc: UtcText,
    batches: Iterator[Batch],
    progress: Callable[[int], None] | None,
) -> _Totals:
    """Everything in one transaction on a raw psycopg connection from the pool."""
    raw = db.engine.raw_connection()
    try:
        conn: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        try:
            _refuse_a_second_run(conn, ids, plan)
            writer = CopyWriter(conn, ids.workspace_id)
            writer.write_parents(plan.campaigns, plan.accounts, utc)
            totals = _stream(writer, batches, progress)
            totals.rows["suppressions"] = writer.merge_suppressions()
            totals.rows["campaigns"] = len(plan.campaigns)
            totals.rows["sending_accounts"] = len(plan.accounts)
            conn.commit()
        except BaseException as exc:
            _rollback(conn)
            if isinstance(exc, errors.UniqueViolation):
                raise _already_generated(ids, str(exc.diag.constraint_name)) from exc
            raise
    finally:
        raw.close()
    return totals


def _stream(
    writer: CopyWriter, batches: Iterator[Batch], progress: Callable[[int], None] | None
) -> _Totals:
    """Simulates the next batch here while a worker thread copies the previous one."""
    totals = _Totals()
    copied = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="generator-copy") as pool:
        pending: tuple[Future[None], int] | None = None
        for batch in batches:
            if pending is not None:
                copied = _finished(pending, copied, progress)
            totals.add(batch)
            pending = (pool.submit(writer.write_batch, batch), batch.events)
        if pending is not None:
            _finished(pending, copied, progress)
    return totals


def _finished(
    pending: tuple[Future[None], int], copied: int, progress: Callable[[int], None] | None
) -> int:
    future, events = pending
    future.result()
    copied += events
    if progress is not None:
        progress(copied)
    return copied


def _refuse_a_second_run(conn: psycopg.Connection[Any], ids: GeneratedIds, plan: Plan) -> None:
    """A seed's rows exist at most once per workspace. The advisory lock makes a concurrent
    run with the same seed wait for this one, then see its rows and stop. Like every writer
    of events it also holds the workspace's ingest lock (``locks.lock_ingest``), so a
    refresh never reads a watermark beyond events still being written."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
        (f"generate:{ids.workspace_id}:{ids.seed}",),
    )
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('ingest:' || %s))",
                 (ids.workspace_id,))
    found = conn.execute(
        "SELECT 1 FROM campaigns WHERE id = ANY(%s) LIMIT 1", ([c.id for c in plan.campaigns],)
    ).fetchone()
    if found is not None:
        raise _already_generated(ids)


def _already_generated(ids: GeneratedIds, constraint: str | None = None) -> ValidationFailed:
    clash = f" (conflict on {constraint})" if constraint else ""
    return ValidationFailed(
        f"Workspace {ids.workspace_id} already holds data generated with seed {ids.seed}"
        f"{clash}; choose another seed",
        {"seed": ["already generated in this workspace"]},
    )


def _rollback(conn: psycopg.Connection[Any]) -> None:
    """Best effort: a broken connection has already lost the transaction server-side."""
    with contextlib.suppress(psycopg.Error):
        conn.rollback()
