"""The ``campaign-analytics`` console script: one click group, one module per command."""

from __future__ import annotations

import click

from .export import export
from .generate import generate
from .ingest import ingest
from .refresh import refresh
from .schedule import schedule
from .up import up
from .workspace import workspace


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Operate the campaign analytics service: run the dev stack, manage workspaces, load data,
    refresh the rollups, export data."""


cli.add_command(up)
cli.add_command(workspace)
cli.add_command(ingest)
cli.add_command(generate)
cli.add_command(refresh)
cli.add_command(export)
cli.add_command(schedule)
