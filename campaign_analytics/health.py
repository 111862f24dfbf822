"""Reachability checks of the two services the system cannot work without."""

from __future__ import annotations

import redis

from .db import Database


def check_database(db: Database) -> bool:
    try:
        db.ping()
    except Exception:
        return False
    return True


def check_redis(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()
