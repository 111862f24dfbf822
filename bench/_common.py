"""Helpers shared by the benchmarks: a throw-away database, peak-RSS sampling, free ports,
and the real stack's processes (gunicorn, Celery worker and beat) in their own process groups.

Each benchmark creates its own ``ca_bench_<hex>`` database on the server of ``--admin-url``
(default: the server of ``DATABASE_URL``, else the local one), migrates it, and drops it at
the end even on failure; no other database is ever touched.
"""

from __future__ import annotations

import contextlib
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Self

import psutil
import psycopg
import requests
from sqlalchemy import make_url

from cli.processes import die_with_parent

LOCAL_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
MB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def default_admin_url() -> str:
    """The maintenance database on DATABASE_URL's server, else on the local server."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return LOCAL_ADMIN_URL
    return with_database(url, "postgres")


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name``, as a plain ``postgresql://`` URL."""
    parsed = make_url(url).set(drivername="postgresql", database=name)
    return parsed.render_as_string(hide_password=False)


def _admin(admin_url: str) -> psycopg.Connection:
    return psycopg.connect(with_database(admin_url, make_url(admin_url).database or "postgres"),
                           autocommit=True)


@contextmanager
def scratch_database(admin_url: str, *, migrate: bool = True) -> Iterator[str]:
    """Create ``ca_bench_<hex>``, migrate it to head, yield its URL, always drop it."""
    name = f"ca_bench_{secrets.token_hex(6)}"
    with _admin(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(admin_url, name)
        if migrate:
            from campaign_analytics.migrate import upgrade

            upgrade(url)
        yield url
    finally:
        with _admin(admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sigterm_as_exit() -> None:
    """Make SIGTERM unwind the stack (so ``finally`` blocks drop databases, stop servers)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def max_rss_mb() -> float:
    """This process's lifetime peak RSS (``ru_maxrss``), in MB. In a child process use
    ``peak_rss_mb``: Linux carries ``ru_maxrss`` across fork and exec, so a child would
    report at least its parent's peak."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mb() -> float:
    """This process's peak RSS since its ``exec`` (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def rss_mb(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_info().rss / MB
    except psutil.Error:
        return 0.0


class Sampler:
    """Calls ``sample`` every ``interval`` seconds in a background thread while its ``with``
    block runs, and once at each end."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)

    def sample(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> Self:
        self.started = time.monotonic()
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


class PeakRss(Sampler):
    """Samples RSS in a background thread while a phase runs; keeps the peaks.

    ``groups`` maps a label to a function returning the pids to sample (called at each
    sample, so a server's workers can be looked up as they come). For each label the peak of
    the largest single process and the peak of the group's sum are kept.
    """

    def __init__(self, groups: dict[str, Callable[[], list[int]]], interval: float = 0.05):
        super().__init__(interval)
        self.groups = groups
        self.peak_one = dict.fromkeys(groups, 0.0)
        self.peak_sum = dict.fromkeys(groups, 0.0)
        self.start_sum: dict[str, float] = {}

    def sample(self) -> None:
        for label, pids in self.groups.items():
            values = [rss_mb(pid) for pid in pids()]
            self.start_sum.setdefault(label, sum(values))
            if values:
                self.peak_one[label] = max(self.peak_one[label], max(values))
                self.peak_sum[label] = max(self.peak_sum[label], sum(values))

    def growth(self, label: str) -> float:
        """How far the group's summed RSS rose above its first sample, in MB."""
        return self.peak_sum[label] - self.start_sum.get(label, 0.0)


def self_pid() -> list[int]:
    return [os.getpid()]


def timed() -> Callable[[], float]:
    """A stopwatch: call the returned function for the seconds elapsed since creation."""
    started = time.perf_counter()
    return lambda: time.perf_counter() - started


def load() -> str:
    """The load average, printed beside every figure: the machine is shared."""
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S} {load()}] {message}", flush=True)


def generate(db: Any, url: str, ws: str, events: int, seed: int, end: datetime) -> None:
    """The generator with progress lines, then VACUUM ANALYZE and a CHECKPOINT, so every
    benchmark starts from the same settled tables."""
    from campaign_analytics.generator import generate_dataset

    step = max(events // 10, 1)
    marks = {"next": step}

    def progress(done: int) -> None:
        if done >= marks["next"]:
            say(f"  generated {done:,} events")
            marks["next"] += step

    report = generate_dataset(db, ws, events, seed, end=end, progress=progress)
    say(f"generate seed {seed}: {events:,} events in {report.elapsed_seconds:.0f} s "
        f"({report.events_per_second:,.0f}/s); rows "
        + ", ".join(f"{t} {n:,}" for t, n in sorted(report.rows.items())))
    settle(url)


def settle(url: str, after: str = "") -> None:
    """VACUUM ANALYZE and a CHECKPOINT: tables a benchmark just wrote are vacuumed and
    written out now, not by autovacuum and the checkpointer during a measurement."""
    elapsed = timed()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        with contextlib.suppress(psycopg.Error):
            conn.execute("CHECKPOINT")
    say(f"VACUUM ANALYZE + CHECKPOINT{after} {elapsed():.1f} s")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1) of ``values``; 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))]


