"""Per-workspace rate limits (SPEC §4), counted in Redis by Flask-Limiter so that every API
process draws on the same budget.

A workspace view joins a category with ``@rate_limited("campaign_analytics")``; every other
view behind ``require_workspace_key`` (or ``require_key``: ``/api/v1/me``) counts against
``default``. All views of a category
share one budget per workspace. ``exports`` is meant for the requests that *create* an
export; polling one stays in ``default``.

* The check runs when the view is called, i.e. after the blueprint's authentication: only a
  request with a valid key for the path's workspace is counted, and it is charged to that
  workspace. A request without one is answered 401 (or 404) by authentication and touches
  no counter, so nobody can spend another workspace's budget. Public endpoints (health,
  metrics, the OpenAPI document, downloads) are not limited.
* A fixed one-minute window opened by the window's first request; every request counts,
  rejected ones included, so the (limit + 1)-th request of the window gets 429
  ``RATE_LIMITED`` with ``Retry-After``.
* If Redis is unreachable the API keeps answering: each process counts in its own memory
  (Flask-Limiter logs a warning) and goes back to Redis once it answers again.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args

from flask import Flask, Response, g
from flask_limiter import Limiter
from redis import RedisError

from campaign_analytics.settings import Settings

from .auth import require_key, require_workspace_key

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

Category = Literal["campaign_analytics", "overview", "deliverability", "exports", "default"]
CATEGORIES: tuple[Category, ...] = get_args(Category)

WINDOW_SECONDS = 60  # SPEC §4 budgets are per minute
# A slow Redis must not stall every request: past this, the in-memory fallback takes over.
STORAGE_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class RateLimit:
    """The budget a view draws on; set on the wrapped view for the OpenAPI document."""

    category: Category
    per_minute: int


def per_minute(settings: Settings) -> dict[Category, int]:
    """Each category's requests per workspace per minute (RATE_LIMIT_<CATEGORY>)."""
    return {
        "campaign_analytics": settings.rate_limit_campaign_analytics,
        "overview": settings.rate_limit_overview,
        "deliverability": settings.rate_limit_deliverability,
        "exports": settings.rate_limit_exports,
        "default": settings.rate_limit_default,
    }


def rate_limited(category: Category) -> Callable[[F], F]:
    """Count a workspace view against ``category`` instead of ``default``.

    Only marks the view (anywhere in its decorator stack); ``init_app`` applies the limit.
    """
    if category not in CATEGORIES:
        raise ValueError(f"Unknown rate-limit category {category!r}; use one of {CATEGORIES}")

    def mark(view: F) -> F:
        view.rate_limit_category = category  # type: ignore[attr-defined]
        return view

    return mark


def _workspace() -> str:
    """The key to count by; set by ``require_key`` before the view runs."""
    return str(g.get("workspace_id", ""))


def _authenticated_blueprints(app: Flask) -> set[str]:
    return {
        name for name, hooks in app.before_request_funcs.items()
        if name and ({require_key, require_workspace_key} & set(hooks))
    }


def _is_workspace_scoped(endpoint: str, blueprints: set[str]) -> bool:
    parents = endpoint.split(".")[:-1]  # nested blueprints: "outer.inner.view"
    return any(".".join(parents[:depth]) in blueprints for depth in range(1, len(parents) + 1))


def _add_headers(limiter: Limiter, response: Response) -> Response:
    """``X-RateLimit-*`` on every counted response, ``Retry-After`` on 429 only (Flask-Limiter
    would put ``Retry-After`` on successes too)."""
    current = limiter.current_limit
    if current is None:
        return response
    try:
        window = current.window
    except RedisError as exc:  # Redis went away between the check and the response
        log.warning("rate-limit headers left out: storage unreachable (%s)", exc)
        return response
    response.headers["X-RateLimit-Limit"] = str(current.limit.amount)
    response.headers["X-RateLimit-Remaining"] = str(window.remaining)
    response.headers["X-RateLimit-Reset"] = str(math.ceil(window.reset_time))
    if response.status_code == 429:
        seconds = math.ceil(window.reset_time - time.time())
        response.headers["Retry-After"] = str(min(max(1, seconds), WINDOW_SECONDS))
    return response


def init_app(app: Flask, settings: Settings) -> None:
    """Put every workspace-scoped view under its category's limit.

    Call after the blueprints are registered: the views are found in ``app.view_functions``.
    """
    marked = [
        endpoint for endpoint, view in app.view_functions.items()
        if hasattr(view, "rate_limit_category")
    ]
    scoped = _authenticated_blueprints(app)
    unscoped = [endpoint for endpoint in marked if not _is_workspace_scoped(endpoint, scoped)]
    if unscoped:
        raise RuntimeError(f"@rate_limited on views without a workspace key: {unscoped}")
    if not settings.rate_limits_enabled:
        return

    limiter = Limiter(
        _workspace,
        strategy="fixed-window",
        storage_uri=settings.require_rate_limit_storage_url(),
        storage_options={
            "socket_connect_timeout": STORAGE_TIMEOUT_SECONDS,
            "socket_timeout": STORAGE_TIMEOUT_SECONDS,
        },
        key_prefix=settings.rate_limit_key_prefix,
        headers_enabled=False,  # _add_headers writes them
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    limiter.init_app(app)
    budgets = per_minute(settings)
    for endpoint, view in list(app.view_functions.items()):
        if not _is_workspace_scoped(endpoint, scoped):
            continue
        category: Category = getattr(view, "rate_limit_category", "default")
        limit = RateLimit(category, budgets[category])
        wrapped = limiter.shared_limit(
            f"{limit.per_minute}/{WINDOW_SECONDS} seconds",
            scope=limit.category,
            error_message=f"Rate limit exceeded: {limit.per_minute} requests per minute for "
                          f"this workspace ({limit.category}); see Retry-After",
        )(view)
        wrapped.rate_limit = limit  # type: ignore[attr-defined]
        app.view_functions[endpoint] = wrapped
    app.after_request(functools.partial(_add_headers, limiter))
