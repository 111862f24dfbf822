"""Celery configuration, built from the settings. Each line answers a known way a Celery
on Redis system loses or duplicates work (see docs/reliability.md)."""

from __future__ import annotations

from typing import Any

from kombu import Queue as KombuQueue

from campaign_analytics.jobs.kinds import Queue
from campaign_analytics.settings import Settings

from .beat import schedule_file
from .schedule import beat_schedule

TASK_MODULES = ["tasks.jobs", "tasks.maintenance", "tasks.analytics", "tasks.webhooks",
                "tasks.schedules"]


def celery_config(settings: Settings) -> dict[str, Any]:
    redis_url = settings.require_redis_url()
    return {
        "broker_url": redis_url,
        "broker_connection_retry_on_startup": True,
        # The API publishes after committing; it must fail fast, not hang, when Redis is down.
        "broker_connection_timeout": 2,
        "broker_transport_options": {
            "visibility_timeout": settings.broker_visibility_timeout_seconds,
            "socket_connect_timeout": 2,
            "health_check_interval": 10,
        },
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "task_ignore_result": True,
        "result_backend": None,
        "result_expires": None,  # no results are kept, so beat needs no cleanup task
        "task_soft_time_limit": settings.task_soft_time_limit_seconds,
        "task_time_limit": settings.task_time_limit_seconds,
        "task_queues": [KombuQueue(queue.value) for queue in Queue],
        "task_default_queue": Queue.MAINTENANCE.value,
        "task_create_missing_queues": False,
        "worker_concurrency": settings.worker_concurrency,
        "worker_hijack_root_logger": False,
        # Task events for Flower (docs/operations.md): workers report each task's start and
        # end, publishers its sending.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "timezone": "UTC",
        "enable_utc": True,
        "include": TASK_MODULES,
        "beat_schedule": beat_schedule(settings),
        # One beat at a time: the sender holds an advisory lock in PostgreSQL; others stand
        # by (worker/beat.py). Run times persist in DATA_DIR, so a restart catches up.
        "beat_scheduler": "worker.beat:SingleBeatScheduler",
        "beat_schedule_filename": schedule_file(settings.data_dir),
        # Where beat takes that lock (the name keeps it out of `celery inspect conf`).
        "beat_lock_database_url": settings.database_url,
        "beat_max_loop_interval": max(1, int(settings.sweeper_interval_seconds)),
    }
