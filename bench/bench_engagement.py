"""Engagement classification: full and incremental ``refresh`` that judges every open and
click (machine opens and bot clicks, since 62a15f8: this tree's code) beside the same refresh
without it (74e6f67, the commit before), on two copies of one database, in one run.

    .venv/bin/python bench/bench_engagement.py                   # 10,000,000 events (> 35 min
                                                                 # at load 2-4: 18 to generate)
    .venv/bin/python bench/bench_engagement.py --events 1000000  # about 7 min
    .venv/bin/python bench/bench_engagement.py --events 200000   # smoke test, about 3 min
    .venv/bin/python bench/bench_engagement.py --events 1000000 --rules-change --explain

The old code is a separate work tree of 74e6f67 (``/tmp/ca-before``, created with ``git
worktree add --detach`` when missing and left in place) with ``engagement_old.patch``
applied: the refresh changes made since that are not about judging (no JIT but for the
rebuild statement of a workspace of a million messages or more; leads counted per campaign,
an increment's scope with every message of the leads it touches; delivery rows inserted in
key order; an increment's rows that add nothing skipped; facts naming their counters as
bits, a send's fact adding to its slots too, unnested from arrays; ``fine``'s counters cast
to ``integer``), so the ratio measures judging alone; for the same reason A's rollup tables
lose their foreign keys and gain ``rollup_campaign_leads`` as B's do (migrations 0012 and
0013). Left out: the new code joins events to their messages once for four uses (measured
no faster: 169.1 against 168.9 s of one first full refresh at 10M events). Each step runs
in a fresh child process of this file (``--worker``): ``.venv/bin/python`` with
``PYTHONPATH`` and the working directory set to the tree of its code (the old work tree, or
this repository; this repository's ``cli`` first, which ``bench/_common.py`` imports from),
which times the call and prints its seconds, load average and peak RSS as JSON. Old and
new take turns (which one goes first alternates from step to step), each after a
``CHECKPOINT``.

* **A** (``ca_bench_<hex>``): migrated (up to 0003) and filled by the old code: one
  workspace, ``generate_dataset`` of N events (the generator did not change), ``VACUUM
  ANALYZE`` + ``CHECKPOINT``.
* **B** = ``CREATE DATABASE … TEMPLATE A``, migrated to head by the new code (0004: the
  events' ``http_method``, the human and machine counters, ``event_verdicts``). A and B are
  dropped at the end, even on failure; no other database is touched.
* **full, empty rollups** — ``refresh(FULL)``: old on A; new on B, which also classifies
  history and writes every verdict (``refresh_state`` has no rules version yet: the first
  refresh of a workspace, or the first after the deploy). Twice (old first, then new
  first): before the second, both sides' rollups, refresh state and verdicts are truncated
  and vacuumed; one run decides nothing on a shared machine (at 10M the same code's first
  full took 110.4 s in one run and 91.5 s in the next), so the report gives the average.
* **full, populated rollups** — after ``VACUUM ANALYZE`` of the rollups (as autovacuum
  would have done by the next night), again on each, twice (old first, then new first):
  **the nightly case in steady state** (the new code stores no verdict again: only those
  of messages with events since the last refresh, none here; both merge and write only
  changed rows).
* ``--rules-change``: **full, after a rules change** — B's ``refresh_state.engagement_rules``
  set to another version, so the new full refresh re-classifies history on populated rollups
  (deletes and re-writes every verdict), as the first nightly after an edit of
  ``rules.toml``; old again on A (its third nightly). Off by default: at 10M it adds about
  6 minutes.
* **incremental** — the same 10,000 new events (``bench_refresh.new_events``, drawn from B)
  ingested by each side's own ``ingest_batch``, then ``refresh(INCREMENTAL)`` on each.

Target (issue 9): new ≤ 1.2x old. Prints per step the old and new seconds, the ratio, the
CPU seconds of the server processes that served each refresh (read from ``/proc`` through
``psutil``: the server runs on this machine) and their ratio, which other work on a shared
machine slows down but does not add to, the 1-minute load average before and after each
run and each child's peak RSS; then B's
``event_verdicts`` (rows, size, the verdicts of opens and clicks), both sides' rollup sizes,
and a check that every counter both versions have sums the same in A and B. ``--explain``
runs one more nightly full refresh on each side at the end with every statement it runs
(the aggregation, then the merges) under ``EXPLAIN (ANALYZE, BUFFERS)``, plans printed.
Each child reports the commit of the code it ran: the report says if the tree moved.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import psycopg
from _common import (
    ROOT,
    default_admin_url,
    generate,
    max_rss_mb,
    peak_rss_mb,
    say,
    scratch_database,
    sigterm_as_exit,
    timed,
    with_database,
)
from sqlalchemy import make_url

OLD_COMMIT = "74e6f67"
OLD_TREE = Path("/tmp/ca-before")
# What the new code changed in every refresh rather than in judging, given to the old code
# too, so the ratio is judging's cost alone (this patch, applied to the old work tree): no
# JIT in the refresh transaction but for the statement that rebuilds a workspace of a
# million messages or more; leads counted per campaign (migration 0013's table, made on A
# once B is made from it), an increment's scope with every message of the leads it
# touches; delivery rows inserted in key order, and an increment's rows that add nothing
# skipped; and rollup tables without foreign keys (migration 0012; dropped from A then too).
OLD_PATCH = Path(__file__).resolve().parent / "engagement_old.patch"
RESULT = "bench-engagement-result "  # the child's last line: this, then its result as JSON
ROLLUP_NAMES = ("rollup_campaign_buckets", "rollup_delivery_buckets", "rollup_bounce_reasons",
                "rollup_campaign_leads")
KEYED_ROLLUPS = (*ROLLUP_NAMES[:3], "rollup_lead_messages")  # A's, with foreign keys
TARGET = 1.2
EMPTY = "full, empty rollups (new: + every verdict)"
NIGHTLY = "full, populated rollups (nightly, steady state)"
RULES_CHANGE = "full, populated, after a rules change (new: re-classify)"
COMMITS: dict[str, list[str]] = {}  # side -> the commit of the code each child ran


@dataclass(frozen=True)
class Side:
    label: str  # "old" or "new"
    tree: Path  # where its campaign_analytics comes from
    url: str


@dataclass
class Run:
    seconds: float
    rss_mb: float
    load_before: float
    load_after: float
    server_cpu: float | None  # CPU seconds of the database's server processes (refresh only)


@dataclass
class Step:
    label: str
    runs: dict[str, Run]
    headline: bool = True  # a refresh the target applies to (ingestion is only shown)

    @property
    def ratio(self) -> float:
        return self.runs["new"].seconds / self.runs["old"].seconds

    @property
    def cpu_ratio(self) -> float | None:
        old, new = self.runs["old"].server_cpu, self.runs["new"].server_cpu
        return new / old if old and new is not None else None


# --- the child process ---------------------------------------------------------------------
# The project is imported inside these functions, never at the top of the module: which
# campaign_analytics a child gets is decided by its PYTHONPATH.

def worker(spec: dict[str, Any]) -> int:
    import campaign_analytics
    from campaign_analytics.db import Database

    started_load = os.getloadavg()[0]
    tree = Path(campaign_analytics.__file__).resolve().parent.parent
    out: dict[str, Any] = {"code": str(tree), "commit": commit_of(tree)}
    db = Database.connect(spec["url"])
    try:
        tasks = {"setup": _setup, "refresh": _refresh, "ingest": _ingest, "explain": _explain}
        out.update(tasks[spec["task"]](db, spec))
    finally:
        db.engine.dispose()
    out.update(rss_mb=peak_rss_mb(), load_before=started_load, load_after=os.getloadavg()[0])
    print(RESULT + json.dumps(out), flush=True)
    return 0


def commit_of(tree: Path) -> str:
    """The commit a tree's code is at, ``+changes`` when its code differs from it."""
    changed = _git(tree, "status", "--porcelain", "--", "campaign_analytics", "migrations")
    return _git(tree, "rev-parse", "--short", "HEAD") + ("+changes" if changed else "")


