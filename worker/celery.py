"""The Celery entry point for ``celery -A worker worker|beat``."""

from webapi import create_app

flask_app = create_app()
app = flask_app.extensions["celery"]
