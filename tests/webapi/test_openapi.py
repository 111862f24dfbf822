"""The OpenAPI document is generated from the routes and their schemas: nothing is missed."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

# Static files: Flask's own, and the dashboard's page and assets (docs/dashboard.md).
UNDOCUMENTED = {"/static/<path:filename>", "/app", "/app/", "/app/<path:filename>"}


def test_every_route_is_documented(app: Flask, client: Any) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    for rule in app.url_map.iter_rules():
        if rule.rule in UNDOCUMENTED:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"].get(path, {}), f"{method} {path}"


def test_every_reference_resolves(client: Any) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    text = str(document)
    for name in re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", text):
        assert name in document["components"]["schemas"], name


def test_bodies_and_query_parameters_come_from_the_schemas(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    create = paths["/api/v1/workspaces/{workspace_id}/jobs/diagnostics"]["post"]
    assert "202" in create["responses"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "DiagnosticRequest"
    )
    listing = paths["/api/v1/workspaces/{workspace_id}/jobs"]["get"]
    names = {param["name"] for param in listing["parameters"]}
    assert {"workspace_id", "limit", "cursor", "status", "kind"} <= names
    assert paths["/healthz"]["get"]["security"] == []
