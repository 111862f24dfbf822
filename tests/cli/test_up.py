"""`campaign-analytics up` from a fresh clone, with nothing configured: embedded PostgreSQL
and Redis, the API answering, a workspace key that works, and after SIGTERM nothing left
running. Runs as root here and in CI, like our machines do."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from cli.processes import die_with_parent

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "campaign-analytics"
# Unset, so `up` starts its own servers under ./var and never touches configured ones.
STACK_VARIABLES = (
    "DATABASE_URL", "REDIS_URL", "DATA_DIR", "STORAGE_URL", "PORT", "PROMETHEUS_MULTIPROC_DIR",
)
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def fresh_clone(dest: Path) -> Path:
    """The working tree as a clone would see it: tracked and new files, nothing ignored
    (no .venv, no var/)."""
    listing = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Up:
    """A running `campaign-analytics up`, its output collected line by line."""

    def __init__(self, clone: Path, env: dict[str, str], port: int) -> None:
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            [str(CLI), "up", "--port", str(port)], cwd=clone, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent,
        )
        # Drain continuously: children share the pipe and would block on a full one.
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            self.lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, line: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while line not in self.lines:
            assert self.popen.poll() is None, f"up exited with {self.popen.returncode}"
            assert time.monotonic() < deadline, f"no {line!r} within {timeout} s"
            time.sleep(0.2)


def postmaster(clone: Path) -> psutil.Process | None:
    pid_file = clone / "var" / "postgres" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, psutil.Error):
        return psutil.Process(int(pid_file.read_text().split()[0]))
    return None


def postgres_socket(clone: Path) -> Path:
    """``postmaster.pid`` lines: pid, data dir, start time, port, socket dir, ..."""
    lines = (clone / "var" / "postgres" / "postmaster.pid").read_text().splitlines()
    return Path(lines[4]) / f".s.PGSQL.{lines[3]}"


def stack_processes(up: Up, clone: Path) -> list[psutil.Process]:
    """up's process tree, plus PostgreSQL's (pg_ctl detaches the postmaster from ours)."""
    found: list[psutil.Process] = psutil.Process(up.popen.pid).children(recursive=True)
    server = postmaster(clone)
    if server is not None:
        found += [server, *server.children(recursive=True)]
    return found


def is_alive(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def uses_clone(process: psutil.Process, clone: Path) -> bool:
    """Its command line names the clone, or it runs inside it (Redis retitles itself)."""
    with contextlib.suppress(psutil.Error, OSError):
        in_clone = Path(process.cwd()).is_relative_to(clone)
        return is_alive(process) and (in_clone or str(clone) in " ".join(process.cmdline()))
    return False


def leftovers(recorded: list[psutil.Process], clone: Path) -> list[psutil.Process]:
    strays = [p for p in recorded if is_alive(p)]
    return strays + [p for p in psutil.process_iter() if uses_clone(p, clone) and p not in strays]


def describe(processes: list[psutil.Process]) -> list[str]:
    described = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            described.append(f"{process.pid} {' '.join(process.cmdline())}")
    return described


def kill_everything(up: Up, recorded: list[psutil.Process], clone: Path) -> None:
    """After a failure: leave nothing running, whatever state up is in."""
    if up.popen.poll() is None:
        recorded = [*recorded, *stack_processes(up, clone)]
        os.kill(up.popen.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            up.popen.wait(STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(up.popen.pid, signal.SIGKILL)
    server = postmaster(clone)
    for process in leftovers([*recorded, *([server] if server else [])], clone):
        with contextlib.suppress(psutil.Error):
            process.kill()
    up.popen.wait(10)


@pytest.fixture
def workdir() -> Iterator[Path]:
    """Not under pytest's basetemp: every pytest session resets /tmp/pytest-of-<user> to
    0700, which would lock the unprivileged PostgreSQL user out of its data mid-test."""
    path = Path(tempfile.mkdtemp(prefix="ca-up-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_up_runs_the_stack_from_a_fresh_clone_and_stops_it_all(workdir: Path) -> None:
    clone = fresh_clone(workdir / "clone")
    env = {k: v for k, v in os.environ.items() if k not in STACK_VARIABLES}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    up = Up(clone, env, port)
    recorded: list[psutil.Process] = []
    try:
        started = time.monotonic()
        up.wait_for_line(f"API listening on {base}", READY_TIMEOUT)
        print(f"up ready in {time.monotonic() - started:.1f} s")

        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["success"] is True
        up.wait_for_line(f"Dashboard: {base}/app/", 5)
        dashboard = requests.get(f"{base}/app/", timeout=5)  # shipped in the checkout itself
        assert dashboard.status_code == 200 and "js/main.js" in dashboard.text
        chart = requests.get(f"{base}/app/vendor/chart.umd.min.js", timeout=5)
        assert chart.status_code == 200 and b"Chart.js v4" in chart.content[:200]

        stack_file = clone / "var" / "stack.json"
        assert stack_file.stat().st_mode & 0o777 == 0o600
        created = subprocess.run(
            [str(CLI), "workspace", "create", "--name", "T", "--json"],
            cwd=clone, env=env, capture_output=True, text=True, timeout=60,
        )
        assert created.returncode == 0, created.stderr
        workspace = json.loads(created.stdout)
        assert workspace["workspace_id"].startswith("ws_")
        assert workspace["api_key"]
        jobs = requests.get(
            f"{base}/api/v1/workspaces/{workspace['workspace_id']}/jobs",
            headers={"Authorization": f"Bearer {workspace['api_key']}"}, timeout=5,
        )
        assert jobs.status_code == 200, jobs.text
        # The stack's beat took the beat lock on the embedded PostgreSQL and sweeps.
        deadline = time.monotonic() + 60
        while not ("holding the beat lock" in up.output() and "due task sweep-jobs" in up.output()):
            assert time.monotonic() < deadline, "beat never took its lock and swept"
            time.sleep(0.5)
        assert list((clone / "var").glob("beat-schedule-*"))

        recorded = stack_processes(up, clone)
        commands = " ".join(" ".join(p.cmdline()) for p in recorded)
        for program in ("gunicorn", "celery", "redis-server", "postgres"):
            assert program in commands
        pg_socket = postgres_socket(clone)
        assert pg_socket.exists()

        os.kill(up.popen.pid, signal.SIGTERM)
        assert up.popen.wait(STOP_TIMEOUT) == 0
        up.reader.join(timeout=5)
        assert describe(leftovers(recorded, clone)) == []
        assert not (clone / "var" / "postgres" / "postmaster.pid").exists()
        assert not pg_socket.exists()
        assert not stack_file.exists()
    except BaseException:
        print(f"--- output of up ---\n{up.output()}")
        kill_everything(up, recorded, clone)
        raise
