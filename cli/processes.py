"""Supervising the stack's processes: start each in its own session, relay its output with
a name prefix, notice when one dies, stop them all in order."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from .console import say

PREFIX_WIDTH = 6
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Loaded before any fork: dlopen in a forked child of a threaded parent can deadlock.
_LIBC = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """A ``preexec_fn``: the child gets SIGTERM when the process that started it dies, even
    by SIGKILL, so no worker outlives a killed ``up`` (or a killed test run) and goes on
    taking jobs from the next one. Linux only; elsewhere the call fails and nothing changes."""
    with contextlib.suppress(AttributeError, OSError):
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    relay: threading.Thread

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        return self.process.poll()

    def how_it_ended(self) -> str:
        code = self.exit_code()
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"


def _relay(name: str, stream: IO[bytes]) -> None:
    """Copy the child's lines to our stdout, prefixed. Keeps draining even when our stdout
    is gone (``say`` is best effort), so a child never blocks on a full pipe."""
    prefix = f"{name:<{PREFIX_WIDTH}} | "
    with stream:
        for raw in stream:
            say(prefix + raw.decode("utf-8", errors="replace").rstrip("\r\n"))


class Supervisor:
    """The processes ``up`` started, in start order; they are stopped in reverse order."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Child:
        """Start ``argv`` in a new session: a terminal's Ctrl-C then reaches only ``up``,
        which stops the children itself, in order."""
        process = subprocess.Popen(
            list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
        )
        assert process.stdout is not None
        relay = threading.Thread(
            target=_relay, args=(name, process.stdout), name=f"relay-{name}", daemon=True
        )
        relay.start()
        child = Child(name, process, relay)
        self.children.append(child)
        return child

    def first_exited(self) -> Child | None:
        return next((child for child in self.children if child.exit_code() is not None), None)

    def watch(self, should_stop: Callable[[], bool], poll_seconds: float = 0.2) -> Child | None:
        """Block until ``should_stop()`` (returns None) or a child exits (returns it)."""
        while not should_stop():
            exited = self.first_exited()
            if exited is not None:
                return exited
            time.sleep(poll_seconds)
        return None

    def stop_all(self, grace_seconds: float = 10.0) -> None:
        """SIGTERM each main process (newest first), wait up to ``grace_seconds`` for all,
        then SIGKILL whatever is left in their process groups.

        The SIGTERM goes to the main process, not its group: gunicorn and Celery then shut
        down their own workers gracefully; a Celery pool child that got SIGTERM itself would
        die mid-task instead of finishing it (warm shutdown).
        """
        running = [child for child in reversed(self.children) if child.exit_code() is None]
        if running:
            say("Stopping " + ", ".join(child.name for child in running) + " ...")
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for child in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(max(0.0, deadline - time.monotonic()))
        for child in reversed(self.children):
            self._kill_leftovers(child)

    @staticmethod
    def _kill_leftovers(child: Child) -> None:
        if child.exit_code() is None:
            say(f"{child.name} did not stop in time; killing it")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)  # its session's group: pgid == its pid
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(5)
        child.relay.join(timeout=2)  # print its last lines before ours
