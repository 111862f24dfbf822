"""Request validation and the OpenAPI 3.1 document, from the same pydantic models.

``@operation`` checks a view's path ids and parses its JSON body, query string and headers
into its models (any problem → ``VALIDATION_ERROR`` with per-field details), and records
what the document needs. The document is assembled from Flask's URL map, so a route cannot
exist undocumented.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from pydantic_core import from_json

from campaign_analytics.fields import no_nul

from .errors import ApiError
from .limits import RateLimit

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)

REF_TEMPLATE = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    summary: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    # Request headers, each field named by its alias (e.g. "Idempotency-Key").
    headers: type[BaseModel] | None = None
    tags: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    paginated: bool = False
    public: bool = False
    description: str | None = None
    # Raw (non-enveloped) responses, such as Prometheus text or this document itself.
    raw_content_type: str | None = None


def validation_details(exc: ValidationError) -> dict[str, list[str]]:
    details: dict[str, list[str]] = {}
    for error in exc.errors():
        # Drop union-branch tags such as "function-after[...]": users name fields, not types.
        parts = [str(part) for part in error["loc"] if "[" not in str(part)]
        name = ".".join(parts) or "body"
        details.setdefault(name, []).append(error["msg"])
    return details


def _json_body() -> bytes:
    """The raw body, once it is known to be JSON: models validate the text itself."""
    if not request.is_json:
        raise ApiError(
            "INVALID_JSON", "The request body must be JSON (Content-Type: application/json)", 400
        )
    raw = request.get_data(cache=True) or b"null"
    try:
        from_json(raw)  # the parser the models use: both agree on what is JSON
    except ValueError as exc:
        raise ApiError("INVALID_JSON", f"The request body is not valid JSON: {exc}", 400) from exc
    return raw


def parse_json(model: type[M], raw: str | bytes) -> M:
    """Validate JSON text as the document describes it: a value must already have its JSON
    type (``0`` is not ``false``, ``"3"`` is not ``3``, ``false`` is not ``0.0``); only
    strings become what JSON has no type for (enums, dates)."""
    return model.model_validate_json(raw, strict=True)


def _check_path(values: dict[str, Any]) -> None:
    """Path ids are looked up as text, which PostgreSQL cannot hold NUL in: an id with one is
    refused as a field error here, not left to fail in the database."""
    details: dict[str, list[str]] = {}
    for name, value in values.items():
        try:
            no_nul(value)
        except ValueError as exc:
            details[name] = [str(exc)]
    if details:
        raise ApiError("VALIDATION_ERROR", "Invalid path parameters", 400, details)


def _named_headers(model: type[BaseModel]) -> dict[str, str]:
    """The request headers a model names, whatever case the client spelt them in."""
    names = [field.alias or name for name, field in model.model_fields.items()]
    return {name: request.headers[name] for name in names if name in request.headers}


def _parse(what: str, validate: Callable[[], BaseModel]) -> BaseModel:
    try:
        return validate()
    except ValidationError as exc:
        raise ApiError(
            "VALIDATION_ERROR", f"Invalid {what}", 400, validation_details(exc)
        ) from exc


def operation(summary: str, **options: Any) -> Callable[[F], F]:
    spec = Operation(summary=summary, **options)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _check_path(kwargs)
            body, query, headers = spec.body, spec.query, spec.headers
            if body is not None:
                raw = _json_body()
                kwargs["body"] = _parse("request body", lambda: parse_json(body, raw))
            if query is not None:
                kwargs["query"] = _parse("query parameters",
                                         lambda: query.model_validate(request.args.to_dict()))
            if headers is not None:
                kwargs["headers"] = _parse(
                    "headers", lambda: headers.model_validate(_named_headers(headers)))
            return view(*args, **kwargs)

        wrapper.operation = spec  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


_PATH_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _envelope(data_schema: dict[str, Any], paginated: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {"success": {"const": True}, "data": data_schema}
    if paginated:
        properties["data"] = {"type": "array", "items": data_schema}
        properties["next_cursor"] = {"type": ["string", "null"]}
    return {"type": "object", "required": list(properties), "properties": properties}


ERROR_SCHEMA = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        },
    },
}


RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {
        "description": "Requests allowed per minute for this workspace in this endpoint's "
                       "rate-limit category",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "When the current window ends (Unix time, seconds)",
        "schema": {"type": "integer"},
    },
    "Retry-After": {
        "description": "Seconds to wait before the next request is accepted",
        "schema": {"type": "integer"},
    },
}


def _document_rate_limit(
    responses: dict[str, Any], limit: RateLimit, error_ref: dict[str, Any]
) -> None:
    """Counted responses carry the X-RateLimit headers; 401 is answered before counting."""
    headers = {
        name: {"$ref": f"#/components/headers/{name}"}
        for name in RATE_LIMIT_HEADERS if name != "Retry-After"
    }
    responses["429"] = {
        "description": f"RATE_LIMITED: more than {limit.per_minute} requests per minute for "
                       f"this workspace in the '{limit.category}' category",
        "headers": {**headers, "Retry-After": {"$ref": "#/components/headers/Retry-After"}},
        **error_ref,
    }
    for code, response in responses.items():
        if code not in ("401", "429"):
            response["headers"] = dict(headers)


def _parameters(path: str, spec: Operation, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{([^}]+)}", path)
    ]
    for location, model in (("query", spec.query), ("header", spec.headers)):
        if model is None:
            continue
        model_schema = model.model_json_schema(ref_template=REF_TEMPLATE)
        schemas.update(model_schema.pop("$defs", {}))
        required = set(model_schema.get("required", []))
        for name, prop in model_schema.get("properties", {}).items():
            params.append({
                "name": name, "in": location, "required": name in required,
                "description": prop.get("description", ""), "schema": _without_null(prop),
            })
    return params


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query string or header has no null: an optional parameter is one that may be left
    out (``required: false``), so ``X | None`` is documented as ``X``."""
    branches = [branch for branch in schema.get("anyOf", []) if branch != {"type": "null"}]
    if len(branches) != 1 or len(branches) == len(schema["anyOf"]):
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    default = {"default": schema["default"]} if schema.get("default") is not None else {}
    return {**rest, **branches[0], **default}


