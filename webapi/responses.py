"""The success envelope."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import Response, current_app, jsonify
from pydantic import BaseModel
from sqlalchemy.orm import Session

from campaign_analytics.lru import Lru

from .database import db_session, snapshot_session

# What an answer is kept under (None: not kept), and how to build it.
Answer = tuple[Hashable | None, Callable[[], BaseModel]]
# Bodies of answers that are exact for their key; see ``cached_answer``.
_BODIES = Lru(512)


def ok(data: BaseModel | list[BaseModel] | dict[str, Any], status: int = 200,
       **extra: Any) -> Response:
    if isinstance(data, BaseModel):
        payload: Any = data.model_dump(mode="json")
    elif isinstance(data, list):
        payload = [item.model_dump(mode="json") for item in data]
    else:
        payload = data
    response = jsonify({"success": True, "data": payload, **extra})
    response.status_code = status
    return response


def cached_answer(answer: Callable[[Session], Answer]) -> Response:
    """200 with a body kept under the key ``answer`` gives, which must name everything the
    body depends on (the domain's ``*_key`` functions say what). The key is first read
    with the request's one-statement reads, so a hit costs that statement; on a miss
    ``answer`` runs again inside a snapshot, so the body kept is exactly what its key names."""
    key, _ = answer(db_session())
    body = _BODIES.get(key) if key is not None else None
    if body is None:
        key, build = answer(snapshot_session())
        body = ok(build()).get_data()
        if key is not None:
            _BODIES.put(key, body)
    return current_app.response_class(body, mimetype="application/json")
