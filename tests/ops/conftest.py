"""A real gunicorn serving the API, started the way ``campaign-analytics up`` starts it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from cli.processes import die_with_parent
from cli.up import gunicorn_command
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Gunicorn:
    popen: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.popen.poll() is None, f"gunicorn exited:\n{self.log()}"
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise AssertionError(f"gunicorn not ready after {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


@pytest.fixture
def start_gunicorn(tmp_path: Path) -> Iterator[Callable[..., Gunicorn]]:
    """Starts gunicorn with one worker process and ``extra`` arguments; stopped after."""
    started: list[Gunicorn] = []

    def start(env: dict[str, str], *extra: str) -> Gunicorn:
        port = free_port()
        log_path = tmp_path / f"gunicorn{len(started)}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                [*gunicorn_command(f"127.0.0.1:{port}", 1), *extra], env=env, cwd=REPO,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=die_with_parent,
            )
        server = Gunicorn(popen, f"http://127.0.0.1:{port}", log_path)
        started.append(server)
        server.wait_until_ready()
        return server

    yield start
    for server in started:
        server.stop()