def build_document(app: Flask, *, title: str, version: str) -> dict[str, Any]:
    operations: list[tuple[str, str, Operation, RateLimit | None]] = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        spec = getattr(view, "operation", None)
        if spec is None:
            continue
        path = _PATH_PARAM.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operations.append((path, method.lower(), spec, getattr(view, "rate_limit", None)))

    models = {m for _, _, s, _ in operations for m in (s.body, s.response) if m is not None}
    keys, definitions = models_json_schema(
        [(model, "serialization") for model in models], ref_template=REF_TEMPLATE
    )
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA

    paths: dict[str, dict[str, Any]] = {}
    for path, method, spec, rate_limit in sorted(operations, key=lambda item: item[:2]):
        responses: dict[str, Any] = {}
        data = keys[(spec.response, "serialization")] if spec.response else {"type": "object"}
        if spec.raw_content_type:
            raw = {"type": "string"} if spec.raw_content_type.startswith("text/") else data
            content = {spec.raw_content_type: {"schema": raw}}
        else:
            content = {"application/json": {"schema": _envelope(data, spec.paginated)}}
        responses[str(spec.status)] = {"description": spec.summary, "content": content}
        error_ref = {"content": {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(
            model="Error")}}}}
        for code in ("400", "401", "404", *spec.errors):
            if code == "401" and spec.public:
                continue
            responses.setdefault(code, {"description": f"Error ({code})", **error_ref})
        if rate_limit is not None:
            _document_rate_limit(responses, rate_limit, error_ref)
        entry: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": f"{method}_{path}".replace("/", "_").replace("{", "").replace("}", ""),
            "tags": list(spec.tags),
            "parameters": _parameters(path, spec, schemas),
            "responses": responses,
        }
        if spec.description:
            entry["description"] = spec.description
        if spec.public:
            entry["security"] = []
        if spec.body is not None:
            body_key = (spec.body, "serialization")
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": keys[body_key]}},
            }
        paths.setdefault(path, {})[method] = entry

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": RATE_LIMIT_HEADERS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
