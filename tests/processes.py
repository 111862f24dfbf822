"""Real Celery worker and beat processes for tests, each in its own process group so a
test can SIGKILL the whole group the way a crashed host would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from campaign_analytics.jobs.kinds import Queue
from cli.processes import die_with_parent

BIN = Path(sys.executable).parent
READY_MARKERS = {"worker": "ready.", "beat": "beat: Starting...", "flower": "Visit me at"}


@dataclass
class CeleryProcess:
    role: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, role: str, env: dict[str, str], workdir: Path, name: str,
              app: str = "worker") -> CeleryProcess:
        log_path = workdir / f"{name}.log"
        if role == "worker":
            args = [
                "worker", "-Q", ",".join(q.value for q in Queue), "-c", "1",
                "-n", f"{name}@%h", "--without-mingle", "--without-gossip",
            ]
        elif role == "beat":
            args = ["beat", "-s", str(workdir / f"{name}-schedule")]
        else:  # flower: port, address and auth from FLOWER_* in env
            args = ["flower"]
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                [str(BIN / "celery"), "-A", app, *args, "--loglevel", "INFO"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=die_with_parent,
                cwd=Path(__file__).resolve().parent.parent,
            )
        process = cls(role, popen, log_path)
        try:
            process.wait_for_log(READY_MARKERS[role], timeout=60)
        except BaseException:
            # Never handed to the caller, so no fixture would stop it: a worker that was
            # merely slow to start would go on consuming the next tests' Redis database.
            process.stop()
            raise
        return process

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, marker: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker in self.log():
                return
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.role} exited early:\n{self.log()}")
            time.sleep(0.2)
        raise AssertionError(f"{self.role} not ready after {timeout}s:\n{self.log()}")

    def kill_group(self) -> None:
        """SIGKILL the whole process group: no warm shutdown, no acks, like a host dying."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM to the main process only, as docker stop or Kubernetes sends it: a warm
        shutdown. Returns the exit code."""
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=timeout)

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                return
        self.kill_group()
