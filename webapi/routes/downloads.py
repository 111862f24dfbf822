"""``GET /api/v1/downloads/<token>``: a completed export's file, for whoever holds a signed
link (no API key, no workspace rate limit: the token is the authorisation).

Local storage only; with S3 the status read hands out presigned URLs instead (a token
reaching this route then is redirected to one). See campaign_analytics/exports/downloads.py
for what a token names and how it fails (403 DOWNLOAD_INVALID, 410 DOWNLOAD_EXPIRED).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app, redirect, request, send_file

from campaign_analytics.errors import DownloadExpired
from campaign_analytics.exports import downloads
from campaign_analytics.exports.spec import ExportParams
from campaign_analytics.exports.storage import Storage, storage_from_settings
from campaign_analytics.models import Job
from campaign_analytics.settings import Settings

from ..database import db_session
from ..openapi import operation

bp = Blueprint("downloads", __name__, url_prefix="/api/v1/downloads")


def settings() -> Settings:
    value: Settings = current_app.extensions["settings"]
    return value


def export_storage() -> Storage:
    """Built once per app from STORAGE_URL."""
    storage: Storage | None = current_app.extensions.get("export_storage")
    if storage is None:
        storage = storage_from_settings(settings())
        current_app.extensions["export_storage"] = storage
    return storage


def download_link(job: Job) -> tuple[str | None, datetime | None]:
    """A fresh link to a completed export's file and when it stops working; (None, None)
    for any other status. Local storage: an absolute URL on the host the client called;
    S3: a presigned URL of the same lifetime."""
    if not job.file_key:
        return None, None
    try:
        issued = downloads.issue(settings(), job)
    except ValueError:
        return None, None
    storage = export_storage()
    presign = getattr(storage, "presigned_url", None)
    if presign is not None:
        params = ExportParams.from_params(job.params)
        url = presign(job.file_key, settings().download_url_ttl_seconds,
                      params.file_name(job.id), params.content_type())
        return str(url), issued.expires_at
    return f"{request.host_url.rstrip('/')}/api/v1/downloads/{issued.token}", issued.expires_at


@bp.get("/<token>")
@operation(
    "Download a completed export's file with a signed link", response=None, public=True,
    tags=("exports",), errors=("403", "410"), raw_content_type="application/octet-stream",
    description=(
        "No API key: the link from `GET /analytics/exports/{export_id}` is the authorisation, "
        "valid `DOWNLOAD_URL_TTL_SECONDS` (1 hour by default). Serves the file as an "
        "attachment with its Content-Type (`text/csv; charset=utf-8`, "
        "`application/x-ndjson`, or `application/gzip` for gzip), Content-Length, an ETag "
        "(the file's sha256) and Range requests (206; If-Range, If-None-Match → 304). "
        "403 `DOWNLOAD_INVALID`: the link was altered; 410 `DOWNLOAD_EXPIRED`: the link is "
        "older than its lifetime, or the export was deleted or expired since."
    ),
)
def download(token: str) -> Response:
    session = db_session()
    job = downloads.downloadable(session, settings(), token)
    params = ExportParams.from_params(job.params)
    key, sha256 = str(job.file_key), job.file_sha256
    session.close()  # the file may take minutes to send: hold no connection meanwhile
    storage = export_storage()
    local_path = getattr(storage, "local_path", None)
    if local_path is None:  # S3: the object store serves it
        url = storage.presigned_url(  # type: ignore[attr-defined]
            key, settings().download_url_ttl_seconds, params.file_name(job.id),
            params.content_type())
        return redirect(url, code=302)
    path = local_path(key)
    if not path.is_file():
        raise DownloadExpired("This export's file was deleted or has expired")
    response = send_file(
        path, mimetype=params.content_type(), as_attachment=True,
        download_name=params.file_name(job.id), conditional=True, etag=sha256 or True,
        max_age=0,
    )
    response.headers["Content-Type"] = params.content_type()  # werkzeug would add a charset
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
