"""Export throughput and latency: a real Celery worker writing ``events`` CSV files, beside
``psql \\copy`` and pandas in the same run.

In one run, on one throw-away database (``ca_bench_<hex>``, dropped at the end), with one
Celery worker process (``-Q exports -c 1``, ``STORAGE_URL=file://<tmp>``) on a Redis database
no test uses (default ``redis://127.0.0.1:6379/9``), both stopped at the end:

* **throughput** — ``generate_dataset`` writes ``--small`` events (default 1,000,000) into
  one workspace; an ``events`` export (CSV, no compression, every event of the workspace) is
  submitted as the API does (``requests.submit_export``: job row, estimate, dispatch,
  Celery message) and written by the worker; then ``--events`` minus ``--small`` more events
  (another seed) and the same export again (default 5,000,000 rows). Beside each, on the same
  rows: **psql** ``\\copy (<the export's own SELECT, formula-injection CASE included>) to FILE
  csv header``, and **pandas** ``read_sql`` (one call, no chunks) + ``to_csv`` in a child
  process. Prints rows/s, the ratios and peak RSS: the worker's pool process is sampled every
  50 ms (psutil) while its export runs; psql and the pandas child likewise.
* **latency** — ``--latency-jobs`` (50) exports of about 1,000 events (one campaign, a
  window of whole quarter hours) one after another to the warm worker, each timed from just
  before ``submit_export`` to the job row reading ``completed`` (polled every 10 ms): p50,
  p95, and where the time goes (queue and claim, run, completion). Then ``--wide-jobs`` (10)
  of about 1,000 events of the whole workspace (no campaign filter). After each, the
  estimate's row count (``requests.estimate_rows``) and the export's own ``count(*)`` are
  timed alone, to show where the submit's time goes.

Targets (issue 5): export >= 0.6x psql's rows/s and >= 5x pandas'; worker peak RSS < 200 MB at
both sizes and within 10 % between them; latency p50 < 0.5 s. Needs pandas in .venv (not a
dependency of the project: ``.venv/bin/pip install pandas``). Run:

    .venv/bin/python bench/bench_export.py [--events 5000000] [--small 1000000] [--again]

``--again`` exports once more after the baselines (shows whether the phases' order helps).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import psycopg
import redis
from _common import (
    PeakRss,
    default_admin_url,
    generate,
    max_rss_mb,
    scratch_database,
    sigterm_as_exit,
    timed,
)
from psycopg.rows import dict_row

from campaign_analytics.db import Database
from campaign_analytics.exports.queries import select_query
from campaign_analytics.exports.requests import ExportRequest, estimate_rows, submit_export
from campaign_analytics.exports.spec import ExportParams, ExportType
from campaign_analytics.exports.writers import CsvFormat
from campaign_analytics.settings import Settings
from campaign_analytics.workspaces import create_workspace

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DONE = ("completed", "failed", "canceled", "expired")
LATENCY_ROWS = 1000


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S} {load()}] {message}", flush=True)


# --- the worker ------------------------------------------------------------------------

class Worker:
    """One ``celery -A worker worker -Q exports -c 1`` in its own process group."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        name = f"bench-export-{secrets.token_hex(3)}"
        with log.open("wb") as out:
            self.popen = subprocess.Popen(
                [str(BIN / "celery"), "-A", "worker", "worker", "-Q", "exports", "-c", "1",
                 "-n", f"{name}@%h", "--without-mingle", "--without-gossip",
                 "--loglevel", "INFO"],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while "ready." not in self.log():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pool(self) -> list[int]:
        """The prefork pool process(es) that run the tasks."""
        try:
            return [child.pid for child in psutil.Process(self.popen.pid).children()]
        except psutil.Error:
            return []

    def main(self) -> list[int]:
        return [self.popen.pid] if self.popen.poll() is None else []

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)


# --- figures ---------------------------------------------------------------------------

@dataclass
class Run:
    """One measured way of writing the rows to a CSV file."""

    name: str
    rows: int
    seconds: float
    peak_rss: float
    note: str = ""
    size_mb: float = 0.0

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class Round:
    label: str
    rows: int
    runs: dict[str, Run] = field(default_factory=dict)
    worker_idle_rss: float = 0.0
    worker_main_rss: float = 0.0
    load: str = ""


