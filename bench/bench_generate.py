"""Benchmark of ``generate_dataset`` against a bare COPY of as many rows, in the same run.

    .venv/bin/python bench/bench_generate.py                      # 1,000,000 events
    .venv/bin/python bench/bench_generate.py --events 1000000 10000000

Creates a database ``ca_bench_<random>`` on the server of ``DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``), migrates it, generates each size into
one workspace (seeds 1, 2, ...), then COPYs the same number of rows into an UNLOGGED table
with ``email_events``' columns and no index, constraint or foreign key, from one
preformatted line repeated (what COPY costs when Python does next to nothing). Prints
events/s, the ratio and the process's peak RSS after each step; drops the database at the
end.
"""

from __future__ import annotations

import argparse
import resource
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import make_url

from campaign_analytics.db import Database
from campaign_analytics.generator import GenerateReport, generate_dataset
from campaign_analytics.generator.writer import COPY_STATEMENTS
from campaign_analytics.migrate import upgrade
from campaign_analytics.settings import Settings
from campaign_analytics.workspaces import create_workspace

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
BASELINE_TABLE = "bench_copy_baseline"
LINES_PER_WRITE = 10_000
SERVER_SETTINGS = ("server_version", "shared_buffers", "max_wal_size", "synchronous_commit")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def libpq_url(url: str, database: str) -> str:
    """The URL for psycopg itself (no SQLAlchemy driver suffix), on another database."""
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A fresh database, migrated to head, dropped afterwards whatever happens."""
    name = f"ca_bench_{secrets.token_hex(4)}"
    admin = libpq_url(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = libpq_url(server_url, name)
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def baseline_copy(url: str, workspace_id: str, campaign_id: str, rows: int) -> float:
    """Seconds to COPY ``rows`` copies of one event line into an index-free UNLOGGED table."""
    line = (
        f"{workspace_id}\t{campaign_id}\tgen1-m123456\tgen-1-1234567\topened\t"
        "2026-01-15 10:11:12+00\t\\N\t\\N\t\\N\tMozilla/5.0 (Windows NT 10.0; Win64; x64)"
        " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\t84.12.34.56\n"
    )
    chunk = line * LINES_PER_WRITE
    statement = COPY_STATEMENTS["email_events"].replace("email_events", BASELINE_TABLE, 1)
    with psycopg.connect(url) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {BASELINE_TABLE}")
        conn.execute(
            f"CREATE UNLOGGED TABLE {BASELINE_TABLE}"
            " (LIKE email_events INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(statement) as copy:  # type: ignore[arg-type]
            full, rest = divmod(rows, LINES_PER_WRITE)
            for _ in range(full):
                copy.write(chunk)
            copy.write(line * rest)
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute(f"DROP TABLE {BASELINE_TABLE}")
        conn.commit()
    return elapsed


def first_campaign(url: str, workspace_id: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT id FROM campaigns WHERE workspace_id = %s ORDER BY id LIMIT 1", (workspace_id,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def print_server(url: str) -> None:
    with psycopg.connect(url) as conn:
        values = [f"{name}={conn.execute(f'SHOW {name}').fetchone()[0]}"  # type: ignore[index]
                  for name in SERVER_SETTINGS]
    print("server: " + ", ".join(values))


def print_report(report: GenerateReport) -> None:
    rows = ", ".join(f"{table} {count:,}" for table, count in sorted(report.rows.items()))
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(report.events_by_type.items()))
    print(f"  rows: {rows}")
    print(f"  events: {kinds} (orphans {report.orphan_events:,})")


def run(server_url: str, sizes: list[int]) -> None:
    with scratch_database(server_url) as url:
        print_server(url)
        print(f"peak RSS before generating: {peak_rss_mb():.0f} MB (interpreter and imports)")
        database = Database.connect(url)
        try:
            with database.sessions() as session:
                workspace, _ = create_workspace(session, "Benchmark", "Europe/Berlin")
            for seed, size in enumerate(sizes, start=1):
                report = generate_dataset(database, workspace.id, size, seed)
                generate_rss = peak_rss_mb()
                seconds = baseline_copy(url, workspace.id, first_campaign(url, workspace.id), size)
                print(
                    f"{size:,} events: generate {report.elapsed_seconds:.1f} s"
                    f" ({report.events_per_second:,.0f} events/s, peak RSS {generate_rss:.0f} MB)"
                    f" | bare COPY baseline {seconds:.1f} s ({size / seconds:,.0f} rows/s,"
                    f" peak RSS {peak_rss_mb():.0f} MB)"
                    f" | generate takes {report.elapsed_seconds / seconds:.1f}x the baseline"
                )
                print_report(report)
        finally:
            database.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000],
                        help="data set sizes, in events (default 1000000)")
    args = parser.parse_args()
    run(Settings().database_url or DEFAULT_SERVER, args.events)


if __name__ == "__main__":
    main()
