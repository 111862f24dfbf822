"""Export formats side by side: ``events`` as csv, csv_excel, jsonl, xlsx and parquet, each
written by the real job function in a fresh child process, beside ``psql \\copy`` of the
same query in the same run.

In one run, on one throw-away database (``ca_bench_<hex>``, dropped at the end):
``generate_dataset`` writes ``--small`` events (default 1,000,000) into one workspace, and
each format exports every event of it: a child process (``--child``) imports the project,
creates the export's job row (``jobs.outbox.submit``), claims it and calls
``exports.job.export`` (count, then COPY or a server-side cursor, in one snapshot) into
``LocalStorage`` in a temporary directory, and reports the rows, the seconds of that call,
the file's size and its own peak RSS (``VmHWM``) beside its RSS once imports were done.
``psql \\copy (<the export's own CSV SELECT>) to FILE csv header`` of the same rows runs in
the same round, and every format's rows/s is shown as a ratio to it. Then ``--events``
minus ``--small`` more events (another seed) and the same again (default 5,000,000 rows).

xlsx holds at most 1,048,575 data rows a sheet: at the large size it is requested once to
show it fails at once (``EXPORT_FAILED`` naming the limit, before writing anything), and
once more capped to exactly the limit (``max_event_id``), which is then its largest size.

Targets (issue 10): constant memory per format: the child's peak RSS within ~10 % between
the two sizes. Run:

    .venv/bin/python bench/bench_export_formats.py [--events 5000000] [--small 1000000]
        [--formats csv,csv_excel,jsonl,xlsx,parquet]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from _common import (
    default_admin_url,
    generate,
    load,
    peak_rss_mb,
    rss_mb,
    say,
    scratch_database,
    sigterm_as_exit,
    timed,
)
from bench_export import literal_select, psql_copy

from campaign_analytics.db import Database
from campaign_analytics.exports.spec import Compression, ExportFormat, ExportParams, ExportType
from campaign_analytics.exports.spreadsheets import SHEET_MAX_ROWS
from campaign_analytics.workspaces import create_workspace

FORMATS = [ExportFormat.CSV, ExportFormat.CSV_EXCEL, ExportFormat.JSONL, ExportFormat.XLSX,
           ExportFormat.PARQUET]
SHEET_DATA_ROWS = SHEET_MAX_ROWS - 1  # the header row is one of them
PSQL = "psql \\copy"


@dataclass
class Result:
    label: str
    fmt: str
    rows: int
    seconds: float
    size_mb: float
    peak_rss: float
    start_rss: float
    failure: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# --- the child: one export through the job function ------------------------------------

def child(url: str, workspace_id: str, params_json: str, storage_dir: str) -> None:
    """Submit, claim and run one export in this fresh process; print what it took."""
    from campaign_analytics.exports.job import export
    from campaign_analytics.exports.storage import LocalStorage
    from campaign_analytics.jobs import outbox, store
    from campaign_analytics.jobs.context import JobContext
    from campaign_analytics.jobs.errors import JobFailure

    db = Database.connect(url, pool_size=1)
    params = json.loads(params_json)
    with db.sessions() as session:
        job = outbox.submit(session, lambda job_id, queue: None, kind="export",
                            workspace_id=workspace_id, params=params, publish=False)
        claimed = store.claim(session, job.id, "bench", 3600, 1)
    assert claimed is not None
    ctx = JobContext(db, claimed.job_id, claimed.kind, claimed.workspace_id, claimed.params,
                     claimed.attempt, 3600)
    start_rss = rss_mb(os.getpid())
    storage = LocalStorage(Path(storage_dir))
    elapsed = timed()
    outcome: dict[str, Any] = {}
    try:
        result = export(ctx, storage)
        outcome = {"rows": result["row_count"], "size": result["file_size"]}
        storage.delete(result["file_key"])
    except JobFailure as failure:
        outcome = {"rows": 0, "size": 0, "failure": f"{failure.code}: {failure.message}"}
    outcome |= {"seconds": elapsed(), "peak_rss": peak_rss_mb(), "start_rss": start_rss}
    db.engine.dispose()
    print(json.dumps(outcome), flush=True)


def run_child(url: str, ws: str, params: ExportParams, storage: Path, label: str) -> Result:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", url, ws, json.dumps(params.to_params()),
         str(storage)], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"child failed ({params.format}): {proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return Result(label, params.format.value, int(out["rows"]), float(out["seconds"]),
                  out["size"] / 1e6, float(out["peak_rss"]), float(out["start_rss"]),
                  out.get("failure", ""))


# --- a round: every format at one size ---------------------------------------------------

def round_of(label: str, url: str, ws: str, base: ExportParams, formats: list[ExportFormat],
             work: Path, *, large: bool) -> tuple[float, list[Result]]:
    """psql's rows/s, then each format's run."""
    with psycopg.connect(url) as conn:
        total = conn.execute("SELECT count(*) FROM email_events WHERE workspace_id = %s",
                             (ws,)).fetchone()[0]  # type: ignore[index]
    psql = psql_copy(url, literal_select(url, ws, base), work / "psql.csv")
    if psql.rows != total:
        raise RuntimeError(f"psql wrote {psql.rows:,} rows, the workspace has {total:,}")
    say(f"[{label}] psql \\copy: {psql.rows:,} rows in {psql.seconds:.1f} s = "
        f"{psql.rate:,.0f} rows/s, {psql.size_mb:,.0f} MB")
    results = []
    for fmt in formats:
        params = replace(base, format=fmt)
        result = run_child(url, ws, params, work / "exports", label)
        results.append(result)
        say(f"[{label}] {fmt.value}: " + describe(result, psql.rate))
        if fmt is ExportFormat.XLSX and large:  # the same capped to a full sheet
            capped = replace(params, max_event_id=limit_event_id(url, ws))
            result = run_child(url, ws, capped, work / "exports", "sheet limit")
            results.append(result)
            say(f"[{label}] xlsx capped to a full sheet: " + describe(result, psql.rate))
        elif not result.failure and result.rows != total:
            raise RuntimeError(f"{fmt.value} wrote {result.rows:,} rows of {total:,}")
    return psql.rate, results


def describe(result: Result, psql_rate: float) -> str:
    if result.failure:
        return (f"failed after {result.seconds:.2f} s, as it must: {result.failure} "
                f"(peak RSS {result.peak_rss:.0f} MB)")
    return (f"{result.rows:,} rows in {result.seconds:.1f} s = {result.rate:,.0f} rows/s = "
            f"{result.rate / psql_rate:.2f}x psql, {result.size_mb:,.0f} MB, child peak RSS "
            f"{result.peak_rss:.0f} MB (after imports {result.start_rss:.0f} MB); {load()}")


def limit_event_id(url: str, ws: str) -> int:
    """The event id below which (inclusive) the workspace has exactly a sheet of rows."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id FROM email_events WHERE workspace_id = %s ORDER BY id "
                           "OFFSET %s LIMIT 1", (ws, SHEET_DATA_ROWS - 1)).fetchone()
    assert row is not None, "fewer events than a sheet holds"
    return int(row[0])