# --- the stack's processes ---------------------------------------------------------------

def stack_env(**overrides: str) -> dict[str, str]:
    """This environment for a child of the stack, without the caller's Prometheus directory
    (a stale one would mix another run's metrics in)."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(overrides)
    return env


def start_process(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``command`` in the repository, output to ``log``, in a new session: its process group
    can be stopped whole (gunicorn's workers, Celery's pool) without touching anything else."""
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=die_with_parent)


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    """TERM the process's own group, then KILL it after ``grace`` seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):  # stragglers of the group (pool children)
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def wait_for_log(process: subprocess.Popen[bytes], log: Path, marker: str,
                 timeout: float = 90) -> None:
    """Until ``marker`` appears in ``log``; raise with the log's tail if the process dies."""
    deadline = time.monotonic() + timeout
    while marker not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{log.name}: no {marker!r}:\n"
                               f"{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a Celery worker and its pool), those still alive."""
    try:
        parent = psutil.Process(pid)
        return [pid, *(child.pid for child in parent.children(recursive=True))]
    except psutil.Error:
        return []


def start_gunicorn(url: str, redis_url: str, port: int, workers: int, threads: int, log: Path,
                   options: list[str] | None = None, **env: str) -> subprocess.Popen[bytes]:
    """gunicorn serving ``webapi:create_app()`` on 127.0.0.1:``port``; ``threads`` > 1 uses
    ``gthread`` workers. ``options`` are more gunicorn flags; ``env`` adds settings (e.g.
    ``RATE_LIMITS_ENABLED="false"``)."""
    environment = stack_env(DATABASE_URL=url, REDIS_URL=redis_url, LOG_LEVEL="WARNING",
                            WEB_CONCURRENCY=str(workers), APP_ENV="development", **env)
    command = [str(BIN / "gunicorn"), "webapi:create_app()", "-b", f"127.0.0.1:{port}",
               "-w", str(workers), "--timeout", "120", *(options or [])]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    return start_process(command, environment, log)


def stop_gunicorn(server: subprocess.Popen[bytes]) -> None:
    """TERM gunicorn's own process group, then KILL after 15 s."""
    stop_process_group(server, grace=15)


def wait_ready(base: str, server: subprocess.Popen[bytes], log: Path,
               seconds: float = 60) -> None:
    """Until ``/readyz`` answers 200 (the database is reachable from the API)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn not ready after {seconds:.0f} s: {log.read_text()[-2000:]}")


# --- RSS over time -------------------------------------------------------------------------

@dataclass
class RssSample:
    """One sample: seconds since the start, and each group's RSS in MB by pid."""

    at: float
    rss: dict[str, dict[int, float]]
    load1: float

    def total(self, label: str) -> float:
        return sum(self.rss.get(label, {}).values())

    def largest(self, label: str) -> float:
        return max(self.rss.get(label, {}).values(), default=0.0)


class RssSeries(Sampler):
    """Samples every group's processes every ``interval`` seconds in a background thread and
    keeps every sample, so memory can be shown over time and not only at its peak.

    ``groups`` maps a label to a function returning the pids to sample, called at each sample
    (pool children come and go)."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]], interval: float = 1.0):
        super().__init__(interval)
        self.groups = groups
        self.samples: list[RssSample] = []

    def sample(self) -> None:
        rss = {label: {pid: rss_mb(pid) for pid in pids()} for label, pids in self.groups.items()}
        self.samples.append(RssSample(time.monotonic() - self.started, rss, os.getloadavg()[0]))

    def totals(self, label: str) -> list[float]:
        return [s.total(label) for s in self.samples if s.rss.get(label)]

    def summary(self, label: str) -> tuple[float, float, float]:
        """(min, median, max) of the group's summed RSS over the samples, in MB."""
        values = self.totals(label) or [0.0]
        return min(values), statistics.median(values), max(values)
