"""Load: export requests from many workspaces while clients read analytics, on the real
stack; then proof that every export completed exactly once (issue 6, item 2).

    .venv/bin/python bench/bench_load.py [--workspaces 20] [--exports 500] [--readers 50]
        [--seconds 60] [--events-per-workspace 20000] [--workers 1] [--concurrency 2]
        [--web-workers 2] [--threads 4] [--submitters 20] [--rate-limit 1000000]
        [--baseline 10] [--timeout 1800] [--keep-logs DIR]

About 3-4 minutes with the defaults on 2 cores (a minute of it generating data).

Everything runs on a throw-away database (``ca_bench_<hex>``), Redis database 12
(``--redis-url``; FLUSHDB'd before and after, no other database is touched) and a temporary
directory for the export files; all of it, and every process started, is removed at the end,
also on failure, SIGTERM or Ctrl-C.

1. **Data**: ``--workspaces`` workspaces, each with an API key and ``generate_dataset`` of
   ``--events-per-workspace`` events (seed = the workspace's number), ``VACUUM ANALYZE``, a
   full refresh of each, so analytics have numbers.
2. **Stack**, as separate processes: gunicorn serving ``webapi:create_app()``
   (``--web-workers`` x ``--threads``, gthread) with the rate limiter **on** but every budget
   raised to ``--rate-limit`` a minute (the real budgets, 10 exports a minute per workspace,
   would turn this into a test of 429s); ``--workers`` Celery workers ``celery -A worker
   worker -Q analytics,exports,maintenance -c --concurrency``; one ``celery -A worker beat``
   (its sweeper recovers lost jobs). ``STORAGE_URL=file://<tmp>``.
3. **Load**, at once: ``--exports`` ``POST /analytics/export`` from ``--submitters`` threads,
   round robin over the workspaces, each with its own ``Idempotency-Key``, types, formats and
   compression drawn from ``EXPORT_MIX`` (a 429 waits ``Retry-After``, a socket error or a
   5xx is retried with the same key, which must return the same export); and ``--readers``
   threads reading analytics (``READS``, a random workspace each time) for ``--seconds``.
   Before the load, ``--baseline`` sequential reads per endpoint give each one's idle p50.
   Every worker process (main + pool) is sampled once a second (RSS); the CPU seconds of
   gunicorn, the workers, beat, the database's backends and this process are counted.
4. **Checks**, once every export is terminal (or ``--timeout`` passes): from PostgreSQL,
   exactly one ``export`` job per accepted request, all ``completed``, each with
   ``attempts = 1``; each file in storage with the recorded size and sha256, and nothing else
   in storage; each job logged ``completed`` exactly once across the worker logs; one export
   per (type, format, compression) downloaded through its ``download_url`` and compared.
   Extra deliveries of a job message are counted, not failed: the first sweep on a fresh
   broker republishes every queued job (``worker/broker.py``), and the claim must make each
   second message a no-op (``nothing to do``).

Prints submit and read latency (p50/p99, per endpoint and overall), reads/s, jobs/s (exports
/ first submit to last completion), export throughput, worker RSS over time, 2xx/429/5xx
counts and the load average. Exits 1 if an export is lost, duplicated, failed or stuck, a
file does not match, or any 5xx or socket error was seen.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import queue
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg
import redis
import requests
from _common import (
    BIN,
    RssSeries,
    default_admin_url,
    free_port,
    load,
    percentile,
    process_tree,
    say,
    scratch_database,
    sigterm_as_exit,
    stack_env,
    start_gunicorn,
    start_process,
    stop_process_group,
    timed,
    wait_for_log,
    wait_ready,
)
from psycopg.rows import dict_row

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from campaign_analytics.generator import generate_dataset
from campaign_analytics.jobs.kinds import Queue
from campaign_analytics.workspaces import create_workspace

TERMINAL = ("completed", "failed", "canceled", "expired")
HTTP_TIMEOUT = 60.0
SUBMIT_TRIES = 8
PROGRESS_EVERY = 10.0  # seconds between progress lines and between rows of the RSS series
# A mix of what users ask for (docs/exports-api.md): every type, both formats, gzip.
EXPORT_MIX: tuple[dict[str, Any], ...] = (
    {"export_type": "campaign_performance", "format": "csv", "time_range": "30d"},
    {"export_type": "campaign_performance", "format": "jsonl", "time_range": "7d",
     "include_time_series": True},
    {"export_type": "leads", "format": "csv", "time_range": "90d"},
    {"export_type": "attempts", "format": "csv", "time_range": "30d", "compression": "gzip"},
    {"export_type": "attempts", "format": "jsonl", "time_range": "7d"},
    {"export_type": "replies", "format": "jsonl", "time_range": "30d"},
    {"export_type": "events", "format": "csv", "time_range": "7d"},
    {"export_type": "events", "format": "jsonl", "time_range": "14d", "compression": "gzip"},
)
RANGES = ("7d", "30d", "90d")
ERROR_LINE = re.compile(r'[\s"\[](ERROR|CRITICAL)[\s"\]]')
COMPLETED_LINE = re.compile(r"job (\S+) \(export\) completed on attempt (\d+)")
# Counted in the worker logs (plain or JSON lines): every delivery of a job message, every
# sweep that ran, and anything unusual.
COUNTED = {"jobs.run received": re.compile(r"Task jobs\.run\[\S+\] received"),
           "jobs.run succeeded": re.compile(r"Task jobs\.run\[\S+\] succeeded"),
           # Sweeps run inside beat itself (worker/beat.py).
           "sweeps run": re.compile(r"due task sweep-jobs"),
           "nothing to do (duplicate delivery)": re.compile(r"nothing to do"),
           "superseded": re.compile(r"superseded"),
           # The broker's epoch marker was missing: the first sweep on a new database number.
           "broker without an epoch marker": re.compile(r"republishing every queued job"),
           "retrying": re.compile(r"retrying in"),
           "Traceback": re.compile(r"Traceback"),
           "ERROR/CRITICAL": ERROR_LINE}
# An access-log line ("METHOD path status microseconds") -> the name of the request.
APP_PATHS = {"campaign analytics": re.compile(r"^GET \S*/campaigns/[^/ ]+/analytics "),
             "overview": re.compile(r"^GET \S*/analytics/overview "),
             "deliverability": re.compile(r"^GET \S*/analytics/deliverability "),
             "heatmap": re.compile(r"^GET \S*/analytics/engagement-heatmap "),
             "snapshot": re.compile(r"^GET \S*/reporting/snapshot "),
             "accounts": re.compile(r"^GET \S*/analytics/accounts "),
             "submit": re.compile(r"^POST \S*/analytics/export ")}
SWEEP_LINE = re.compile(r"sweeper: requeued=(\d+) abandoned=(\d+) published=(\d+)")


# --- the data ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Tenant:
    """A workspace as a client knows it: its id, API key and campaigns."""

    number: int
    id: str
    key: str
    campaigns: tuple[str, ...]


def seed_tenants(db: Database, url: str, count: int, events: int) -> list[Tenant]:
    """``count`` workspaces with generated data and fresh rollups."""
    end = datetime.now(UTC).replace(microsecond=0)
    made: list[tuple[int, str, str]] = []
    elapsed = timed()
    for number in range(1, count + 1):
        with db.sessions() as session:
            workspace, key = create_workspace(session, f"bench load {number}", "UTC")
        generate_dataset(db, workspace.id, events, seed=number, end=end)
        made.append((number, workspace.id, key))
    say(f"{count} workspaces x {events:,} events generated in {elapsed():.0f} s")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    elapsed = timed()
    for _, ws, _ in made:
        refresh(db, ws, RefreshMode.FULL)
    say(f"full refresh of {count} workspaces {elapsed():.1f} s")
    with psycopg.connect(url) as conn:
        return [Tenant(number, ws, key, tuple(row[0] for row in conn.execute(
            "SELECT id FROM campaigns WHERE workspace_id = %s AND deleted_at IS NULL "
            "ORDER BY id", (ws,)))) for number, ws, key in made]


# --- the stack ---------------------------------------------------------------------------

@dataclass
class Stack:
    """gunicorn, the Celery workers and beat: each in its own process group."""

    work: Path
    gunicorn: Any = None
    workers: list[Any] = field(default_factory=list)
    beat: Any = None
    base: str = ""

    @property
    def access_log(self) -> Path:
        return self.work / "access.log"

    def processes(self) -> list[Any]:
        return [p for p in (self.gunicorn, *self.workers, self.beat) if p is not None]

    def worker_logs(self) -> list[Path]:
        return sorted(self.work.glob("worker-*.log"))

    def celery_logs(self) -> list[Path]:
        """The workers' logs and beat's (the sweep may run in either)."""
        return [*self.worker_logs(), self.work / "beat.log"]

    def worker_pids(self) -> list[int]:
        return [pid for worker in self.workers for pid in process_tree(worker.pid)]

    def dead(self) -> list[str]:
        return [" ".join(map(str, p.args[:4])) for p in self.processes() if p.poll() is not None]

    def stop(self) -> None:
        """Beat first (no new sweeps), then the workers (warm shutdown), then the API."""
        for process in (self.beat, *self.workers, self.gunicorn):
            if process is not None:
                stop_process_group(process, grace=20)


def start_stack(stack: Stack, url: str, args: argparse.Namespace, storage: Path) -> None:
    common = {"DATABASE_URL": url, "REDIS_URL": args.redis_url, "APP_ENV": "development",
              "STORAGE_URL": f"file://{storage}"}
    budgets = {f"RATE_LIMIT_{name}": str(args.rate_limit) for name in
               ("CAMPAIGN_ANALYTICS", "OVERVIEW", "DELIVERABILITY", "EXPORTS", "DEFAULT")}
    port = free_port()
    stack.base = f"http://127.0.0.1:{port}"
    # The access log gives each request's time inside a gunicorn thread (%(D)s: from the
    # request parsed to the response sent), i.e. without the wait for a free thread.
    access = ["--access-logfile", str(stack.access_log),
              "--access-logformat", "%(m)s %(U)s %(s)s %(D)s"]
    stack.gunicorn = start_gunicorn(url, args.redis_url, port, args.web_workers, args.threads,
                                    stack.work / "gunicorn.log", access,
                                    RATE_LIMITS_ENABLED="true",
                                    STORAGE_URL=common["STORAGE_URL"], **budgets)
    queues = ",".join(q.value for q in (Queue.ANALYTICS, Queue.EXPORTS, Queue.MAINTENANCE))
    env = stack_env(**common, LOG_LEVEL="INFO", WORKER_CONCURRENCY=str(args.concurrency))
    tag = secrets.token_hex(3)
    for number in range(args.workers):
        log = stack.work / f"worker-{number}.log"
        stack.workers.append(start_process(
            [str(BIN / "celery"), "-A", "worker", "worker", "-Q", queues,
             "-c", str(args.concurrency), "-n", f"bench-load-{tag}-{number}@%h",
             "--without-mingle", "--without-gossip", "--loglevel", "INFO"], env, log))
    stack.beat = start_process(
        [str(BIN / "celery"), "-A", "worker", "beat", "--loglevel", "INFO",
         "-s", str(stack.work / "beat-schedule")], env, stack.work / "beat.log")
    wait_ready(stack.base, stack.gunicorn, stack.work / "gunicorn.log")
    for number, worker in enumerate(stack.workers):
        wait_for_log(worker, stack.work / f"worker-{number}.log", "ready.")
    wait_for_log(stack.beat, stack.work / "beat.log", "beat: Starting")
    say(f"stack up: gunicorn {args.web_workers}x{args.threads} at {stack.base}, "
        f"{args.workers} worker(s) -c {args.concurrency} on {queues}, beat; worker pids "
        f"{stack.worker_pids()}")


# --- what the clients saw ----------------------------------------------------------------

@dataclass
class Calls:
    """One kind of request: latencies (seconds) and outcomes."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    limited: int = 0  # responses carrying X-RateLimit-Limit: the limiter did run

    def count(self, low: int, high: int) -> int:
        return sum(n for code, n in self.statuses.items() if low <= code < high)


