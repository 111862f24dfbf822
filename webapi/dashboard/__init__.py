"""The dashboard at ``/app/``: static files served by the API itself, no separate server.

The page is plain ES modules plus Chart.js, vendored from npm into ``static/vendor`` (see
``web/``), so it works offline and needs no build step at install time. It calls only the
public API, with the key the person pasted (kept in ``sessionStorage``, sent as the Bearer
header, never in a URL or a cookie).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

STATIC = Path(__file__).parent / "static"

# Only this origin: no CDN, no third-party request, no inline script; nothing may frame it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

bp = Blueprint("dashboard", __name__, url_prefix="/app")


@bp.after_request
def _protect(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"  # revalidate: a deploy shows at once
    return response


@bp.get("")
def _slash() -> Response:
    return Response(status=308, headers={"Location": "/app/"})  # no HTML body


@bp.get("/")
def index() -> Response:
    return send_from_directory(STATIC, "index.html")


@bp.get("/<path:filename>")
def asset(filename: str) -> Response:
    """A missing file is the API's JSON 404 (send_from_directory refuses ``..``)."""
    return send_from_directory(STATIC, filename)