def _setup(db: Any, spec: dict[str, Any]) -> dict[str, Any]:
    from campaign_analytics.migrate import upgrade
    from campaign_analytics.workspaces import create_workspace

    upgrade(spec["url"])
    with db.sessions() as session:
        workspace, _ = create_workspace(session, "bench engagement", "UTC")
    generate(db, spec["url"], workspace.id, spec["events"], spec["seed"],
             datetime.fromisoformat(spec["end"]))
    return {"ws": workspace.id}


def _refresh(db: Any, spec: dict[str, Any]) -> dict[str, Any]:
    from campaign_analytics.analytics.refresh import RefreshMode, refresh

    before = server_cpu(spec["url"])
    elapsed = timed()
    result = refresh(db, spec["ws"], RefreshMode(spec["mode"]))
    seconds = elapsed()
    after = server_cpu(spec["url"])  # the pool keeps the refresh's connection open
    return {"seconds": seconds, "mode": result.mode.value, "watermark": result.watermark,
            "new_events": result.new_events,
            "server_cpu": sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())}


def server_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each server process of ``url``'s database (the server runs on
    this machine; only this child connects to it): the work a refresh makes the server do,
    which other processes keeping the cores busy slow down but do not add to."""
    with psycopg.connect(url) as conn:
        pids = [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    cpu: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            cpu[pid] = times.user + times.system
    return cpu


def _ingest(db: Any, spec: dict[str, Any]) -> dict[str, Any]:
    from campaign_analytics.ingestion.batch import ingest_batch

    events = json.loads(Path(spec["events_file"]).read_text())
    elapsed = timed()
    with db.engine.begin() as conn:
        result = ingest_batch(conn, spec["ws"], events, now=datetime.fromisoformat(spec["now"]))
    return {"seconds": elapsed(), "accepted": result.accepted,
            "rejected": [list(r) for r in result.rejected[:3]]}


def _explain(db: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """A nightly full refresh (populated rollups) with each of its statements run under
    ``EXPLAIN (ANALYZE, BUFFERS)``: refresh's own ``_aggregate`` is wrapped, so the plans are
    those of the code under test, whatever its version, and the refresh completes as usual."""
    from sqlalchemy import text

    from campaign_analytics.analytics import refresh as r

    statements: list[float] = []

    def explained(conn: Any, sql: str, params: dict[str, object], *, jit: bool = False) -> None:
        conn.execute(text(f"SET LOCAL jit = {'on' if jit else 'off'}"))
        for setting in r.PLAN_SETTINGS:
            conn.execute(text(f"SET LOCAL {setting} = off"))
        elapsed = timed()
        plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params).scalars().all()
        statements.append(elapsed())
        for setting in r.PLAN_SETTINGS:
            conn.execute(text(f"SET LOCAL {setting} = on"))
        conn.execute(text("SET LOCAL jit = off"))
        head = " ".join(line.strip() for line in sql.strip().splitlines()[:2])[:90]
        say(f"statement {len(statements)} ({statements[-1]:.1f} s under EXPLAIN): {head} …")
        print("\n".join(plan), flush=True)

    r._aggregate = explained  # type: ignore[assignment]
    elapsed = timed()
    r.refresh(db, spec["ws"], r.RefreshMode.FULL)
    return {"seconds": elapsed(), "statements": statements}


# --- the parent ----------------------------------------------------------------------------

def ensure_old_tree() -> None:
    """The old code's work tree at OLD_COMMIT (created when missing, refused at another
    commit), its tracked files reset and ``OLD_PATCH`` applied."""
    expected = _git(ROOT, "rev-parse", f"{OLD_COMMIT}^{{commit}}")
    if OLD_TREE.exists():
        head = _git(OLD_TREE, "rev-parse", "HEAD")
        if head != expected:
            raise SystemExit(f"{OLD_TREE} is at {head[:12]}, not {OLD_COMMIT}: remove it "
                             "(git worktree remove) first")
        say(f"old code: the existing work tree {OLD_TREE} (detached at {OLD_COMMIT})")
    else:
        say(f"old code: no {OLD_TREE}, creating it: "
            f"git -C {ROOT} worktree add --detach {OLD_TREE} {OLD_COMMIT}")
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(OLD_TREE),
                        OLD_COMMIT], check=True)
    _git(OLD_TREE, "checkout", "--", ".")
    _git(OLD_TREE, "apply", str(OLD_PATCH))
    say(f"old code: {OLD_PATCH.name} applied ({_git(OLD_TREE, 'diff', '--shortstat')})")


def level_rollups(url: str) -> None:
    """Migration 0012's dropped keys and 0013's table, on the old code's database."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    from campaign_analytics.models import CampaignLeads  # the new code, in this process

    with psycopg.connect(url) as conn:
        for table in KEYED_ROLLUPS:
            for column, referred in (("campaign_id", "campaigns"), ("workspace_id", "workspaces")):
                conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT fk_{table}_{column}_{referred}")
        conn.execute(str(CreateTable(CampaignLeads.__table__).compile(
            dialect=postgresql.dialect())))
    say("A: the rollup tables' foreign keys dropped and rollup_campaign_leads made, as "
        "migrations 0012 and 0013 do on B")


