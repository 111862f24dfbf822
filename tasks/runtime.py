"""What a task needs from the app it runs in (tasks run inside the Flask app context)."""

from __future__ import annotations

from flask import current_app

from campaign_analytics.db import Database
from campaign_analytics.jobs.outbox import Publisher
from campaign_analytics.settings import Settings


def database() -> Database:
    db: Database = current_app.extensions["database"]
    return db


def settings() -> Settings:
    value: Settings = current_app.extensions["settings"]
    return value


def publisher() -> Publisher:
    value: Publisher = current_app.extensions["job_publisher"]
    return value