# --- export through the worker ---------------------------------------------------------

def job_row(conn: psycopg.Connection[Any], job_id: str) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(
            "SELECT status, row_count, file_size, file_key, error_code, error_message, params, "
            "created_at, published_at, started_at, finished_at FROM jobs WHERE id = %s",
            (job_id,)).fetchone()
    assert row is not None, job_id
    return row


def wait_done(conn: psycopg.Connection[Any], job_id: str, poll: float, timeout: float,
              worker: Worker) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        row = job_row(conn, job_id)
        if row["status"] in DONE:
            return row
        if time.monotonic() > deadline or worker.popen.poll() is not None:
            raise RuntimeError(f"export {job_id} not done ({row['status']}):\n"
                               f"{worker.log()[-3000:]}")
        time.sleep(poll)


def submit(db: Database, publisher: Any, settings: Settings, ws: str,
           request: ExportRequest) -> str:
    with db.sessions() as session:
        return submit_export(session, publisher, settings, ws, request).id


def worker_export(db: Database, url: str, publisher: Any, settings: Settings, ws: str,
                  request: ExportRequest, worker: Worker, storage_root: Path,
                  rnd: Round) -> tuple[ExportParams, Run]:
    """Submit one export, sample the worker's RSS until the job row says completed."""
    with psycopg.connect(url, autocommit=True) as conn, \
            PeakRss({"pool": worker.pool, "main": worker.main}) as rss:
        rnd.worker_idle_rss = rss.peak_one["pool"]
        elapsed = timed()
        job_id = submit(db, publisher, settings, ws, request)
        submitted = elapsed()
        row = wait_done(conn, job_id, 0.02, 3600, worker)
        seconds = elapsed()
    if row["status"] != "completed":
        raise RuntimeError(f"export {job_id} {row['status']}: {row['error_code']} "
                           f"{row['error_message']}\n{worker.log()[-3000:]}")
    rnd.worker_main_rss = rss.peak_one["main"]
    run_seconds = (row["finished_at"] - row["started_at"]).total_seconds()
    queued = (row["started_at"] - row["created_at"]).total_seconds()
    path = storage_root / row["file_key"]
    size = path.stat().st_size / 1e6
    path.unlink()
    note = (f"submit {submitted:.2f} s (estimate, dispatch, publish), queue+claim "
            f"{queued:.2f} s, run in worker {run_seconds:.1f} s = "
            f"{row['row_count'] / run_seconds:,.0f} rows/s; pool RSS idle "
            f"{rnd.worker_idle_rss:.0f} MB, grew +{rss.peak_one['pool'] - rnd.worker_idle_rss:.0f}")
    run = Run("worker export", int(row["row_count"]), seconds, rss.peak_one["pool"], note, size)
    return ExportParams.from_params(row["params"]), run


# --- baselines -------------------------------------------------------------------------

def literal_select(url: str, ws: str, params: ExportParams) -> str:
    """The export's own SELECT (CSV expressions, ORDER BY), parameters inlined, one line."""
    query = select_query(ws, params)
    statement = CsvFormat().copy_statement(query)
    inner = statement[len("COPY ("):statement.rindex(") TO STDOUT")]
    with psycopg.connect(url) as conn:
        literal = psycopg.ClientCursor(conn).mogrify(inner, query.params)
    return " ".join(literal.split("\n"))


