"""The success envelope."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from pydantic import BaseModel


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
