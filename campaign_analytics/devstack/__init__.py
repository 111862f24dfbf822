"""Embedded PostgreSQL and Redis, so the dev stack and the tests run on a machine with
nothing but Python (SPEC section 3). Domain package rules apply: no Flask, no Celery."""