def _git(tree: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def in_child(side: Side, task: str, **params: Any) -> dict[str, Any]:
    """Run ``task`` in a child process on ``side``'s code and database; its output is shown
    as it comes, prefixed with the side; returns the child's JSON result."""
    spec = json.dumps({"task": task, "url": side.url, **params})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cli_shim()), str(side.tree)])}
    child = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", spec],
                             cwd=side.tree, env=env, stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] | None = None
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith(RESULT):
                result = json.loads(line[len(RESULT):])
            else:
                print(f"    {side.label}| {line}", end="", flush=True)
        code = child.wait()
    finally:
        if child.poll() is None:  # we are unwinding (SIGTERM, Ctrl-C): stop our own child
            child.terminate()
            child.wait(timeout=30)
    if code != 0 or result is None:
        raise RuntimeError(f"{side.label} {task}: the child exited with {code}")
    if result["code"] != str(side.tree.resolve()):
        raise RuntimeError(f"{side.label} ran campaign_analytics from {result['code']}, "
                           f"not {side.tree}")
    COMMITS.setdefault(side.label, []).append(result["commit"])
    return result


def cli_shim() -> Path:
    """A folder holding only this repository's ``cli``: ``bench/_common.py`` imports
    ``cli.processes``, whose old version lacks what it needs; ``campaign_analytics`` still
    comes from the side's own tree."""
    shim = Path(tempfile.gettempdir()) / f"ca-bench-cli-{os.getuid()}"
    shim.mkdir(exist_ok=True)
    if not (shim / "cli").exists():
        (shim / "cli").symlink_to(ROOT / "cli")
    return shim


