"""``DATA_DIR/stack.json``: how the other CLI commands find the dev stack ``up`` runs.

``up`` writes it (mode 0600: a configured ``DATABASE_URL`` may carry a password) once the
database is migrated, and removes it when it stops. A command run without
``DATABASE_URL`` reads the URLs from it, provided the ``up`` that wrote it is still alive.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from campaign_analytics.settings import Settings

from .errors import UsageProblem

STACK_FILE = "stack.json"


@dataclass(frozen=True)
class StackInfo:
    """What a running ``up`` serves; ``pid`` is the ``up`` process itself."""

    pid: int
    database_url: str
    redis_url: str
    api_url: str

    def is_alive(self) -> bool:
        return self.pid != os.getpid() and psutil.pid_exists(self.pid)


def stack_path(data_dir: Path) -> Path:
    return data_dir / STACK_FILE


def write_stack(path: Path, info: StackInfo) -> None:
    """Write atomically (temporary name, then rename), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(info), out, indent=2)
        out.write("\n")
    os.replace(temporary, path)


def read_stack(path: Path) -> StackInfo | None:
    """The recorded stack, or None when there is no readable, well-formed file."""
    try:
        data = json.loads(path.read_text())
        return StackInfo(
            pid=int(data["pid"]), database_url=str(data["database_url"]),
            redis_url=str(data["redis_url"]), api_url=str(data["api_url"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_stack(path: Path, pid: int) -> None:
    """Remove the file if ``pid`` wrote it; never another live ``up``'s record."""
    info = read_stack(path)
    if info is not None and info.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def running_stack(data_dir: Path) -> StackInfo | None:
    info = read_stack(stack_path(data_dir))
    return info if info is not None and info.is_alive() else None


def resolve_database_url(settings: Settings) -> str:
    """``DATABASE_URL``, else the running dev stack's, else an error saying what to do."""
    if settings.database_url:
        return settings.database_url
    info = running_stack(settings.data_dir.resolve())
    if info is not None:
        return info.database_url
    raise UsageProblem(
        "No database: set DATABASE_URL, or start the dev stack with `campaign-analytics up` "
        f"(no running stack recorded in {stack_path(settings.data_dir)})"
    )


def resolve_redis_url(settings: Settings) -> str | None:
    """``REDIS_URL``, else the running dev stack's, else None (nothing to publish to)."""
    if settings.redis_url:
        return settings.redis_url
    info = running_stack(settings.data_dir.resolve())
    return info.redis_url if info is not None else None
