"""Job request and response models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from campaign_analytics.diagnostics import MAX_STEP_SECONDS, MAX_STEPS
from campaign_analytics.jobs.catalog import KINDS
from campaign_analytics.models import Job
from campaign_analytics.models.vocabulary import JobStatus

from .common import ErrorInfo, PageQuery, Strict, UtcDatetime

JobKindName = Literal[tuple(KINDS)]  # type: ignore[valid-type]


class JobOut(BaseModel):
    job_id: str
    kind: str
    status: JobStatus
    params: dict[str, Any]
    progress: dict[str, Any]
    result: dict[str, Any] | None
    error: ErrorInfo | None
    attempts: int
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    expires_at: UtcDatetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        error = (
            ErrorInfo(code=job.error_code, message=job.error_message or "")
            if job.error_code and job.status == JobStatus.FAILED
            else None
        )
        return cls(
            job_id=job.id, kind=job.kind, status=JobStatus(job.status), params=job.params,
            progress=job.progress, result=job.result, error=error, attempts=job.attempts,
            created_at=job.created_at, started_at=job.started_at,
            finished_at=job.finished_at, expires_at=job.expires_at,
        )


class JobListQuery(PageQuery):
    kind: JobKindName | None = Field(None, description="Only jobs of this kind")
    status: JobStatus | None = Field(None, description="Only jobs in this status")


class DiagnosticRequest(Strict):
    steps: int = Field(3, ge=1, le=MAX_STEPS, description="How many steps to walk")
    step_seconds: float = Field(0.5, ge=0, le=MAX_STEP_SECONDS, description="Pause per step")
