"""Every job of the workspace (exports and refreshes included) and the diagnostic job."""

from __future__ import annotations

from flask import Response, current_app

from campaign_analytics.jobs import outbox, store

from ..auth import workspace_blueprint
from ..database import db_session
from ..openapi import operation
from ..responses import ok
from ..schemas.jobs import DiagnosticRequest, JobListQuery, JobOut

bp = workspace_blueprint("jobs", __name__)


@bp.get("/jobs")
@operation("List jobs, newest first", response=JobOut, query=JobListQuery, tags=("jobs",),
           paginated=True)
def list_jobs(workspace_id: str, query: JobListQuery) -> Response:
    page = store.list_jobs(
        db_session(), workspace_id, kind=query.kind, status=query.status,
        limit=query.limit, cursor=query.cursor,
    )
    return ok([JobOut.of(job) for job in page.items], next_cursor=page.next_cursor)


@bp.get("/jobs/<job_id>")
@operation("One job's status, progress and outcome", response=JobOut, tags=("jobs",))
def show_job(workspace_id: str, job_id: str) -> Response:
    return ok(JobOut.of(store.get_job(db_session(), workspace_id, job_id)))


@bp.post("/jobs/diagnostics")
@operation(
    "Run a diagnostic job through the whole pipeline", response=JobOut, body=DiagnosticRequest,
    status=202, tags=("jobs",),
    description=(
        "Walks `steps` timed steps on the maintenance queue, reporting progress. It proves "
        "that the API, broker, workers and sweeper work end to end; it reads no data."
    ),
)
def create_diagnostic(workspace_id: str, body: DiagnosticRequest) -> Response:
    job = outbox.submit(
        db_session(), current_app.extensions["job_publisher"], kind="diagnostic",
        workspace_id=workspace_id, params=body.model_dump(),
    )
    return ok(JobOut.of(job), status=202)
