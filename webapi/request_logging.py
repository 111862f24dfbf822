"""Request ids and one log line per request.

Each request gets an id: the caller's ``X-Request-ID`` when it is sane (1 to 128 letters,
digits and ``._:-``), else a new one. Every line logged while the request is handled
carries it as ``request_id``, and the response echoes it in ``X-Request-ID``, so a client
can quote it and an operator can find every line of that request.

The request's own line names the route template, never the path: a download path holds
its signed token. Probes and scrapes (``QUIET_ROUTES``) are logged at DEBUG.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from campaign_analytics.logs.context import bind, unbind

HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})

log = logging.getLogger("webapi.requests")


def _request_id() -> str:
    given = request.headers.get(HEADER, "")
    return given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def route() -> str:
    """The matched route's template (``/api/v1/downloads/<token>``), never the path."""
    return request.url_rule.rule if request.url_rule else "unmatched"


def elapsed_seconds() -> float | None:
    started: float | None = g.get("request_started")
    return None if started is None else time.perf_counter() - started


def _begin() -> None:
    g.request_started = time.perf_counter()
    g.request_id = _request_id()
    g.log_context = bind(request_id=g.request_id)


def _finish(response: Response) -> Response:
    response.headers[HEADER] = g.request_id
    template = route()
    milliseconds = round((elapsed_seconds() or 0.0) * 1000, 1)
    log.log(
        logging.DEBUG if template in QUIET_ROUTES else logging.INFO,
        "%s %s %d %.1fms", request.method, template, response.status_code, milliseconds,
        extra={"http_method": request.method, "route": template,
               "status": response.status_code, "duration_ms": milliseconds},
    )
    return response


def _end(_exc: BaseException | None) -> None:
    token = g.pop("log_context", None)
    if token is not None:
        unbind(token)


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_end)
