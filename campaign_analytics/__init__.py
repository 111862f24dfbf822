"""Campaign analytics domain: models, jobs, and everything the API and the tasks share.

Import rule: nothing here imports Flask, Celery, ``webapi``, ``worker`` or ``tasks``
(see README.md in this folder; ``tests/test_layering.py`` enforces it).
"""
