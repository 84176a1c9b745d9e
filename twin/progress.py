"""Progress on stderr for commands: a bar with the current step and its counts, shown only for work over a second.

A command calls its :class:`Steps` with each step's message, and, when it knows them, how far it is: a
``fraction`` (0-1), or ``done`` of ``total`` (shown as counts, "3/6"). A step with only a message keeps the
bar where it was (pulsing while nothing is known yet). Nothing is shown for work that ends within a second,
when stderr is not a terminal, or when ``quiet`` (``--json``).

>>> with Steps(quiet=True) as steps:
...     steps("reading districts.geojson", done=1, total=4)
...     steps("checking 13 districts (50%)")
>>> steps.last
'checking 13 districts (50%)'
"""

from __future__ import annotations

import sys
import threading

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

SHOW_AFTER_S = 1.0


class _Counts(ProgressColumn):
    """ "3/6" when the step gave counts, "50%" when it gave a fraction, nothing while nothing is known."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        unit = task.fields.get("unit")
        if unit is None:
            return Text(f"{task.percentage:>3.0f}%", style="progress.percentage")
        return Text(f"{int(task.completed):,}/{int(task.total):,}{unit}", style="progress.download")


class Steps:
    """Call with each step's message (and, optionally, how far along); after a second of work a bar on stderr
    shows the latest step with its counts or share."""

    def __init__(self, *, quiet: bool = False, console: Console | None = None,
                 show_after: float = SHOW_AFTER_S) -> None:
        self.quiet = quiet or (console is None and not sys.stderr.isatty())
        self._console = console or Console(stderr=True)
        self._show_after = show_after
        self._progress: Progress | None = None
        self._task = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.last = ""
        self._state: dict = {"total": None, "completed": 0, "unit": None}

    def __enter__(self) -> Steps:
        if not self.quiet:
            self._timer = threading.Timer(self._show_after, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __call__(self, message: str, fraction: float | None = None, *, done: int | None = None,
                 total: int | None = None) -> None:
        with self._lock:
            self.last = message
            if done is not None and total:
                self._state = {"total": total, "completed": min(done, total), "unit": ""}
            elif fraction is not None:
                self._state = {"total": 100, "completed": 100 * min(max(fraction, 0.0), 1.0), "unit": None}
            if self._progress is not None:
                self._update()

    def _show(self) -> None:
        with self._lock:
            if self._closed or self.quiet:
                return
            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), _Counts(),
                                      TimeElapsedColumn(), console=self._console, transient=True)
            self._task = self._progress.add_task(self.last, total=self._state["total"])
            self._update()
            self._progress.start()

    def _update(self) -> None:
        assert self._progress is not None and self._task is not None
        self._progress.update(self._task, description=self.last, total=self._state["total"],
                              completed=self._state["completed"], unit=self._state["unit"])

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._progress is not None:
                self._progress.stop()
