"""The Celery entry point for ``celery -A worker worker|beat|flower``."""

from webapi import create_app

from .logs import use_service_logging
from .metrics import serve_from_the_main_process

flask_app = create_app()
app = flask_app.extensions["celery"]
use_service_logging(flask_app.extensions["settings"])
serve_from_the_main_process(flask_app.extensions["settings"])
