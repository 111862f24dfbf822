"""``campaign-analytics generate``: a realistic, reproducible data set, written with COPY.

It ends with a full refresh of the workspace, run here rather than as a job: the command
is local, needs no broker or worker, and the numbers are there the moment it returns.
"""

from __future__ import annotations

import time

import click
from tqdm import tqdm

from campaign_analytics.analytics.refresh import RefreshMode, refresh
from campaign_analytics.db import Database
from campaign_analytics.generator import GenerateReport, generate_dataset

from .database import command_database


def summary(report: GenerateReport) -> str:
    tables = ", ".join(f"{name} {count}" for name, count in report.rows.items())
    return (f"generated {report.events} events in {report.elapsed_seconds:.1f}s "
            f"({report.events_per_second:,.0f}/s), {report.start:%Y-%m-%d} to "
            f"{report.end:%Y-%m-%d}: {tables}")


def refresh_rollups(db: Database, workspace_id: str) -> str:
    """A full refresh of the workspace, in this process; returns the line to print."""
    started = time.monotonic()
    result = refresh(db, workspace_id, RefreshMode.FULL)
    return (f"refreshed the rollups in {time.monotonic() - started:.1f}s: watermark "
            f"{result.watermark}, as of {result.as_of.isoformat()}")


@click.command()
@click.option("--workspace", "workspace_id", required=True, help="Workspace id (ws_...).")
@click.option("--events", type=click.IntRange(min=1), required=True,
              help="How many events to write (the result is within 1 %).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="The same seed gives the same data; each seed once per workspace.")
def generate(workspace_id: str, events: int, seed: int) -> None:
    """Write campaigns, accounts, leads, messages, events and replies for WORKSPACE.

    Covers the 120 days before now, in the workspace's time zone, and ends with a full
    refresh of the workspace's rollups so analytics show the data at once.
    """
    with command_database() as db:
        with tqdm(total=events, unit="events", unit_scale=True) as bar:
            report = generate_dataset(db, workspace_id, events, seed,
                                      progress=lambda written: bar.update(written - bar.n))
        click.echo(summary(report))
        click.echo(refresh_rollups(db, workspace_id))