def psql_copy(url: str, sql: str, out: Path) -> Run:
    command = f"\\copy ({sql}) to '{out}' with (format csv, header)"
    proc = subprocess.Popen(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", command],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with PeakRss({"psql": lambda: [proc.pid] if proc.poll() is None else []}) as rss:
        elapsed = timed()
        stdout, stderr = proc.communicate()
        seconds = elapsed()
    if proc.returncode:
        raise RuntimeError(f"psql failed: {stderr.decode()[-2000:]}")
    match = re.search(rb"COPY (\d+)", stdout)
    rows = int(match.group(1)) if match else -1
    size = out.stat().st_size / 1e6
    out.unlink()
    return Run("psql \\copy", rows, seconds, rss.peak_one["psql"], size_mb=size)


def pandas_child(url: str, sql: str, out: str) -> None:
    """In a child process: read_sql (all rows at once, as users do) then to_csv."""
    import pandas as pd
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    started = time.perf_counter()
    frame = pd.read_sql(sql, engine)
    read = time.perf_counter() - started
    frame.to_csv(out, index=False)
    total = time.perf_counter() - started
    engine.dispose()
    print(json.dumps({"rows": len(frame), "read": read, "write": total - read,
                      "seconds": total, "pandas": pd.__version__}), flush=True)


def pandas_run(url: str, sql: str, out: Path, work: Path) -> Run:
    sql_file = work / "pandas.sql"
    sql_file.write_text(sql)
    proc = subprocess.Popen([sys.executable, __file__, "--pandas-child", url, str(sql_file),
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with PeakRss({"pandas": lambda: [proc.pid] if proc.poll() is None else []}) as rss:
        stdout, stderr = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"pandas child failed: {stderr.decode()[-2000:]}")
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    size = out.stat().st_size / 1e6
    out.unlink()
    note = (f"pandas {result['pandas']}: read_sql {result['read']:.1f} s + to_csv "
            f"{result['write']:.1f} s (timed inside the child, imports excluded)")
    return Run("pandas read_sql+to_csv", int(result["rows"]), float(result["seconds"]),
               rss.peak_one["pandas"], note, size)


# --- steps -----------------------------------------------------------------------------

def throughput_round(label: str, db: Database, url: str, publisher: Any, settings: Settings,
                     ws: str, end: datetime, worker: Worker, storage_root: Path, work: Path,
                     *, pandas: bool, again: bool = False) -> Round:
    with psycopg.connect(url) as conn:
        total = conn.execute("SELECT count(*) FROM email_events WHERE workspace_id = %s",
                             (ws,)).fetchone()[0]  # type: ignore[index]
    rnd = Round(label, int(total), load=load())
    request = ExportRequest(export_type=ExportType.EVENTS, time_range="custom",
                            start_date=(end - timedelta(days=300)).date().isoformat(),
                            end_date=end.date().isoformat())
    say(f"[{label}] worker export of {total:,} events …")
    params, run = worker_export(db, url, publisher, settings, ws, request, worker,
                                storage_root, rnd)
    rnd.runs["export"] = run
    say(f"[{label}] worker export: {run.rows:,} rows in {run.seconds:.1f} s = "
        f"{run.rate:,.0f} rows/s, {run.size_mb:,.0f} MB, worker pool peak RSS "
        f"{run.peak_rss:.0f} MB; {run.note}")
    sql = literal_select(url, ws, params)
    elapsed = timed()
    with psycopg.connect(url) as conn:  # what the export runs before its COPY
        conn.execute(f"SELECT count(*) {select_query(ws, params).body}",
                     select_query(ws, params).params)
    say(f"[{label}] (the export's count(*) of the same query, alone: {elapsed():.1f} s)")
    run = psql_copy(url, sql, work / "psql.csv")
    rnd.runs["psql"] = run
    say(f"[{label}] psql \\copy: {run.rows:,} rows in {run.seconds:.1f} s = {run.rate:,.0f} "
        f"rows/s, {run.size_mb:,.0f} MB, peak RSS {run.peak_rss:.0f} MB")
    if pandas:
        run = pandas_run(url, sql, work / "pandas.csv", work)
        rnd.runs["pandas"] = run
        say(f"[{label}] pandas: {run.rows:,} rows in {run.seconds:.1f} s = {run.rate:,.0f} "
            f"rows/s, {run.size_mb:,.0f} MB, peak RSS {run.peak_rss:,.0f} MB; {run.note}")
    if again:  # the same export once more, after the baselines: shows any order effect
        _, run = worker_export(db, url, publisher, settings, ws, request, worker,
                               storage_root, rnd)
        run.name = "worker export, again"
        rnd.runs["again"] = run
        say(f"[{label}] worker export again: {run.rows:,} rows in {run.seconds:.1f} s = "
            f"{run.rate:,.0f} rows/s = {run.rate / rnd.runs['psql'].rate:.2f}x psql; "
            f"worker pool peak RSS {run.peak_rss:.0f} MB; {run.note}")
    for name, run in rnd.runs.items():
        if run.rows != total:
            raise RuntimeError(f"{name} wrote {run.rows:,} rows, the workspace has {total:,}")
    return rnd


def latency_window(url: str, ws: str, campaign: bool) -> tuple[list[str] | None, str, str, int]:
    """A run of whole quarter hours holding about LATENCY_ROWS events (of the largest
    campaign, or of the whole workspace)."""
    with psycopg.connect(url) as conn:
        campaign_id = None
        where = "workspace_id = %(ws)s"
        if campaign:
            campaign_id = conn.execute(
                "SELECT campaign_id FROM email_events WHERE workspace_id = %s GROUP BY 1 "
                "ORDER BY count(*) DESC LIMIT 1", (ws,)).fetchone()[0]  # type: ignore[index]
            where += " AND campaign_id = %(cid)s"
        buckets = conn.execute(
            f"SELECT date_bin('15 minutes', occurred_at, TIMESTAMPTZ '2000-01-01Z') b, count(*) "
            f"FROM email_events WHERE {where} GROUP BY 1 ORDER BY 1",
            {"ws": ws, "cid": campaign_id}).fetchall()
    best: tuple[int, int, int] | None = None  # (rows over the target, first, end)
    j = acc = 0
    for i in range(len(buckets)):  # buckets i..j-1: whole quarter hours, contiguous in time
        while j < len(buckets) and acc < LATENCY_ROWS:
            acc += buckets[j][1]
            j += 1
        if acc < LATENCY_ROWS:
            break
        candidate = (acc - LATENCY_ROWS, i, j)
        best = min(best, candidate) if best else candidate
        acc -= buckets[i][1]
    assert best is not None, "no window of ~1000 events"
    distance, i, j = best
    start = buckets[i][0].astimezone(UTC)
    stop = buckets[j - 1][0].astimezone(UTC) + timedelta(minutes=15)
    return ([campaign_id] if campaign_id else None,
            start.isoformat().replace("+00:00", "Z"), stop.isoformat().replace("+00:00", "Z"),
            LATENCY_ROWS + distance)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[index]


def latency_round(label: str, db: Database, url: str, publisher: Any, settings: Settings,
                  ws: str, worker: Worker, storage_root: Path, jobs: int, campaign: bool,
                  ) -> dict[str, Any]:
    campaign_ids, start, stop, expected = latency_window(url, ws, campaign)
    request = ExportRequest(export_type=ExportType.EVENTS, time_range="custom",
                            start_date=start, end_date=stop, campaign_ids=campaign_ids)
    say(f"[{label}] {jobs} sequential exports of {expected:,} events "
        f"({'campaign ' + campaign_ids[0] if campaign_ids else 'whole workspace'}, "
        f"{start} .. {stop}), 3 warm-up jobs first")
    latencies: list[float] = []
    parts: dict[str, list[float]] = {"submit": [], "created->started": [],
                                     "started->finished": [], "finished->seen": []}
    rows = set()
    with psycopg.connect(url, autocommit=True) as conn, \
            PeakRss({"pool": worker.pool}) as rss:
        for number in range(jobs + 3):
            elapsed = timed()
            job_id = submit(db, publisher, settings, ws, request)
            submitted = elapsed()
            row = wait_done(conn, job_id, 0.01, 120, worker)
            seconds = elapsed()
            if row["status"] != "completed":
                raise RuntimeError(f"export {job_id} {row['status']}: {row['error_message']}")
            with contextlib.suppress(OSError):
                (storage_root / row["file_key"]).unlink()
            if number < 3:
                continue
            latencies.append(seconds)
            rows.add(row["row_count"])
            db_now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
            parts["submit"].append(submitted)
            parts["created->started"].append(
                (row["started_at"] - row["created_at"]).total_seconds())
            parts["started->finished"].append(
                (row["finished_at"] - row["started_at"]).total_seconds())
            parts["finished->seen"].append((db_now - row["finished_at"]).total_seconds())
    # Where submit's time goes: the estimate's row count alone, the export's count alone.
    params = ExportParams.from_params(row["params"])
    query = select_query(ws, params)
    estimate_ms, count_ms = [], []
    for _ in range(3):
        elapsed = timed()
        with db.sessions() as session:
            estimate_rows(session, ws, params)
        estimate_ms.append(elapsed() * 1000)
        elapsed = timed()
        with psycopg.connect(url) as conn:
            conn.execute(f"SELECT count(*) {query.body}", query.params)
        count_ms.append(elapsed() * 1000)
    say(f"[{label}] alone, median of 3: requests.estimate_rows {statistics.median(estimate_ms):.0f}"
        f" ms; the export's own count(*) {statistics.median(count_ms):.0f} ms")
    result = {"label": label, "jobs": jobs, "rows": sorted(rows),
              "p50": statistics.median(latencies), "p95": percentile(latencies, 0.95),
              "max": max(latencies), "min": min(latencies), "load": load(),
              "parts": {k: statistics.median(v) for k, v in parts.items()},
              "rss": rss.peak_one["pool"]}
    say(f"[{label}] submit->completed over {jobs} jobs of {sorted(rows)} rows: p50 "
        f"{result['p50'] * 1000:.0f} ms, p95 {result['p95'] * 1000:.0f} ms, min "
        f"{result['min'] * 1000:.0f}, max {result['max'] * 1000:.0f} ms; medians: "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in result["parts"].items())
        + f" (finished->seen is measured after polling stopped, an upper bound); worker pool "
        f"peak RSS {rss.peak_one['pool']:.0f} MB")
    return result


def report(rounds: list[Round], latencies: list[dict[str, Any]]) -> None:
    print()
    head = f"{'rows':>11} {'path':<24}{'seconds':>9}{'rows/s':>11}{'MB':>7}{'peak RSS MB':>13}"
    print(head + "   ratio export/this")
    print("-" * (len(head) + 20))
    for rnd in rounds:
        export = rnd.runs["export"]
        for name, run in rnd.runs.items():
            ratio = ("" if name in ("export", "again")
                     else f"   {export.rate / run.rate:.2f}x")
            print(f"{rnd.rows:>11,} {run.name:<24}{run.seconds:>9.1f}{run.rate:>11,.0f}"
                  f"{run.size_mb:>7,.0f}{run.peak_rss:>13,.0f}{ratio}")
        print(f"{'':>12}(worker main process {rnd.worker_main_rss:.0f} MB; {rnd.load} "
              "at the round's start)")
    print()
    for rnd in rounds:
        export = rnd.runs["export"]
        psql_ratio = export.rate / rnd.runs["psql"].rate
        line = (f"{rnd.label}: export/psql {psql_ratio:.2f}x (target >= 0.6: "
                f"{'met' if psql_ratio >= 0.6 else 'NOT met'})")
        if "pandas" in rnd.runs:
            pandas_ratio = export.rate / rnd.runs["pandas"].rate
            line += (f"; export/pandas {pandas_ratio:.1f}x (target >= 5: "
                     f"{'met' if pandas_ratio >= 5 else 'NOT met'})")
        if "again" in rnd.runs:
            line += f"; export again/psql {rnd.runs['again'].rate / rnd.runs['psql'].rate:.2f}x"
        line += (f"; worker peak RSS {export.peak_rss:.0f} MB (target < 200: "
                 f"{'met' if export.peak_rss < 200 else 'NOT met'})")
        print(line)
    if len(rounds) > 1:
        small, big = rounds[0].runs["export"].peak_rss, rounds[-1].runs["export"].peak_rss
        change = big / small - 1
        print(f"worker peak RSS {rounds[0].label} {small:.0f} MB -> {rounds[-1].label} "
              f"{big:.0f} MB: {change:+.1%} (target within 10 %: "
              f"{'met' if abs(change) <= 0.10 else 'NOT met'})")
    for result in latencies:
        print(f"latency {result['label']}: p50 {result['p50'] * 1000:.0f} ms, p95 "
              f"{result['p95'] * 1000:.0f} ms over {result['jobs']} jobs of {result['rows']} "
              f"rows ({result['load']} at the end; target p50 < 500 ms: "
              f"{'met' if result['p50'] < 0.5 else 'NOT met'})")


# --- main ------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--small", type=int, default=1_000_000,
                        help="first size measured (worker RSS comparison); 0 to skip")
    parser.add_argument("--latency-jobs", type=int, default=50)
    parser.add_argument("--wide-jobs", type=int, default=10,
                        help="latency jobs without a campaign filter (0 to skip)")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--again", action="store_true",
                        help="export once more after the baselines (order effects)")
    parser.add_argument("--admin-url", default=default_admin_url())
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9",
                        help="a Redis database no test uses; FLUSHDB'd only if not empty")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pandas-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pandas_child:
        url, sql_file, out = args.pandas_child
        pandas_child(url, Path(sql_file).read_text(), out)
        return 0
    if not 0 <= args.small < args.events:
        parser.error("--small must be below --events")
    sigterm_as_exit()
    say(f"bench_export: {args.events:,} events (and {args.small:,} first), "
        f"{os.cpu_count()} cores, Redis {args.redis_url}")
    broker = redis.Redis.from_url(args.redis_url)
    if broker.dbsize():
        say(f"Redis {args.redis_url} holds {broker.dbsize()} keys: FLUSHDB of that database")
        broker.flushdb()
    work = Path(tempfile.mkdtemp(prefix="bench_export_"))
    storage_root = work / "exports"
    storage_root.mkdir()
    rounds: list[Round] = []
    latencies: list[dict[str, Any]] = []
    worker: Worker | None = None
    try:
        with scratch_database(args.admin_url) as url:
            say(f"database {url.rsplit('/', 1)[1]}, files in {work}")
            db = Database.connect(url)
            try:
                from webapi import create_app

                settings = Settings(database_url=url, redis_url=args.redis_url,
                                    storage_url=f"file://{storage_root}",
                                    rate_limits_enabled=False, log_level="WARNING")
                app = create_app(settings)
                publisher = app.extensions["job_publisher"]
                env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
                env.update(DATABASE_URL=url, REDIS_URL=args.redis_url, LOG_LEVEL="INFO",
                           STORAGE_URL=f"file://{storage_root}", WORKER_CONCURRENCY="1",
                           APP_ENV="development")
                worker = Worker(env, work / "worker.log")
                say(f"worker ready: main pid {worker.popen.pid}, pool {worker.pool()}")
                with db.sessions() as session:
                    workspace, _ = create_workspace(session, "bench export", "UTC")
                ws = workspace.id
                end = datetime.now(UTC).replace(microsecond=0)
                pandas = not args.skip_pandas
                if args.small:
                    generate(db, url, ws, args.small, args.seed, end)
                    rounds.append(throughput_round(
                        f"{args.small / 1e6:g}M", db, url, publisher, settings, ws, end, worker,
                        storage_root, work, pandas=pandas, again=args.again))
                generate(db, url, ws, args.events - args.small, args.seed + 1, end)
                rounds.append(throughput_round(
                    f"{args.events / 1e6:g}M", db, url, publisher, settings, ws, end, worker,
                    storage_root, work, pandas=pandas, again=args.again))
                if args.latency_jobs:
                    latencies.append(latency_round(
                        "one campaign", db, url, publisher, settings, ws, worker, storage_root,
                        args.latency_jobs, campaign=True))
                if args.wide_jobs:
                    latencies.append(latency_round(
                        "whole workspace", db, url, publisher, settings, ws, worker,
                        storage_root, args.wide_jobs, campaign=False))
            finally:
                if worker is not None:
                    worker.stop()
                    say("worker stopped")
                db.engine.dispose()
                with contextlib.suppress(Exception):
                    app.extensions["database"].engine.dispose()  # type: ignore[possibly-undefined]
    finally:
        if worker is not None and "Traceback" in worker.log():
            print("worker log tail:\n" + worker.log()[-3000:])
        shutil.rmtree(work, ignore_errors=True)
        broker.close()
    report(rounds, latencies)
    print(f"bench process lifetime peak RSS (ru_maxrss): {max_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
