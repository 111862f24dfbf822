"""``campaign-analytics ingest``: load events from a JSON Lines or CSV file."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from campaign_analytics.ingestion.files import detect_format, ingest_file
from campaign_analytics.workspaces import get_workspace

from .database import command_database


def _count_records(path: Path, fmt: str) -> int:
    with path.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    return max(lines - 1, 0) if fmt == "csv" else lines


@click.command()
@click.option("--workspace", "workspace_id", required=True, help="Workspace id (ws_...).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]),
              help="File format; by default from the extension (.jsonl/.ndjson/.csv).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ingest(workspace_id: str, fmt: str | None, file: Path) -> None:
    """Load events from FILE with the same validation and idempotency as POST /events.

    Each batch is committed on its own; running the same file again stores nothing twice.
    """
    fmt = detect_format(file, fmt)
    with command_database() as db:
        with db.sessions() as session:
            get_workspace(session, workspace_id)
        with tqdm(total=_count_records(file, fmt), unit="events", unit_scale=True) as bar:
            report = ingest_file(db, workspace_id, file, fmt=fmt, progress=bar.update)
    click.echo(f"read {report.read}: accepted {report.accepted}, "
               f"duplicates {report.duplicates}, rejected {report.rejected}")
    for index, code, message in report.first_rejections:
        click.echo(f"  event #{index + 1}: {code} {message}")
    if report.rejected > len(report.first_rejections):
        click.echo(f"  ... and {report.rejected - len(report.first_rejections)} more rejections")