class Tally:
    """Calls by name, shared by the client threads."""

    def __init__(self) -> None:
        self.calls: dict[str, Calls] = {}
        self.first_5xx: list[str] = []
        self.first_errors: list[str] = []
        self._lock = threading.Lock()

    def record(self, name: str, seconds: float, response: requests.Response) -> None:
        with self._lock:
            calls = self.calls.setdefault(name, Calls())
            calls.latencies.append(seconds)
            calls.statuses[response.status_code] += 1
            calls.limited += "X-RateLimit-Limit" in response.headers
            if response.status_code >= 500 and len(self.first_5xx) < 10:
                self.first_5xx.append(f"{name} {response.request.method} "
                                      f"{response.request.path_url} -> {response.status_code} "
                                      f"{response.text[:300]}")

    def error(self, name: str, exc: Exception) -> None:
        with self._lock:
            self.calls.setdefault(name, Calls()).errors[type(exc).__name__] += 1
            if len(self.first_errors) < 10:
                self.first_errors.append(f"{name}: {type(exc).__name__}: {exc}")

    def merged(self, names: list[str]) -> Calls:
        total = Calls()
        for name in names:
            calls = self.calls.get(name, Calls())
            total.latencies += calls.latencies
            total.statuses.update(calls.statuses)
            total.errors.update(calls.errors)
            total.limited += calls.limited
        return total


