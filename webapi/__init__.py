"""Flask API: ``create_app`` assembles the application; blueprints live in ``routes/``."""

from __future__ import annotations

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin

from campaign_analytics.db import Database
from campaign_analytics.logs.setup import configure_logging
from campaign_analytics.settings import Settings, get_settings

from . import dashboard, database, errors, limits, metrics, request_logging
from .routes import (
    accounts,
    analytics,
    campaigns,
    deliverability,
    downloads,
    export_schedules,
    exports,
    health,
    ingestion,
    jobs,
    leads,
    webhooks,
    workspace_analytics,
    workspaces,
)

BLUEPRINTS = (
    health.bp, workspaces.caller_bp, workspaces.bp, jobs.bp, campaigns.bp, leads.bp,
    accounts.bp, ingestion.bp, analytics.bp, workspace_analytics.bp, deliverability.bp,
    exports.bp, export_schedules.bp, downloads.bp, webhooks.bp, dashboard.bp,
)


class _NoSessions(SessionInterface):
    """The API keeps no session: a key comes with every request. Flask's cookie session
    would still build a signer for each request to find no cookie."""

    def open_session(self, app: Flask, request: Request) -> None:
        return None  # Flask then hands out a NullSession, which refuses writes

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None  # never called for a NullSession


def create_app(settings: Settings | None = None) -> Flask:
    from worker.app import celery_init_app  # worker imports webapi for its entry point

    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=64 * 1024 * 1024)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.session_interface = _NoSessions()
    app.extensions["settings"] = settings

    db = Database.connect(settings.require_database_url())
    request_logging.init_app(app)  # first: the request id and start time for the rest
    database.init_app(app, db)
    errors.init_app(app)
    metrics.init_app(app)
    celery_init_app(app, settings, db)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    limits.init_app(app, settings)  # wraps the registered views, so it comes after them
    return app