def settle(admin_url: str) -> None:
    """A CHECKPOINT, so one side's dirty pages are not written during the other's run."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        try:
            conn.execute("CHECKPOINT")
        except psycopg.Error as exc:
            say(f"CHECKPOINT not allowed ({exc}); going on without")


def compare(admin_url: str, label: str, sides: list[Side], task: str, *, headline: bool = True,
            **params: Any) -> tuple[Step, dict[str, dict[str, Any]]]:
    """The same task on each side in turn; the step's runs and the children's results."""
    runs: dict[str, Run] = {}
    results: dict[str, dict[str, Any]] = {}
    for side in sides:
        settle(admin_url)
        say(f"{label}: {side.label} code on {make_url(side.url).database} ...")
        result = in_child(side, task, **params)
        if task == "refresh" and result["mode"] != params["mode"]:
            raise RuntimeError(f"{side.label}: asked for {params['mode']}, "
                               f"refresh ran {result['mode']}")
        runs[side.label] = Run(result["seconds"], result["rss_mb"], result["load_before"],
                               result["load_after"], result.get("server_cpu"))
        results[side.label] = result
        cpu = runs[side.label].server_cpu
        say(f"{label}: {side.label} {result['seconds']:.2f} s"
            + (f", server CPU {cpu:.2f} s" if cpu is not None else "")
            + f" (load {result['load_before']:.2f} -> {result['load_after']:.2f}, "
              f"child peak RSS {result['rss_mb']:.0f} MB)")
    step = Step(label, runs, headline)
    say(f"{label}: new/old = {step.ratio:.2f}x"
        + (f", server CPU {step.cpu_ratio:.2f}x" if step.cpu_ratio is not None else ""))
    return step, results


@contextmanager
def template_copy(admin_url: str, template_url: str) -> Iterator[str]:
    """``CREATE DATABASE ca_bench_<hex> TEMPLATE <template>``; yields its URL, always drops it."""
    name = f"ca_bench_{secrets.token_hex(6)}"
    template = make_url(template_url).database
    admin = with_database(admin_url, make_url(admin_url).database or "postgres")
    elapsed = timed()
    with psycopg.connect(admin, autocommit=True) as conn:
        for attempt in range(5):  # autovacuum may still be on the template
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 4:
                    raise
                time.sleep(3)
    try:
        say(f"database B {name} = copy of {template} ({elapsed():.0f} s)")
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def vacuum_rollups(url: str, *, empty: bool = False) -> None:
    """``VACUUM ANALYZE`` of what a refresh writes: the rollups, the refresh state and (B)
    the verdicts. ``empty``: truncated first, back to before the first refresh, for a second
    one with no dead row or index entry of the first in the way."""
    elapsed = timed()
    tables = [*ROLLUP_NAMES, "refresh_state"]
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('event_verdicts')").fetchone() != (None,):
            tables.append("event_verdicts")
        if empty:
            conn.execute(f"TRUNCATE {', '.join(tables)}")
        conn.execute(f"VACUUM ANALYZE {', '.join(tables)}")
    say(f"{'TRUNCATE + ' if empty else ''}VACUUM ANALYZE of the rollups on "
        f"{make_url(url).database}: {elapsed():.1f} s")


def revision(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else "none"


def bump_rules(url: str, ws: str) -> None:
    """As after an edit of rules.toml: the rollups' rules version is not the file's."""
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE refresh_state SET engagement_rules = 'bench-previous-rules' "
                     "WHERE workspace_id = %s", (ws,))


def draw_events(url: str, ws: str, seed: int, folder: str) -> tuple[str, str, int]:
    """bench_refresh's 10,000 new events, drawn from B's messages (A has the same), in a
    file each side's child ingests; with the ``now`` they are ingested at."""
    from bench_refresh import new_events  # imports the project: the parent's code is new

    now = datetime.now(UTC)
    events = new_events(url, ws, random.Random(seed), "bench-engagement", now)
    path = Path(folder) / "new_events.json"
    path.write_text(json.dumps(events))
    kinds: dict[str, int] = {}
    for event in events:
        kinds[event["type"]] = kinds.get(event["type"], 0) + 1
    say(f"{len(events):,} new events drawn (" + ", ".join(
        f"{k} {v:,}" for k, v in sorted(kinds.items())) + ")")
    return str(path), (now + timedelta(minutes=1)).isoformat(), len(events)