_sessions = threading.local()


def session() -> requests.Session:
    """One keep-alive session per client thread, used back to back: a connection left idle
    past gunicorn's keep-alive (2 s) could be closed just as it is reused."""
    if not hasattr(_sessions, "session"):
        _sessions.session = requests.Session()
    value: requests.Session = _sessions.session
    return value


def auth(tenant: Tenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.key}"}


# --- exports -----------------------------------------------------------------------------

@dataclass
class Submission:
    """One export request as sent, and what came back."""

    number: int
    tenant: Tenant
    idempotency_key: str
    body: dict[str, Any]
    export_ids: set[str] = field(default_factory=set)  # more than one would be a duplicate
    tries: int = 0
    sent_at: float = 0.0  # wall clock of the first try
    answered_at: float = 0.0  # wall clock of the 202


def plan_exports(tenants: list[Tenant], count: int, run: str, seed: int) -> list[Submission]:
    """Round robin over the workspaces; the type/format/compression drawn from the mix."""
    rng = random.Random(seed)
    return [Submission(n, tenants[n % len(tenants)], f"load-{run}-{n:05d}",
                       dict(rng.choice(EXPORT_MIX))) for n in range(count)]


def submit(base: str, item: Submission, tally: Tally) -> None:
    """POST until 202; a 429 waits Retry-After; a socket error or 5xx retries the same key."""
    url = f"{base}/api/v1/workspaces/{item.tenant.id}/analytics/export"
    headers = {**auth(item.tenant), "Idempotency-Key": item.idempotency_key}
    item.sent_at = time.time()
    while item.tries < SUBMIT_TRIES:
        item.tries += 1
        started = time.perf_counter()
        try:
            response = session().post(url, json=item.body, headers=headers,
                                      timeout=HTTP_TIMEOUT)
        except requests.RequestException as exc:
            tally.error("submit", exc)
            time.sleep(1)
            continue
        tally.record("submit", time.perf_counter() - started, response)
        if response.status_code == 202:
            item.export_ids.add(response.json()["data"]["export_id"])
            item.answered_at = time.time()
            return
        if response.status_code == 429:
            time.sleep(float(response.headers.get("Retry-After", "1")))
        elif response.status_code >= 500:
            time.sleep(1)
        else:  # a 4xx other than 429 is a mistake of this script: say so, do not retry
            say(f"submit {item.idempotency_key}: HTTP {response.status_code} "
                f"{response.text[:300]}")
            return


