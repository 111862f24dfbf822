"""The JSON error envelope for every failure, from one place: domain errors, Flask's own
HTTP errors, an unreachable database, and anything unexpected. Never HTML, never a trace."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from campaign_analytics.db import is_unavailable
from campaign_analytics.errors import DomainError, NotFound

log = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "UNAUTHORIZED": 401,
    "VALIDATION_ERROR": 400,
    "INVALID_JSON": 400,
    "INVALID_TIME_RANGE": 400,
    "DOWNLOAD_INVALID": 403,
    "METHOD_NOT_ALLOWED": 405,
    "INVALID_STATUS_TRANSITION": 409,
    "IDEMPOTENCY_KEY_REUSED": 409,
    "ACCOUNT_ALREADY_EXISTS": 409,
    "DOWNLOAD_EXPIRED": 410,
    "PAYLOAD_TOO_LARGE": 413,
    "RATE_LIMITED": 429,
    "SERVICE_UNAVAILABLE": 503,
}

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "INVALID_JSON",
    429: "RATE_LIMITED",
}


class ApiError(Exception):
    """An error that exists only at the HTTP edge (authentication, request parsing)."""

    def __init__(self, code: str, message: str, status: int, details: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.details = code, message, status, details


def unauthorized(message: str) -> ApiError:
    return ApiError("UNAUTHORIZED", message, 401)


def error_response(code: str, message: str, status: int, details: Any = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None or code == "VALIDATION_ERROR":
        error["details"] = details if details is not None else {}
    response = jsonify({"success": False, "error": error})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _domain_error(exc: DomainError) -> Response:
    status = 404 if isinstance(exc, NotFound) else STATUS_BY_CODE.get(exc.code, 400)
    return error_response(exc.code, exc.message, status, exc.details)


def _api_error(exc: ApiError) -> Response:
    return error_response(exc.code, exc.message, exc.status, exc.details)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = HTTP_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")
    messages = {
        404: "No such endpoint",
        405: "Method not allowed on this endpoint",
        413: "Request body is too large",
    }
    response = error_response(code, messages.get(status, exc.description or exc.name), status)
    if status == 405 and exc.get_response().headers.get("Allow"):
        response.headers["Allow"] = exc.get_response().headers["Allow"]
    return response


def _database_error(exc: DBAPIError) -> Response:
    if not is_unavailable(exc):
        return _unexpected(exc)
    log.warning("database unavailable: %s", exc.__class__.__name__)
    response = error_response(
        "SERVICE_UNAVAILABLE", "The database is unavailable; try again shortly", 503
    )
    response.headers["Retry-After"] = "5"
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return error_response("INTERNAL_ERROR", "Internal server error", 500)


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(Exception, _unexpected)
