"""Export schedule models. Request bodies are the domain's own (``ScheduleFields``,
``ScheduleChanges``), whose ``export`` is the single export's ``ExportRequest``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from campaign_analytics.models import ExportSchedule
from campaign_analytics.models.schedule import CadenceType, ScheduleStatus
from campaign_analytics.models.vocabulary import JobStatus
from campaign_analytics.schedules.cadence import Weekday, describe
from campaign_analytics.schedules.records import ScheduleChanges, ScheduleFields

from .common import UtcDatetime

__all__ = ["ScheduleChanges", "ScheduleFields"]


class CadenceOut(BaseModel):
    type: CadenceType
    time: str | None = Field(description="daily and weekly: HH:MM local time")
    weekday: Weekday | None = Field(description="weekly only")
    cron: str = Field(description="The cron expression every type runs on, in the timezone")
    description: str = Field(description="The cadence in words", examples=["At 09:00 on Monday"])


class LastRun(BaseModel):
    export_id: str
    status: JobStatus


class ScheduleOut(BaseModel):
    id: str
    name: str
    status: ScheduleStatus
    export: dict[str, Any] = Field(
        description="The export parameters as validated, defaults filled in")
    schedule: CadenceOut
    timezone: str
    next_run_at: UtcDatetime | None = Field(description="The next slot; null while paused")
    last_run_at: UtcDatetime | None = Field(description="The slot of the last run")
    last_run: LastRun | None = Field(
        description="The last run's export (GET /analytics/exports/{export_id}); null before "
                    "the first run or when the last one could not be submitted")
    last_error: str | None = Field(description="Why the last run could not be submitted")
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, schedule: ExportSchedule, run_status: str | None) -> ScheduleOut:
        last_run = (LastRun(export_id=schedule.last_export_id, status=JobStatus(run_status))
                    if schedule.last_export_id and run_status else None)
        return cls(
            id=schedule.id, name=schedule.name, status=ScheduleStatus(schedule.status),
            export=schedule.export, schedule=CadenceOut(
                type=CadenceType(schedule.cadence), time=schedule.time,
                weekday=Weekday(schedule.weekday) if schedule.weekday else None,
                cron=schedule.cron, description=describe(schedule.cron)),
            timezone=schedule.timezone, next_run_at=schedule.next_run_at,
            last_run_at=schedule.last_run_at, last_run=last_run,
            last_error=schedule.last_error, created_at=schedule.created_at,
            updated_at=schedule.updated_at,
        )
