"""The success envelope."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import Response, current_app, jsonify, request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from campaign_analytics.analytics.facts import Facts, FactsQuery
from campaign_analytics.lru import Lru

from .auth import facts_read_with_key
from .database import db_session, snapshot_session

# What an answer is kept under (None: not kept), and how to build it in a snapshot.
Answer = tuple[Hashable | None, Callable[[Session], BaseModel]]
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


def cached_answer(query: FactsQuery[Facts], answer: Callable[[Facts], Answer]) -> Response:
    """200 with a body kept under the key ``answer`` gives for ``query``'s facts, which must
    name everything the body depends on (the domain's ``*_key`` functions say what). The
    facts come with the caller's key when the view is marked ``facts_with_key(query)``, so
    a hit costs that one statement; on a miss they are read again inside a snapshot, where
    the body is built, so the body kept is exactly what its key names."""
    params = request.view_args or {}
    facts = facts_read_with_key(query) or query.read(db_session(), params)
    key, _ = answer(facts)
    body = _BODIES.get(key) if key is not None else None
    if body is None:
        session = snapshot_session()
        key, build = answer(query.read(session, params))
        body = ok(build(session)).get_data()
        if key is not None:
            _BODIES.put(key, body)
    return current_app.response_class(body, mimetype="application/json")
