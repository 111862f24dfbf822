"""Export schedules: a stored export request and the cadence beat runs it on
(docs/schedules.md). Each run is an ordinary export job whose params name the schedule."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at_column, one_of, updated_at_column
from .job import Job


class ScheduleStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class CadenceType(StrEnum):
    """``daily`` and ``weekly`` are written as the cron expression they stand for."""

    DAILY = "daily"
    WEEKLY = "weekly"
    CRON = "cron"


class ExportSchedule(Base):
    __tablename__ = "export_schedules"
    __table_args__ = (
        one_of("status", ScheduleStatus),
        one_of("cadence", CadenceType),
        Index("ix_export_schedules_workspace_created", "workspace_id", "created_at", "id"),
        # Beat's scan: only active schedules, by when they are due.
        Index("ix_export_schedules_due", "next_run_at",
              postgresql_where=text("status = 'active'")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default=ScheduleStatus.ACTIVE.value)
    # The export request as validated, defaults filled in (ExportRequest.fingerprint()).
    export: Mapped[dict[str, Any]] = mapped_column(JSONB)
    cadence: Mapped[str] = mapped_column(String(8))
    time: Mapped[str | None] = mapped_column(String(5))  # HH:MM, daily and weekly
    weekday: Mapped[str | None] = mapped_column(String(9))  # weekly: monday … sunday
    cron: Mapped[str] = mapped_column(String(200))  # what every cadence runs on
    timezone: Mapped[str] = mapped_column(String(64))
    # The next slot (UTC); null while paused.
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The slot of the last run, its export (null when it could not be submitted) and why.
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_export_id: Mapped[str | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


# A schedule's runs, newest first: export jobs whose params carry {"schedule": {"id", "slot"}}.
Index(
    "ix_jobs_schedule_runs",
    text("((params -> 'schedule'::text) ->> 'id'::text)"),
    Job.__table__.c.created_at,
    postgresql_where=text("params ? 'schedule'"),
)