def report(rounds: list[tuple[str, float, list[Result]]]) -> None:
    print()
    head = (f"{'size':<12}{'format':<12}{'rows':>11}{'seconds':>9}{'rows/s':>10}"
            f"{'x psql':>8}{'MB':>7}{'peak RSS':>10}{'after imports':>15}")
    print(head)
    print("-" * len(head))
    for label, psql_rate, results in rounds:
        print(f"{label:<12}{PSQL:<12}{'':>11}{'':>9}{psql_rate:>10,.0f}")
        for r in results:
            if r.failure:
                print(f"{r.label:<12}{r.fmt:<12}{'refused':>11}{r.seconds:>9.2f}{'':>10}{'':>8}"
                      f"{'':>7}{r.peak_rss:>10.0f}{r.start_rss:>15.0f}")
                continue
            print(f"{r.label:<12}{r.fmt:<12}{r.rows:>11,}{r.seconds:>9.1f}{r.rate:>10,.0f}"
                  f"{r.rate / psql_rate:>8.2f}{r.size_mb:>7,.0f}{r.peak_rss:>10.0f}"
                  f"{r.start_rss:>15.0f}")
    if len(rounds) > 1:
        print()
        small = {r.fmt: r for r in rounds[0][2] if not r.failure}
        largest: dict[str, Result] = {}
        for r in rounds[-1][2]:
            if not r.failure:
                largest[r.fmt] = r
        for fmt, first in small.items():
            last = largest.get(fmt)
            if last is None:
                continue
            change = last.peak_rss / first.peak_rss - 1
            print(f"{fmt}: peak RSS {first.rows:,} rows {first.peak_rss:.0f} MB -> "
                  f"{last.rows:,} rows {last.peak_rss:.0f} MB: {change:+.1%} (target within "
                  f"10 %: {'met' if abs(change) <= 0.10 else 'NOT met'})")


# --- main --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--small", type=int, default=1_000_000,
                        help="first size measured (the RSS comparison); 0 to skip")
    parser.add_argument("--formats", default=",".join(fmt.value for fmt in FORMATS))
    parser.add_argument("--admin-url", default=default_admin_url())
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    if not 0 <= args.small < args.events:
        parser.error("--small must be below --events")
    formats = [ExportFormat(name) for name in args.formats.split(",")]
    sigterm_as_exit()
    say(f"bench_export_formats: {args.small:,} then {args.events:,} events, formats "
        f"{', '.join(fmt.value for fmt in formats)}, {os.cpu_count()} cores")
    work = Path(tempfile.mkdtemp(prefix="bench_export_formats_"))
    (work / "exports").mkdir()
    rounds: list[tuple[str, float, list[Result]]] = []
    try:
        with scratch_database(args.admin_url) as url:
            say(f"database {url.rsplit('/', 1)[1]}, files in {work}")
            db = Database.connect(url)
            try:
                with db.sessions() as session:
                    workspace, _ = create_workspace(session, "bench formats", "UTC")
                ws = workspace.id
                end = datetime.now(UTC).replace(microsecond=0)
                base = ExportParams(ExportType.EVENTS, ExportFormat.CSV, Compression.NONE,
                                    end - timedelta(days=300), end + timedelta(days=1),
                                    "custom", "UTC", None, False, 2**62)
                sizes = [(args.small, args.seed)] if args.small else []
                sizes.append((args.events - args.small, args.seed + 1))
                total = 0
                for events, seed in sizes:
                    generate(db, url, ws, events, seed, end)
                    total += events
                    label = f"{total / 1e6:g}M"
                    psql_rate, results = round_of(label, url, ws, base, formats, work,
                                                  large=total > SHEET_DATA_ROWS)
                    rounds.append((label, psql_rate, results))
            finally:
                db.engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
