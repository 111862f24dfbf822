"""``campaign-analytics workspace ...``: workspaces (tenants) and their API keys."""

from __future__ import annotations

import json

import click

from campaign_analytics.workspaces import create_workspace

from .database import command_database


@click.group()
def workspace() -> None:
    """Create workspaces (tenants) and their API keys."""


@workspace.command("create")
@click.option("--name", required=True, help="Display name, 1-200 characters.")
@click.option("--timezone", default="UTC", show_default=True,
              help="IANA time zone the workspace's days are counted in.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"workspace_id": ..., "api_key": ...} as JSON.')
def create(name: str, timezone: str, as_json: bool) -> None:
    """Create a workspace and its first API key; the key is printed only this once.

    The database is DATABASE_URL, else the one of the dev stack that `up` is running.
    """
    workspace_id, api_key = _create(name, timezone)
    if as_json:
        click.echo(json.dumps({"workspace_id": workspace_id, "api_key": api_key}))
    else:
        click.echo(f"Workspace: {workspace_id}")
        click.echo(f"API key (shown only now): {api_key}")


def _create(name: str, timezone: str) -> tuple[str, str]:
    with command_database() as db, db.sessions() as session:
        created, api_key = create_workspace(session, name, timezone)
        return created.id, api_key
