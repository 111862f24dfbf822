"""``campaign-analytics refresh``: request a refresh job, and optionally wait for it."""

from __future__ import annotations

import time

import click

from campaign_analytics.analytics.refresh import RefreshMode
from campaign_analytics.analytics.requests import request_refresh
from campaign_analytics.analytics.scheduling import request_refreshes
from campaign_analytics.db import Database
from campaign_analytics.jobs.store import get_job
from campaign_analytics.models import Job
from campaign_analytics.models.vocabulary import JobStatus
from campaign_analytics.workspaces import get_workspace

from .broker import command_publisher
from .database import command_database
from .errors import CommandFailed, UsageProblem

POLL_SECONDS = 0.5
FINISHED = {JobStatus.COMPLETED.value, JobStatus.FAILED.value, JobStatus.CANCELED.value}


@click.command()
@click.option("--workspace", "workspace_ids", multiple=True,
              help="Workspace id (ws_...); repeat for several.  [default: every workspace]")
@click.option("--full", is_flag=True,
              help="Rebuild the rollups from every event instead of adding the new ones.")
@click.option("--campaign", "campaign_ids", multiple=True,
              help="With --full and one --workspace: rebuild only this campaign (repeatable).")
@click.option("--wait", is_flag=True,
              help="Wait until the job is done and print its result; exit 1 if it failed.")
@click.option("--timeout", type=click.FloatRange(min=0), default=None,
              help="With --wait: stop waiting after this many seconds (exit 1).")
def refresh(workspace_ids: tuple[str, ...], full: bool, campaign_ids: tuple[str, ...],
            wait: bool, timeout: float | None) -> None:
    """Ask a worker to bring the rollups up to date, like POST /analytics/refresh.

    A queued refresh of the same scope and mode is joined rather than repeated. The
    database is DATABASE_URL, else the running dev stack's; the job is published to
    REDIS_URL, else the dev stack's (failing that, the sweeper publishes it).
    """
    if campaign_ids and len(workspace_ids) != 1:
        raise UsageProblem("--campaign needs exactly one --workspace")
    mode = RefreshMode.FULL if full else RefreshMode.INCREMENTAL
    with command_database() as db:
        jobs = _request(db, list(workspace_ids), mode, list(campaign_ids))
        for job in jobs:
            click.echo(f"refresh {job.id} {job.status}: {mode.value}, {_scope(job)}")
        if wait:
            _wait(db, jobs, timeout)


def _request(db: Database, workspace_ids: list[str], mode: RefreshMode,
             campaign_ids: list[str]) -> list[Job]:
    with db.sessions() as session, command_publisher() as publisher:
        for workspace_id in workspace_ids:
            get_workspace(session, workspace_id)
        if campaign_ids:
            return [request_refresh(session, publisher, workspace_ids[0], mode, campaign_ids)]
        return list(request_refreshes(session, publisher, mode,
                                      workspace_ids or None).values())


def _scope(job: Job) -> str:
    campaigns = job.params.get("campaign_ids") or []
    where = f"workspace {job.workspace_id}"
    return f"{where}, campaigns {', '.join(campaigns)}" if campaigns else where


def _wait(db: Database, jobs: list[Job], timeout: float | None) -> None:
    """Poll until every job is finished; print each outcome as it comes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pending = {job.id: job.workspace_id or "" for job in jobs}
    failures = 0
    while pending:
        with db.sessions() as session:
            for job_id, workspace_id in list(pending.items()):
                job = get_job(session, workspace_id, job_id)
                if job.status in FINISHED:
                    del pending[job_id]
                    failures += not _report(job)
        if not pending:
            break
        if deadline is not None and time.monotonic() >= deadline:
            raise CommandFailed(f"still not done after {timeout:g} s: {', '.join(pending)} "
                                "(the jobs go on; follow them with GET /jobs/{job_id})")
        time.sleep(POLL_SECONDS)
    if failures:
        raise CommandFailed(f"{failures} of {len(jobs)} refresh jobs did not complete")


def _report(job: Job) -> bool:
    """Print the outcome; True when the job completed."""
    if job.status == JobStatus.COMPLETED.value:
        result = job.result or {}
        events = result["new_events"]
        click.echo(f"refresh {job.id} completed: {events} new events, "
                   f"as of {result.get('as_of')}")
        return True
    reason = f"{job.error_code}: {job.error_message}" if job.error_code else "canceled"
    click.echo(f"refresh {job.id} {job.status}: {reason}", err=True)
    return False
