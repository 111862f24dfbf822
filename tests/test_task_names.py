"""Task names and queues are a contract with messages already in Redis: pinned here."""

from __future__ import annotations

from flask import Flask

from campaign_analytics.jobs.catalog import KINDS
from campaign_analytics.jobs.kinds import Queue
from worker.publisher import RUN_JOB_TASK
from worker.schedule import (
    DELIVER_WEBHOOKS_TASK,
    RUN_EXPORT_SCHEDULES_TASK,
    SCHEDULE_REFRESHES_TASK,
)


def test_task_names_are_pinned(app: Flask) -> None:
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()
    ours = {name for name in celery.tasks if not name.startswith("celery.")}
    assert ours == {"jobs.run", "maintenance.sweep_jobs", "analytics.schedule_refreshes",
                    "maintenance.expire_exports", "webhooks.deliver_due", "schedules.run_due"}
    assert RUN_JOB_TASK == "jobs.run"
    assert SCHEDULE_REFRESHES_TASK == "analytics.schedule_refreshes"
    assert DELIVER_WEBHOOKS_TASK == "webhooks.deliver_due"
    assert RUN_EXPORT_SCHEDULES_TASK == "schedules.run_due"


def test_the_cli_publishes_the_workers_task() -> None:
    from cli.broker import RUN_JOB_TASK as CLI_RUN_JOB_TASK

    assert CLI_RUN_JOB_TASK == RUN_JOB_TASK


def test_beat_runs_the_refreshes_on_the_maintenance_queue(app: Flask) -> None:
    schedule = app.extensions["celery"].conf.beat_schedule
    full, incremental = schedule["refresh-full"], schedule["refresh-incremental"]
    assert (full["args"], incremental["args"]) == (("full",), ("incremental",))
    assert str(full["schedule"]) == "<crontab: 0 2 * * * (m/h/dM/MY/d)>"
    assert incremental["schedule"] == 300
    assert {full["options"]["queue"], incremental["options"]["queue"]} == {"maintenance"}
    webhooks = schedule["deliver-webhooks"]
    assert (webhooks["task"], webhooks["schedule"]) == ("webhooks.deliver_due", 10)
    assert webhooks["options"] == {"queue": "maintenance", "expires": 10}
    schedules = schedule["run-export-schedules"]
    assert (schedules["task"], schedules["schedule"]) == ("schedules.run_due", 30)
    assert schedules["options"] == {"queue": "maintenance", "expires": 30}


def test_queues_are_pinned(app: Flask) -> None:
    celery = app.extensions["celery"]
    assert {queue.name for queue in celery.conf.task_queues} == {
        "exports", "analytics", "maintenance",
    }
    assert {kind.queue for kind in KINDS.values()} <= set(Queue)


def test_reliability_settings(app: Flask) -> None:
    conf = app.extensions["celery"].conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result
    assert conf.timezone == "UTC" and conf.enable_utc
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert visibility > conf.task_time_limit
    assert conf.beat_scheduler == "worker.beat:SingleBeatScheduler"


def test_workers_send_the_task_events_flower_watches(app: Flask) -> None:
    conf = app.extensions["celery"].conf
    assert conf.worker_send_task_events and conf.task_send_sent_event