def run_submitters(base: str, items: list[Submission], threads: int, tally: Tally,
                   stop: threading.Event) -> list[threading.Thread]:
    """``threads`` daemon threads taking submissions off a queue (daemons: Ctrl-C never
    waits for them)."""
    todo: queue.Queue[Submission] = queue.Queue()
    for item in items:
        todo.put(item)

    def loop() -> None:
        while not stop.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            submit(base, item, tally)

    started = [threading.Thread(target=loop, name=f"submit-{n}", daemon=True)
               for n in range(threads)]
    for thread in started:
        thread.start()
    return started


# --- readers -----------------------------------------------------------------------------

Read = Callable[[Tenant, random.Random], str]
# (name, weight, path under the workspace): what a dashboard reads.
READS: tuple[tuple[str, int, Read], ...] = (
    ("campaign analytics", 4, lambda t, rng:
        f"/campaigns/{rng.choice(t.campaigns)}/analytics?timeRange={rng.choice(RANGES)}"),
    ("overview", 2, lambda t, rng: f"/analytics/overview?timeRange={rng.choice(RANGES)}"),
    ("deliverability", 1, lambda t, rng: "/analytics/deliverability?timeRange=30d"),
    ("heatmap", 1, lambda t, rng: "/analytics/engagement-heatmap?timeRange=30d"),
    ("snapshot", 1, lambda t, rng: "/reporting/snapshot"),
    ("accounts", 1, lambda t, rng: "/analytics/accounts"),
)


def read_loop(base: str, tenants: list[Tenant], until: float, tally: Tally, seed: int,
              stop: threading.Event) -> None:
    """GET analytics of random workspaces, back to back, until the monotonic ``until``."""
    rng = random.Random(seed)
    names = [name for name, _, _ in READS]
    weights = [weight for _, weight, _ in READS]
    paths = {name: path for name, _, path in READS}
    while time.monotonic() < until and not stop.is_set():
        tenant = rng.choice(tenants)
        name = rng.choices(names, weights)[0]
        url = f"{base}/api/v1/workspaces/{tenant.id}{paths[name](tenant, rng)}"
        started = time.perf_counter()
        try:
            response = session().get(url, headers=auth(tenant), timeout=HTTP_TIMEOUT)
        except requests.RequestException as exc:
            tally.error(name, exc)
            continue
        tally.record(name, time.perf_counter() - started, response)


def baseline_reads(base: str, tenants: list[Tenant], per_endpoint: int) -> Tally:
    """Each endpoint ``per_endpoint`` times, one request at a time, before the load: what a
    read costs on a warm, otherwise idle stack (the machine may still be shared)."""
    tally = Tally()
    rng = random.Random(0)
    for name, _, path in READS:
        for _ in range(per_endpoint):
            tenant = rng.choice(tenants)
            started = time.perf_counter()
            response = session().get(f"{base}/api/v1/workspaces/{tenant.id}{path(tenant, rng)}",
                                     headers=auth(tenant), timeout=HTTP_TIMEOUT)
            tally.record(name, time.perf_counter() - started, response)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: HTTP {response.status_code} {response.text[:300]}")
    return tally


def run_readers(base: str, tenants: list[Tenant], count: int, seconds: float, tally: Tally,
                stop: threading.Event) -> list[threading.Thread]:
    until = time.monotonic() + seconds
    started = [threading.Thread(target=read_loop, args=(base, tenants, until, tally, n, stop),
                                name=f"read-{n}", daemon=True) for n in range(count)]
    for thread in started:
        thread.start()
    return started


# --- waiting and checking ----------------------------------------------------------------

def export_counts(conn: psycopg.Connection[Any]) -> Counter[str]:
    return Counter(dict(conn.execute(
        "SELECT status, count(*) FROM jobs WHERE kind = 'export' GROUP BY status").fetchall()))


@dataclass
class Progress:
    """(seconds since the load began, completed exports) once a second."""

    points: list[tuple[float, int]] = field(default_factory=list)

    def done_at(self, at: float) -> int:
        return max((done for t, done in self.points if t <= at), default=0)


def watch(url: str, stack: Stack, rss: RssSeries, tally: Tally, items: list[Submission],
          threads: list[threading.Thread], timeout: float) -> Progress:
    """Until the clients are done and every accepted export is terminal (or ``timeout``):
    a progress line every PROGRESS_EVERY seconds."""
    progress = Progress()
    next_line = PROGRESS_EVERY
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            time.sleep(1)
            at = time.monotonic() - rss.started
            counts = export_counts(conn)
            terminal = sum(counts[s] for s in TERMINAL)
            progress.points.append((at, counts["completed"]))
            accepted = sum(bool(item.export_ids) for item in items)
            clients_done = not any(thread.is_alive() for thread in threads)
            if at >= next_line:
                next_line += PROGRESS_EVERY
                reads = sum(len(c.latencies) for n, c in tally.calls.items() if n != "submit")
                worker = rss.samples[-1].total("worker") if rss.samples else 0.0
                say(f"t={at:4.0f}s submitted {accepted}/{len(items)}, exports "
                    + ", ".join(f"{s} {n}" for s, n in sorted(counts.items()))
                    + f"; {reads:,} reads; worker RSS {worker:.0f} MB")
            if clients_done and terminal >= accepted:
                return progress
            if stack.dead():
                raise RuntimeError(f"a stack process exited: {stack.dead()}")
            if at > timeout:
                say(f"timeout: {terminal} of {accepted} exports terminal after {at:.0f} s")
                return progress


