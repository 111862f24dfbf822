"""Helpers shared by the benchmarks: a throw-away database, peak-RSS sampling, free ports.

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
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import psutil
import psycopg
from sqlalchemy import make_url

LOCAL_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
MB = 1024 * 1024


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
    """This process's lifetime peak RSS (``ru_maxrss``), in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_info().rss / MB
    except psutil.Error:
        return 0.0


class PeakRss:
    """Samples RSS in a background thread while a phase runs; keeps the peaks.

    ``groups`` maps a label to a function returning the pids to sample (called at each
    sample, so a server's workers can be looked up as they come). For each label the peak of
    the largest single process and the peak of the group's sum are kept.
    """

    def __init__(self, groups: dict[str, Callable[[], list[int]]], interval: float = 0.05):
        self.groups = groups
        self.interval = interval
        self.peak_one = dict.fromkeys(groups, 0.0)
        self.peak_sum = dict.fromkeys(groups, 0.0)
        self.start_sum: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

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

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakRss:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


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
    elapsed = timed()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        with contextlib.suppress(psycopg.Error):
            conn.execute("CHECKPOINT")
    say(f"VACUUM ANALYZE + CHECKPOINT {elapsed():.0f} s")