def verdict_figures(url: str) -> None:
    with psycopg.connect(url) as conn:
        rows, size, heap = conn.execute(
            "SELECT count(*), pg_total_relation_size('event_verdicts'), "
            "pg_relation_size('event_verdicts') FROM event_verdicts").fetchone()  # type: ignore[misc]
        say(f"event_verdicts on B: {rows:,} rows, {size / 2**20:.1f} MB with indexes "
            f"({heap / 2**20:.1f} MB heap; dead rows of the re-classification included)")
        by_type = conn.execute(
            "SELECT e.type, count(*), count(*) FILTER (WHERE r.verdict = 'machine'), "
            "count(*) FILTER (WHERE r.verdict = 'unknown') "
            "FROM event_verdicts v JOIN email_events e ON e.id = v.event_id "
            "JOIN verdict_reasons r ON r.id = v.reason_id GROUP BY 1 ORDER BY 1").fetchall()
        for kind, total, machine, unknown in by_type:
            say(f"  {kind}: {total:,} judged, {machine:,} machine = {machine / total:.1%}, "
                f"{unknown:,} unknown = {unknown / total:.1%}")
        reasons = conn.execute(
            "SELECT r.verdict, r.reason, count(*) FROM event_verdicts v "
            "JOIN verdict_reasons r ON r.id = v.reason_id GROUP BY 1, 2 ORDER BY 3 DESC"
        ).fetchall()
        say("  reasons: " + ", ".join(f"{r} ({v}) {n:,}" for v, r, n in reasons))


def rollup_sizes(url: str) -> str:
    with psycopg.connect(url) as conn:
        parts = []
        for table in ROLLUP_NAMES:
            rows, size = conn.execute(
                f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}"
            ).fetchone()  # type: ignore[misc]
            parts.append(f"{table.removeprefix('rollup_')} {rows:,} rows {size / 2**20:.0f} MB")
    return "; ".join(parts)


