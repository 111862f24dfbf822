"""Liveness, readiness, metrics and the OpenAPI document: public, no key."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from campaign_analytics.health import check_database, check_redis
from campaign_analytics.settings import Settings

from ..database import database
from ..errors import error_response
from ..metrics import render
from ..openapi import build_document, operation
from ..responses import ok
from ..schemas.health import Health, Readiness

bp = Blueprint("health", __name__)


def _settings() -> Settings:
    settings: Settings = current_app.extensions["settings"]
    return settings


@bp.get("/healthz")
@operation("The process is alive", response=Health, tags=("operations",), public=True)
def healthz() -> Response:
    return ok(Health(status="ok"))


@bp.get("/readyz")
@operation(
    "The database and the broker are reachable", response=Readiness, tags=("operations",),
    public=True, errors=("503",),
)
def readyz() -> Response:
    checks = Readiness(
        database="ok" if check_database(database()) else "unreachable",
        broker="ok" if check_redis(_settings().require_redis_url()) else "unreachable",
    )
    if checks.database == "ok" and checks.broker == "ok":
        return ok(checks)
    response = error_response(
        "SERVICE_UNAVAILABLE", "A required service is unreachable", 503, checks.model_dump()
    )
    response.headers["Retry-After"] = "5"
    return response


@bp.get("/metrics")
@operation("Prometheus metrics", response=None, tags=("operations",), public=True,
           raw_content_type="text/plain")
def metrics() -> Response:
    return render(database(), _settings().prometheus_multiproc_dir is not None)


@bp.get("/api/v1/openapi.json")
@operation("This OpenAPI 3.1 document", response=None, tags=("operations",), public=True,
           raw_content_type="application/json")
def openapi() -> Response:
    document = current_app.extensions.get("openapi")
    if document is None:
        document = build_document(current_app, title="Campaign Analytics API", version="1")
        current_app.extensions["openapi"] = document
    return current_app.json.response(document)
