"""``celery_init_app``: Flask's "Background Tasks with Celery" pattern."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init
from flask import Flask

from campaign_analytics.db import Database
from campaign_analytics.settings import Settings

from .config import celery_config
from .publisher import CeleryPublisher
from .shutdown import hand_back_on_shutdown


def celery_init_app(app: Flask, settings: Settings, db: Database) -> Celery:
    """Build Celery from the settings; every task runs inside the Flask app context."""

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.config_from_object(celery_config(settings))
    celery.set_default()

    def _fresh_pool(**_: Any) -> None:
        # A forked child must not reuse the parent's pooled connections.
        db.engine.dispose(close=False)

    worker_process_init.connect(_fresh_pool, weak=False)
    hand_back_on_shutdown(db)
    app.extensions["celery"] = celery
    app.extensions["job_publisher"] = CeleryPublisher(celery)
    return celery
