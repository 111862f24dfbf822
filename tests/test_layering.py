"""The domain package imports neither Flask nor Celery, nor the layers above it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent.parent / "campaign_analytics"
FORBIDDEN = {"flask", "celery", "kombu", "webapi", "worker", "tasks", "cli", "werkzeug"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_domain_module_imports_a_forbidden_package() -> None:
    offenders = {
        str(path.relative_to(DOMAIN)): sorted(_imported_roots(path) & FORBIDDEN)
        for path in DOMAIN.rglob("*.py")
    }
    assert {name: bad for name, bad in offenders.items() if bad} == {}


def test_importing_the_whole_domain_loads_no_web_or_queue_framework() -> None:
    modules = sorted(
        "campaign_analytics." + ".".join(path.relative_to(DOMAIN).with_suffix("").parts)
        for path in DOMAIN.rglob("*.py") if path.name != "__init__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(set(m.split('.')[0] for m in sys.modules) & {FORBIDDEN!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