def same_counters(url_a: str, url_b: str) -> bool:
    """Every counter the old rollups have sums the same in A and B (and as many rows)."""
    ok = True
    for table in ROLLUP_NAMES:
        columns_sql = ("SELECT column_name FROM information_schema.columns "
                       "WHERE table_schema = 'public' AND table_name = %s "
                       "AND data_type IN ('integer', 'bigint') ORDER BY ordinal_position")
        with psycopg.connect(url_a) as a, psycopg.connect(url_b) as b:
            columns = [c for (c,) in a.execute(columns_sql, (table,)).fetchall()]
            sql = (f"SELECT count(*), {', '.join(f'sum({c})' for c in columns)} FROM {table}"
                   if columns else f"SELECT count(*) FROM {table}")
            old, new = a.execute(sql).fetchone(), b.execute(sql).fetchone()
        if old != new:
            ok = False
            differ = [name for name, x, y in zip(["rows", *columns], old or (), new or (),
                                                  strict=True) if x != y]
            say(f"MISMATCH {table}: {', '.join(differ)} differ between A and B")
    say(f"old counters in A and B (row counts and sums of {len(ROLLUP_NAMES)} rollups): "
        f"{'identical' if ok else 'DIFFERENT'}")
    return ok


def _cpu(run: Run) -> str:
    return f"{run.server_cpu:.2f}" if run.server_cpu is not None else "-"


def report(steps: list[Step]) -> None:
    if not steps:
        return
    print()
    print(f"{'step':<58}{'old s':>8}{'new s':>8}{'new/old':>9}{'CPU old':>9}{'CPU new':>9}"
          f"{'new/old':>9}{'load old':>14}{'load new':>14}{'RSS old':>9}{'RSS new':>9}")
    for step in steps:
        old, new = step.runs["old"], step.runs["new"]
        cpu_ratio = f"{step.cpu_ratio:.2f}x" if step.cpu_ratio is not None else "-"
        print(f"{step.label:<58}{old.seconds:>8.2f}{new.seconds:>8.2f}{step.ratio:>8.2f}x"
              f"{_cpu(old):>9}{_cpu(new):>9}{cpu_ratio:>9}"
              f"{old.load_before:>7.2f}->{old.load_after:<5.2f}"
              f"{new.load_before:>7.2f}->{new.load_after:<5.2f}"
              f"{old.rss_mb:>6.0f} MB{new.rss_mb:>6.0f} MB")
    print("load: 1-minute average at the start and the end of each run; RSS: the child's peak; "
          "CPU: seconds of the server processes serving the refresh")
    for side, commits in COMMITS.items():
        seen = sorted(set(commits), key=commits.index)
        print(f"{side} code: {', '.join(seen)}"
              + (" -- CHANGED DURING THE RUN: the figures mix versions" if len(seen) > 1 else ""))
    print(f"target (issue 9): new/old <= {TARGET}x; the steady-state nightly is '{NIGHTLY}'")
    for step in steps:
        if step.headline:
            cpu = f" (server CPU {step.cpu_ratio:.2f}x)" if step.cpu_ratio is not None else ""
            print(f"  {step.label}: {step.ratio:.2f}x{cpu} -> "
                  f"{'met' if step.ratio <= TARGET else 'NOT met'}")
    for name, label in (("first full", EMPTY), ("nightly", NIGHTLY)):
        _average(name, [step for step in steps if step.label.startswith(label)])


def _average(name: str, repeated: list[Step]) -> None:
    """A step run more than once, judged by its average: one run decides nothing here."""
    if not repeated:
        return
    old = sum(step.runs["old"].seconds for step in repeated)
    new = sum(step.runs["new"].seconds for step in repeated)
    old_cpu = sum(step.runs["old"].server_cpu or 0 for step in repeated)
    new_cpu = sum(step.runs["new"].server_cpu or 0 for step in repeated)
    cpu = f", server CPU {new_cpu / old_cpu:.2f}x" if old_cpu else ""
    print(f"{name}, {len(repeated)} runs each side: old {old / len(repeated):.2f} s, new "
          f"{new / len(repeated):.2f} s on average = {new / old:.2f}x{cpu} -> "
          f"{'met' if new / old <= TARGET else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-url", default=default_admin_url())
    parser.add_argument("--rules-change", action="store_true",
                        help="also a full refresh after a change of the rules (re-classify)")
    parser.add_argument("--explain", action="store_true",
                        help="at the end, a nightly refresh on each side under EXPLAIN ANALYZE")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # a child's step, as JSON
    args = parser.parse_args(argv)
    if args.worker:
        return worker(json.loads(args.worker))
    sigterm_as_exit()
    say(f"bench_engagement: {args.events:,} events, seed {args.seed}, {os.cpu_count()} cores; "
        f"old = {OLD_COMMIT} (no classification), new = {commit_of(ROOT)} (this tree, now)")
    ensure_old_tree()
    steps: list[Step] = []
    ok = True
    try:
        ok = run_all(args, steps)
    finally:  # also when stopped (SIGTERM, Ctrl-C): the steps measured so far
        report(steps)
    print(f"bench process lifetime peak RSS (ru_maxrss): {max_rss_mb():.0f} MB")
    if not ok:
        print("FAILED CHECK: the old counters differ between the old and the new rollups")
    return 0 if ok else 1


