"""Analytics over HTTP: ``wrk`` latency and throughput of the analytics endpoints beside
``/healthz``, in the same run and on the same gunicorn.

    .venv/bin/python bench/bench_analytics_http.py [--events 1000000] [--duration 30]
        [--connections 16] [--workers 2] [--threads 4]

On a throw-away database (``ca_bench_<hex>``, dropped at the end even on failure): one
workspace, ``generate_dataset`` of N events (default 1,000,000), ``VACUUM ANALYZE`` and a
``CHECKPOINT``, a full refresh, and both again. Then gunicorn serves
``webapi:create_app()`` (default 2 workers x 4 threads, ``gthread``: a 2-core machine, and
a thread waiting on PostgreSQL leaves the core to another) with
``RATE_LIMITS_ENABLED=false`` (the per-workspace budgets, 60-100 requests a minute, would
otherwise answer 429 after the first second), and ``wrk`` runs ``--connections``
connections on 2 threads for ``--duration`` seconds against

* ``/healthz`` — the baseline: the same server, routing and JSON, no key, no database;
* ``/campaigns/<largest campaign>/analytics`` (default ``30d``), with the API key;
* ``/analytics/overview`` (default ``30d``), with the API key.

Prints p50 / p90 / p99 latency, requests/s, the ratio to ``/healthz``'s throughput, the
gunicorn workers' peak RSS and the machine's load average. Targets: p99 <= 30 ms and
throughput >= 0.4x ``/healthz``. Needs ``wrk`` (Debian: ``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
import requests
from _common import (
    PeakRss,
    default_admin_url,
    free_port,
    load,
    max_rss_mb,
    say,
    scratch_database,
    settle,
    sigterm_as_exit,
    start_gunicorn,
    stop_gunicorn,
    timed,
    wait_ready,
)

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from campaign_analytics.generator import generate_dataset
from campaign_analytics.workspaces import create_workspace

# wrk's done() hook: one JSON line with the figures we need.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, summary.errors.status, errors,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""
P99_TARGET_MS = 30.0
THROUGHPUT_TARGET = 0.4


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    socket_errors: int
    load: str

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def prepare(db: Database, url: str, events: int, seed: int) -> tuple[str, str, str]:
    """(workspace id, API key, the campaign with the most messages), data generated and
    refreshed."""
    with db.sessions() as session:
        workspace, key = create_workspace(session, "bench analytics http", "UTC")
    ws = workspace.id
    report = generate_dataset(db, ws, events, seed)
    say(f"generated {events:,} events in {report.elapsed_seconds:.0f} s")
    settle(url)
    elapsed = timed()
    refresh(db, ws, RefreshMode.FULL)
    say(f"full refresh {elapsed():.1f} s")
    # A settled server: autovacuum of the rollup tables the refresh just filled (millions of
    # rows at 10M events), and the checkpoint writing them out, would otherwise take a core
    # during whichever endpoint runs then.
    settle(url, " after the refresh")
    with psycopg.connect(url) as conn:
        campaign, messages = conn.execute(
            "SELECT campaign_id, count(*) FROM messages WHERE workspace_id = %s "
            "GROUP BY campaign_id ORDER BY count(*) DESC LIMIT 1", (ws,)).fetchone()  # type: ignore[misc]
        campaigns = conn.execute("SELECT count(*) FROM campaigns WHERE workspace_id = %s",
                                 (ws,)).fetchone()[0]  # type: ignore[index]
        buckets = conn.execute(
            "SELECT count(*) FROM rollup_campaign_buckets WHERE campaign_id = %s",
            (campaign,)).fetchone()[0]  # type: ignore[index]
    say(f"{campaigns} campaigns; largest {campaign}: {messages:,} messages, "
        f"{buckets:,} rollup buckets")
    return ws, key, campaign


def run_wrk(name: str, url: str, headers: dict[str, str], script: Path, connections: int,
            duration: int) -> Result:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s",
               "--timeout", "10s", "-s", str(script)]
    for header, value in headers.items():
        command += ["-H", f"{header}: {value}"]
    before = load()
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    data: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    result = Result(name, data["requests"], data["duration_us"] / 1e6, data["p50_us"] / 1e3,
                    data["p90_us"] / 1e3, data["p99_us"] / 1e3, data["max_us"] / 1e3,
                    data["non2xx"], data["socket_errors"], f"{before} -> {load()}")
    say(f"{name}: {result.rate:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 "
        f"{result.p99_ms:.1f} ms, max {result.max_ms:.0f} ms, non-2xx {result.non2xx}, "
        f"socket errors {result.socket_errors}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=30, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per worker (gthread); 1 = sync workers")
    parser.add_argument("--time-range", default="30d")
    parser.add_argument("--admin-url", default=default_admin_url())
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    sigterm_as_exit()
    say(f"bench_analytics_http: {args.events:,} events, gunicorn {args.workers} workers x "
        f"{args.threads} threads, wrk {args.connections} connections x {args.duration} s, "
        f"{os.cpu_count()} cores")
    results: list[Result] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="ca_bench_http_") as tmp, \
            scratch_database(args.admin_url) as url:
        work = Path(tmp)
        script = work / "report.lua"
        script.write_text(WRK_SCRIPT)
        log = work / "gunicorn.log"
        db = Database.connect(url)
        try:
            ws, key, campaign = prepare(db, url, args.events, args.seed)
        finally:
            db.engine.dispose()
        port = free_port()
        server = start_gunicorn(url, args.redis_url, port, args.workers, args.threads, log,
                                RATE_LIMITS_ENABLED="false")
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, server, log)
            auth = {"Authorization": f"Bearer {key}"}
            api = f"{base}/api/v1/workspaces/{ws}"
            targets = [
                ("/healthz", f"{base}/healthz", {}),
                (f"campaign analytics ({args.time_range})",
                 f"{api}/campaigns/{campaign}/analytics?timeRange={args.time_range}", auth),
                (f"overview ({args.time_range})",
                 f"{api}/analytics/overview?timeRange={args.time_range}", auth),
            ]
            for name, target, headers in targets:  # warm every worker, check the answer
                for _ in range(4 * args.workers):
                    response = requests.get(target, headers=headers, timeout=30)
                    if response.status_code != 200:
                        raise RuntimeError(f"{name}: HTTP {response.status_code} "
                                           f"{response.text[:300]}")
                say(f"{name}: 200, {len(response.content):,} bytes")

            def worker_pids() -> list[int]:
                try:
                    return [child.pid for child in psutil.Process(server.pid).children()]
                except psutil.Error:
                    return []

            with PeakRss({"workers": worker_pids}, interval=0.5) as rss:
                for name, target, headers in targets:
                    results.append(run_wrk(name, target, headers, script, args.connections,
                                           args.duration))
        finally:
            stop_gunicorn(server)
    baseline = results[0]
    print()
    print(f"{'endpoint':<28}{'req/s':>9}{'x healthz':>10}{'p50 ms':>8}{'p90 ms':>8}"
          f"{'p99 ms':>8}{'max ms':>8}{'non2xx':>8}  load (1m/5m) before -> after")
    for r in results:
        print(f"{r.name:<28}{r.rate:>9,.0f}{r.rate / baseline.rate:>10.2f}{r.p50_ms:>8.1f}"
              f"{r.p90_ms:>8.1f}{r.p99_ms:>8.1f}{r.max_ms:>8.0f}{r.non2xx:>8}  {r.load}")
        failed |= r.non2xx > 0 or r.socket_errors > 0
    print(f"gunicorn workers peak RSS: {rss.peak_one['workers']:.0f} MB a worker, "
          f"{rss.peak_sum['workers']:.0f} MB all; bench process {max_rss_mb():.0f} MB")
    for r in results[1:]:
        met_p99 = r.p99_ms <= P99_TARGET_MS
        met_rate = r.rate >= THROUGHPUT_TARGET * baseline.rate
        print(f"{r.name}: p99 {r.p99_ms:.1f} ms {'met' if met_p99 else 'NOT met'} (<= "
              f"{P99_TARGET_MS:.0f}); throughput {r.rate / baseline.rate:.2f}x healthz "
              f"{'met' if met_rate else 'NOT met'} (>= {THROUGHPUT_TARGET})")
    if failed:
        print("FAILED: non-2xx responses or socket errors during a run")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
