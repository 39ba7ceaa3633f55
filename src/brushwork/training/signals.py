"""Ctrl-C and SIGTERM ask a training loop to stop cleanly (checkpoint first) instead of dying."""

from __future__ import annotations

import signal
import threading
from types import FrameType


class StopRequest:
    """Context manager: while active, SIGINT / SIGTERM set :attr:`requested` instead of
    killing the process; a second Ctrl-C interrupts at once. Handlers are restored on exit.
    Outside the main thread it does nothing (signals cannot be caught there).
    """

    def __init__(self) -> None:
        self.requested: str | None = None
        self._old: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._old.clear()