def run_all(args: argparse.Namespace, steps: list[Step]) -> bool:
    """Both databases, every step; fills ``steps``; whether the counters check passed."""
    from campaign_analytics.migrate import upgrade  # the new code, in this process

    end = datetime.now(UTC).replace(microsecond=0)
    ok = True
    with scratch_database(args.admin_url, migrate=False) as url_a, \
            tempfile.TemporaryDirectory(prefix="bench-engagement-") as folder:
        old = Side("old", OLD_TREE, url_a)
        say(f"database A {make_url(url_a).database}: migrated and filled by the old code")
        with psycopg.connect(url_a) as conn:
            print("server: " + ", ".join(
                f"{name}={conn.execute(f'SHOW {name}').fetchone()[0]}"  # type: ignore[index]
                for name in ("server_version", "shared_buffers", "work_mem",
                             "max_parallel_workers_per_gather", "max_wal_size")), flush=True)
        ws = in_child(old, "setup", events=args.events, seed=args.seed,
                      end=end.isoformat())["ws"]
        with template_copy(args.admin_url, url_a) as url_b:
            new = Side("new", ROOT, url_b)
            elapsed = timed()
            upgrade(url_b)
            say(f"B migrated by the new code in {elapsed():.1f} s; revisions: A "
                f"{revision(url_a)}, B {revision(url_b)}")
            level_rollups(url_a)

            fulls = [(EMPTY, (old, new), False), (EMPTY + " again", (new, old), False),
                     (NIGHTLY, (old, new), False), (NIGHTLY + " again", (new, old), False)]
            if args.rules_change:
                fulls.append((RULES_CHANGE, (old, new), True))
            for label, order, bump in fulls:
                if bump:
                    bump_rules(url_b, ws)
                if label == EMPTY + " again":
                    for url in (url_a, url_b):
                        vacuum_rollups(url, empty=True)
                step, _ = compare(args.admin_url, label, list(order), "refresh",
                                  mode="full", ws=ws)
                steps.append(step)
                if label.startswith(EMPTY):
                    say(f"rollups A: {rollup_sizes(url_a)}")
                    say(f"rollups B: {rollup_sizes(url_b)}")
                    for url in (url_a, url_b):  # as autovacuum would have by the next night
                        vacuum_rollups(url)

            events_file, now, drawn = draw_events(url_b, ws, args.seed, folder)
            step, ingested = compare(args.admin_url, f"ingest {drawn:,} new events", [old, new],
                                     "ingest", headline=False, ws=ws, events_file=events_file,
                                     now=now)
            for label, result in ingested.items():
                if result["accepted"] != drawn:
                    raise RuntimeError(f"{label} accepted {result['accepted']:,} of {drawn:,}: "
                                       f"{result['rejected']}")
            steps.append(step)
            step, refreshed = compare(args.admin_url, "incremental", [new, old], "refresh",
                                      mode="incremental", ws=ws)
            say("incremental: new events seen " + ", ".join(
                f"{label} {r['new_events']:,}" for label, r in refreshed.items()))
            steps.append(step)

            verdict_figures(url_b)
            say(f"rollups A: {rollup_sizes(url_a)}")
            say(f"rollups B: {rollup_sizes(url_b)}")
            ok &= same_counters(url_a, url_b)
            if args.explain:
                for side in (old, new):
                    settle(args.admin_url)
                    say(f"EXPLAIN: a nightly full refresh, {side.label} code ...")
                    explained = in_child(side, "explain", ws=ws)
                    say(f"EXPLAIN: {side.label} {explained['seconds']:.1f} s, statements "
                        + ", ".join(f"{x:.1f}" for x in explained["statements"]) + " s")
    return ok


if __name__ == "__main__":
    sys.exit(main())
