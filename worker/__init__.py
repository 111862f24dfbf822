"""The Celery side: the app (``worker.celery``), its configuration and the beat schedule.

``celery -A worker worker`` finds the app in ``worker/celery.py``. Importing this package
does no work, so ``webapi`` can import ``worker.app`` without building a second app.
"""