def job_rows(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(
            "SELECT id, workspace_id, status, attempts, idempotency_key, params, error_code, "
            "error_message, file_key, file_size, file_sha256, row_count, claimed_by, "
            "published_at, lease_expires_at, extract(epoch FROM created_at) AS created, "
            "extract(epoch FROM started_at) AS started, "
            "extract(epoch FROM finished_at) AS finished "
            "FROM jobs WHERE kind = 'export' ORDER BY created_at").fetchall()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Verdict:
    """What the checks found; ``problems`` makes the run fail."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    failed: int = 0
    retried: int = 0

    def problem(self, text: str) -> None:
        self.problems.append(text)
        say(f"PROBLEM: {text}")


def check_rows(rows: list[dict[str, Any]], items: list[Submission], verdict: Verdict) -> None:
    """One row per accepted request, all completed, on their first attempt."""
    by_id = {row["id"]: row for row in rows}
    accepted = {export_id for item in items for export_id in item.export_ids}
    unanswered = [item.idempotency_key for item in items if not item.export_ids]
    twice = [item.idempotency_key for item in items if len(item.export_ids) > 1]
    missing = sorted(accepted - by_id.keys())
    extra = sorted(by_id.keys() - accepted)
    keys = Counter(row["idempotency_key"] for row in rows)
    verdict.lost = len(missing) + len(unanswered)
    verdict.duplicated = len(extra) + len(twice) + sum(n - 1 for n in keys.values() if n > 1)
    if unanswered:
        verdict.problem(f"{len(unanswered)} requests never got a 202: {unanswered[:5]}")
    if missing:
        verdict.problem(f"{len(missing)} accepted exports have no job row: {missing[:5]}")
    if twice:
        verdict.problem(f"{len(twice)} idempotency keys returned two export ids: {twice[:5]}")
    if extra:
        verdict.problem(f"{len(extra)} export rows nobody was told about: {extra[:5]}")
    not_done = [row for row in rows if row["status"] != "completed"]
    verdict.failed = len(not_done)
    for row in not_done[:10]:
        verdict.problem(f"export {row['id']} {row['status']} attempts={row['attempts']} "
                        f"{row['error_code']} {row['error_message']} claimed_by="
                        f"{row['claimed_by']} published_at={row['published_at']} lease="
                        f"{row['lease_expires_at']}")
    retried = [row for row in rows if row["attempts"] != 1]
    verdict.retried = len(retried)
    for row in retried[:10]:
        verdict.notes.append(f"export {row['id']} ran {row['attempts']} attempts "
                             f"({row['status']}; no fault was injected)")


def check_files(rows: list[dict[str, Any]], storage: Path, verdict: Verdict) -> None:
    """Each completed export's file as recorded; nothing else in storage."""
    expected: set[Path] = set()
    for row in rows:
        if row["status"] != "completed":
            continue
        path = storage / row["file_key"]
        expected.add(path)
        if not path.is_file():
            verdict.problem(f"export {row['id']}: file {row['file_key']} missing")
        elif path.stat().st_size != row["file_size"] or sha256_of(path) != row["file_sha256"]:
            verdict.problem(f"export {row['id']}: file {row['file_key']} differs from its "
                            f"row (size {path.stat().st_size} vs {row['file_size']})")
    leftovers = [p for p in storage.rglob("*") if p.is_file() and p not in expected]
    if leftovers:
        verdict.problem(f"{len(leftovers)} files in storage no completed export owns: "
                        f"{[str(p.relative_to(storage)) for p in leftovers[:5]]}")


def check_logs(rows: list[dict[str, Any]], logs: list[Path], verdict: Verdict) -> Counter[str]:
    """Each export logged ``completed`` exactly once over all Celery logs; some totals."""
    completed: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if match := COMPLETED_LINE.search(line):
                completed[match.group(1)] += 1
            elif match := SWEEP_LINE.search(line):
                totals["sweeps that acted"] += 1
                totals["sweeper requeued"] += int(match.group(1))
                totals["sweeper abandoned"] += int(match.group(2))
                totals["sweeper published"] += int(match.group(3))
            for name, pattern in COUNTED.items():
                totals[name] += bool(pattern.search(line))
    twice = [job for job, n in completed.items() if n > 1]
    verdict.duplicated += len(twice)
    if twice:
        verdict.problem(f"{len(twice)} exports logged completed more than once: {twice[:5]}")
    silent = [row["id"] for row in rows
              if row["status"] == "completed" and not completed[row["id"]]]
    if silent:
        verdict.problem(f"{len(silent)} completed exports not logged by any worker: {silent[:5]}")
    return totals


def check_api_log(log: Path, verdict: Verdict) -> None:
    """The API's own account of errors: a traceback there is a 5xx the clients may hide."""
    text = log.read_text(errors="replace")
    error = ERROR_LINE.search(text)
    if "Traceback" in text or error:
        at = text.find("Traceback") if "Traceback" in text else error.start()  # type: ignore[union-attr]
        verdict.problem(f"gunicorn log has errors ({text.count('Traceback')} tracebacks); "
                        f"first:\n{text[max(0, at - 200):at + 2500]}")


def check_downloads(base: str, rows: list[dict[str, Any]], items: list[Submission],
                    verdict: Verdict) -> int:
    """One export of each (type, format, compression), downloaded through the API."""
    tenant_of = {export_id: item.tenant for item in items for export_id in item.export_ids}
    seen: set[tuple[str, str, str]] = set()
    checked = 0
    for row in rows:
        params = row["params"]
        kind = (params.get("export_type"), params.get("format"), params.get("compression"))
        if row["status"] != "completed" or kind in seen or row["id"] not in tenant_of:
            continue
        seen.add(kind)  # type: ignore[arg-type]
        tenant = tenant_of[row["id"]]
        status = requests.get(f"{base}/api/v1/workspaces/{tenant.id}/analytics/exports/"
                              f"{row['id']}", headers=auth(tenant),
                              timeout=HTTP_TIMEOUT).json()["data"]
        body = requests.get(status["download_url"], timeout=HTTP_TIMEOUT).content
        checked += 1
        if hashlib.sha256(body).hexdigest() != row["file_sha256"] or len(body) != row["file_size"]:
            verdict.problem(f"download of {row['id']} ({kind}) differs from its row")
    return checked


@dataclass
class Findings:
    """Everything the checks after the load found."""

    rows: list[dict[str, Any]]
    verdict: Verdict
    downloads: int
    totals: Counter[str]
    others: list[tuple[str, str, int]]


def other_jobs(url: str) -> list[tuple[str, str, int]]:
    with psycopg.connect(url) as conn:
        return [(k, s, n) for k, s, n in conn.execute(
            "SELECT kind, status, count(*) FROM jobs WHERE kind <> 'export' GROUP BY 1, 2 "
            "ORDER BY 1, 2").fetchall()]


def verify(url: str, stack: Stack, storage: Path, items: list[Submission]) -> Findings:
    """Job rows, files, downloads and logs, while the stack still runs (downloads)."""
    rows = job_rows(url)
    verdict = Verdict()
    check_rows(rows, items, verdict)
    check_files(rows, storage, verdict)
    downloads = check_downloads(stack.base, rows, items, verdict)
    totals = check_logs(rows, stack.celery_logs(), verdict)
    check_api_log(stack.work / "gunicorn.log", verdict)
    return Findings(rows, verdict, downloads, totals, other_jobs(url))


# --- the report --------------------------------------------------------------------------

def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def latency_line(name: str, calls: Calls, seconds: float, idle: Calls | None,
                 in_app: list[float]) -> str:
    rate = f"{len(calls.latencies) / seconds:>8,.1f}"
    other = calls.count(400, 600) - calls.statuses[429] - calls.count(500, 600)
    idle_p50 = ms(percentile(idle.latencies, .5)) if idle and idle.latencies else "-"
    app = f"{ms(percentile(in_app, .5)):>8}{ms(percentile(in_app, .99)):>8}"
    return (f"{name:<22}{idle_p50:>9}{len(calls.latencies):>8,}{rate}"
            f"{ms(percentile(calls.latencies, .5)):>8}"
            f"{ms(percentile(calls.latencies, .99)):>8}{app}"
            f"{ms(max(calls.latencies, default=0)):>8}{calls.count(200, 300):>8,}"
            f"{calls.statuses[429]:>6}{other:>6}{calls.count(500, 600):>6}"
            f"{sum(calls.errors.values()):>6}")


def print_latencies(tally: Tally, idle: Tally, in_app: dict[str, list[float]],
                    read_seconds: float, submit_seconds: float) -> None:
    """Client-side latency (ms) with, beside it, the idle p50 (sequential, before the load)
    and the time inside a gunicorn thread (access log): the gap is the wait for a thread."""
    print(f"\n{'requests':<22}{'idle p50':>9}{'count':>8}{'per s':>8}{'p50 ms':>8}"
          f"{'p99 ms':>8}{'app p50':>8}{'app p99':>8}{'max ms':>8}{'2xx':>8}{'429':>6}"
          f"{'4xx':>6}{'5xx':>6}{'sock':>6}")
    reads = [name for name, _, _ in READS]
    for name in reads:
        print(latency_line(f"  {name}", tally.calls.get(name, Calls()), read_seconds,
                           idle.calls.get(name), in_app.get(name, [])))
    print(latency_line("reads, all", tally.merged(reads), read_seconds, idle.merged(reads),
                       [t for name in reads for t in in_app.get(name, [])]))
    print(latency_line("export submits", tally.merged(["submit"]), submit_seconds, None,
                       in_app.get("submit", [])))


def print_exports(rows: list[dict[str, Any]], first_submit: float, items: list[Submission],
                  submit_seconds: float) -> None:
    done = [row for row in rows if row["finished"] is not None]
    if not done:
        return
    span = float(max(row["finished"] for row in done)) - first_submit
    waits = [float(r["started"] - r["created"]) for r in done if r["started"] is not None]
    runs = [float(r["finished"] - r["started"]) for r in done if r["started"] is not None]
    rows_total = sum(r["row_count"] or 0 for r in done)
    size = sum(r["file_size"] or 0 for r in done)
    mix = Counter(f"{r['params']['export_type']}/{r['params']['format']}"
                  + ("/gz" if r["params"].get("compression") == "gzip" else "") for r in rows)
    retried = sum(i.tries > 1 for i in items)
    print(f"\nexports: {len(rows)} jobs; submitted in {submit_seconds:.1f} s "
          f"({sum(i.tries for i in items)} HTTP tries, {retried} requests needed more than "
          f"one); first submit -> last completion "
          f"{span:.1f} s = {len(done) / span:.2f} jobs/s; {rows_total:,} rows, "
          f"{size / 1e6:.1f} MB written = {rows_total / span:,.0f} rows/s, "
          f"{size / 1e6 / span:.2f} MB/s")
    print(f"  queued -> started p50 {percentile(waits, .5):.1f} s, p99 "
          f"{percentile(waits, .99):.1f} s; run p50 {ms(percentile(runs, .5))} ms, p99 "
          f"{ms(percentile(runs, .99))} ms, max {ms(max(runs, default=0))} ms")
    last_answer = max(item.answered_at for item in items)
    drained = [float(r["finished"]) for r in done if float(r["finished"]) > last_answer]
    if len(drained) >= 10:
        print(f"  after the last submit's 202, {len(drained)} exports remained and finished in "
              f"{max(drained) - last_answer:.1f} s = "
              f"{len(drained) / (max(drained) - last_answer):.2f} jobs/s (the workers' pace)")
    print("  mix: " + ", ".join(f"{k} {n}" for k, n in sorted(mix.items())))


def print_rss(rss: RssSeries, progress: Progress) -> None:
    low, mid, high = rss.summary("worker")
    largest = [s.largest("worker") for s in rss.samples if s.rss.get("worker")]
    print(f"\nworker RSS (all worker processes: main + pool), {len(rss.samples)} samples 1/s: "
          f"min {low:.0f} MB, median {mid:.0f} MB, max {high:.0f} MB; largest single "
          f"process {min(largest, default=0):.0f}-{max(largest, default=0):.0f} MB")
    for label in ("gunicorn", "beat"):
        g_low, g_mid, g_high = rss.summary(label)
        print(f"{label} RSS (all processes): min {g_low:.0f}, median {g_mid:.0f}, max "
              f"{g_high:.0f} MB")
    print(f"{'t s':>6}{'worker MB':>11}  per process MB{'':<14}{'exports done':>13}{'load1':>7}")
    step = max(1, round(PROGRESS_EVERY / rss.interval))
    shown = rss.samples[::step]
    if rss.samples and shown[-1] is not rss.samples[-1]:
        shown.append(rss.samples[-1])
    for sample in shown:
        each = " ".join(f"{v:.0f}" for v in sample.rss.get("worker", {}).values())
        print(f"{sample.at:>6.0f}{sample.total('worker'):>11.0f}  {each:<28}"
              f"{progress.done_at(sample.at):>13}{sample.load1:>7.2f}")


def print_verdict(found: Findings, tally: Tally) -> None:
    verdict, totals, rows = found.verdict, found.totals, found.rows
    print(f"\nlost / duplicated / failed: {verdict.lost} / {verdict.duplicated} / "
          f"{verdict.failed}; retried (attempts > 1): {verdict.retried}; downloads checked "
          f"through the API: {found.downloads}; files checked: "
          f"{sum(r['status'] == 'completed' for r in rows)}")
    print("worker and beat logs: " + ", ".join(f"{k} {n}" for k, n in sorted(totals.items())))
    print("other jobs: " + (", ".join(f"{k} {s} {n}" for k, s, n in found.others) or "none"))
    limited = sum(c.limited for c in tally.calls.values())
    answered = sum(len(c.latencies) for c in tally.calls.values())
    print(f"rate limiter on: {limited:,} of {answered:,} responses carried X-RateLimit-Limit")
    for note in verdict.notes:
        print(f"note: {note}")
    for line in tally.first_5xx:
        print(f"5xx: {line}")
    for line in tally.first_errors:
        print(f"socket error: {line}")


def print_cpu(cpu: CpuUse) -> None:
    cores = os.cpu_count() or 1
    ours = sum(cpu.seconds.values())
    print(f"CPU during the load ({cpu.wall:.0f} s x {cores} cores = {cpu.wall * cores:.0f} "
          "core-s): " + ", ".join(f"{k} {v:.0f} s" for k, v in cpu.seconds.items())
          + f"; this run {ours:.0f} s = {ours / (cpu.wall * cores):.0%} of the machine, the rest "
          "idle or other people's processes")


# --- main --------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workspaces", type=int, default=20)
    parser.add_argument("--exports", type=int, default=500)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60, help="how long readers read")
    parser.add_argument("--events-per-workspace", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="pool size per worker")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--submitters", type=int, default=20, help="export-submitting threads")
    parser.add_argument("--rate-limit", type=int, default=1_000_000,
                        help="every rate-limit budget, requests per workspace per minute")
    parser.add_argument("--baseline", type=int, default=10,
                        help="sequential reads per endpoint before the load (idle p50)")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds after the load starts to wait for terminal exports")
    parser.add_argument("--admin-url", default=default_admin_url())
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-logs", type=Path, help="copy the stack's logs here at the end")
    return parser.parse_args(argv)


