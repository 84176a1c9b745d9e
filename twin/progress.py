"""Progress on stderr for commands: a spinner with the current step, shown only for work over a second."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.status import Status

SHOW_AFTER_S = 1.0


class Steps:
    """Call with each step's message; after a second of work a live line on stderr shows the latest."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet or not sys.stderr.isatty()
        self._console = Console(stderr=True)
        self._status: Status | None = None
        self._started = time.monotonic()
        self._last = ""

    def __enter__(self) -> Steps:
        self._started = time.monotonic()
        return self

    def __call__(self, message: str) -> None:
        self._last = message
        if self.quiet:
            return
        if self._status is None and time.monotonic() - self._started >= SHOW_AFTER_S:
            self._status = self._console.status(message)
            self._status.start()
        elif self._status is not None:
            self._status.update(message)

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()
