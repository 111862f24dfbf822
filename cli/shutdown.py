"""How ``up`` turns SIGINT / SIGTERM / SIGHUP into an orderly stop."""

from __future__ import annotations

import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class ShutdownRequest:
    """The first SIGINT, SIGTERM or SIGHUP (the terminal closed: the children, in sessions
    of their own, would not get it) asks for a stop: ``up`` finishes the step it is in (each
    is bounded) and then stops everything in order, so nothing is left half-started.

    A second signal before the stop has begun interrupts a step that hangs (it raises
    KeyboardInterrupt). Once stopping, further signals are ignored: the stop must complete,
    or children and embedded servers would outlive ``up``.
    """

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._stopping = False

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)

    def begin_stopping(self) -> None:
        self._stopping = True

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name
        elif not self._stopping:
            raise KeyboardInterrupt