@contextlib.contextmanager
def own_redis(url: str) -> Iterator[None]:
    """The bench's Redis database, emptied before (if a crashed run left keys) and after."""
    client = redis.Redis.from_url(url)
    try:
        if client.dbsize():
            say(f"{url} holds {client.dbsize()} keys (an earlier run?): FLUSHDB of it")
            client.flushdb()
        yield
    finally:
        with contextlib.suppress(redis.RedisError):
            client.flushdb()
        client.close()


def app_times(log: Path, start: int, end: int) -> dict[str, list[float]]:
    """Seconds each request spent inside gunicorn, by name, from the access log's bytes
    ``start:end`` (the load phase only)."""
    with log.open("rb") as handle:
        handle.seek(start)
        text = handle.read(end - start).decode(errors="replace")
    times: dict[str, list[float]] = {}
    for line in text.splitlines():
        for name, pattern in APP_PATHS.items():
            if pattern.match(line):
                times.setdefault(name, []).append(int(line.rsplit(" ", 1)[1]) / 1e6)
                break
    return times


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process so far."""
    seconds = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            seconds[pid] = times.user + times.system
    return seconds


def backends(url: str) -> Callable[[], list[int]]:
    """The PostgreSQL backends serving the bench database (pooled: they outlive requests)."""
    def pids() -> list[int]:
        with psycopg.connect(url) as conn:
            return [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
    return pids


@dataclass
class CpuUse:
    """CPU seconds each part of the stack used during the load, beside the wall time."""

    wall: float
    seconds: dict[str, float]


def measure_cpu(groups: dict[str, Callable[[], list[int]]]) -> Callable[[], CpuUse]:
    """Start counting; the returned function gives the CPU used since (processes that
    exited in between are missed, new ones count from 0)."""
    before = {label: cpu_seconds(pids()) for label, pids in groups.items()}
    elapsed = timed()

    def stop() -> CpuUse:
        used = {}
        for label, pids in groups.items():
            after = cpu_seconds(pids())
            used[label] = sum(t - before[label].get(pid, 0.0) for pid, t in after.items())
        return CpuUse(elapsed(), used)
    return stop


def load_phase(url: str, stack: Stack, tenants: list[Tenant], args: argparse.Namespace,
               tally: Tally, items: list[Submission],
               ) -> tuple[RssSeries, Progress, dict[str, float], CpuUse]:
    """Submitters and readers at once; wait for every export; RSS sampled throughout."""
    stop = threading.Event()
    groups = {"worker": stack.worker_pids,
              "gunicorn": lambda: process_tree(stack.gunicorn.pid),
              "beat": lambda: process_tree(stack.beat.pid)}
    times: dict[str, float] = {}
    log_start = stack.access_log.stat().st_size
    cpu = measure_cpu({**groups, "postgres": backends(url), "bench clients": lambda: [os.getpid()]})
    try:
        with RssSeries(groups, interval=1.0) as rss:
            times["first_submit"] = time.time()
            submitters = run_submitters(stack.base, items, args.submitters, tally, stop)
            readers = run_readers(stack.base, tenants, args.readers, args.seconds, tally, stop)
            progress = watch(url, stack, rss, tally, items, [*submitters, *readers], args.timeout)
            times["submit_seconds"] = max(i.answered_at or i.sent_at for i in items) \
                - times["first_submit"]
            times["read_seconds"] = args.seconds
            times["log_start"], times["log_end"] = log_start, stack.access_log.stat().st_size
    finally:
        stop.set()
    return rss, progress, times, cpu()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_as_exit()
    # Ctrl-C must unwind (and clean up) even when started in the background, where the
    # shell leaves SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    say(f"bench_load: {args.workspaces} workspaces x {args.events_per_workspace:,} events, "
        f"{args.exports} exports from {args.submitters} threads, {args.readers} readers x "
        f"{args.seconds:.0f} s; gunicorn {args.web_workers}x{args.threads}, {args.workers} "
        f"Celery worker(s) -c {args.concurrency}; {os.cpu_count()} cores")
    work = Path(tempfile.mkdtemp(prefix="bench_load_"))
    storage = work / "exports"
    storage.mkdir()
    stack = Stack(work)
    tally = Tally()
    try:
        with own_redis(args.redis_url), scratch_database(args.admin_url) as url:
            say(f"database {url.rsplit('/', 1)[1]}, files in {work}")
            db = Database.connect(url)
            try:
                tenants = seed_tenants(db, url, args.workspaces, args.events_per_workspace)
            finally:
                db.engine.dispose()
            try:
                start_stack(stack, url, args, storage)
                items = plan_exports(tenants, args.exports, secrets.token_hex(4), args.seed)
                idle = baseline_reads(stack.base, tenants, args.baseline)
                say(f"baseline: {args.baseline} sequential reads per endpoint done; "
                    f"{load()} before the load")
                rss, progress, times, cpu = load_phase(url, stack, tenants, args, tally, items)
                in_app = app_times(stack.access_log, int(times["log_start"]),
                                   int(times["log_end"]))
                found = verify(url, stack, storage, items)
            finally:
                stack.stop()
                if args.keep_logs:
                    args.keep_logs.mkdir(parents=True, exist_ok=True)
                    for log in work.glob("*.log"):
                        shutil.copy(log, args.keep_logs / log.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_latencies(tally, idle, in_app, times["read_seconds"], times["submit_seconds"])
    print_exports(found.rows, times["first_submit"], items, times["submit_seconds"])
    print_rss(rss, progress)
    print_verdict(found, tally)
    print_cpu(cpu)
    verdict = found.verdict
    fivexx = sum(c.count(500, 600) for c in tally.calls.values())
    socket_errors = sum(sum(c.errors.values()) for c in tally.calls.values())
    print(f"machine: {os.cpu_count()} cores; {load()} at the end (1m/5m); 1-minute load "
          f"during the load {min(s.load1 for s in rss.samples):.2f}-"
          f"{max(s.load1 for s in rss.samples):.2f}")
    failed = bool(verdict.problems) or fivexx > 0 or socket_errors > 0
    if failed:
        print("FAILED: " + "; ".join([*verdict.problems, f"{fivexx} 5xx",
                                      f"{socket_errors} socket errors"]))
    else:
        print("OK: no export lost, duplicated or failed; no 5xx, no socket error")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
