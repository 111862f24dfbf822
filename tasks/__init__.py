"""Celery tasks: a few lines each — take ids, call the domain, let it record the outcome.

Task names are pinned (``tests/test_task_names.py``): renaming one would orphan the
messages already queued under the old name.
"""
