"""Progress of long CLI work on a terminal (``snapshot``, ``baseline capture``, ``scan``,
``rollback plan``): sections, subscriptions and pages read, files loaded.

:func:`progress_for` gives a :class:`Progress` drawn with rich on stderr when both stdout
and stderr are terminals and the output is not JSON, else :data:`NO_PROGRESS`, which does
nothing, so callers never test whether progress is on. A test injects its own rich
``Console`` (``force_terminal=True`` to see progress, a non-terminal to see none).

The seams for other code:

- :meth:`Progress.files` (``loaded``, ``total``): files loaded so far, the callback a
  loader of many files (the baselines) reports through;
- :meth:`Progress.request_read` (``section``, ``where``, ``done``, ``total``): one request of
  a live read done (``driftkeeper.live.read_snapshot``'s ``on_read``);
- :meth:`Progress.page_read` (``section``, ``rows``, ``total``): one Resource Graph page
  read (``on_page``).
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import IO, Any

__all__ = ["NO_PROGRESS", "Progress", "RichProgress", "progress_for"]


class Progress:
    """Progress that shows nothing (the base, and :data:`NO_PROGRESS`)."""

    enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def stage(self, description: str, total: int | None = None) -> None:
        """Start a new step (``total`` None: a step whose size is not known)."""

    def advance(self, amount: int = 1) -> None:
        """The current step moved on by ``amount``."""

    def update(self, completed: int, total: int | None = None, description: str = "") -> None:
        """The current step is at ``completed`` (of ``total``, when given)."""

    def done(self) -> None:
        """The current step is finished."""

    def files(self, loaded: int, total: int) -> None:
        """``loaded`` of ``total`` files loaded (a loader's callback)."""
        if self.enabled:
            self._ensure("loading files", total)
            self.update(loaded, total, f"loading files ({loaded}/{total})")

    def request_read(self, section: str, where: str, done: int, total: int) -> None:
        """``done`` of ``total`` requests of a live read finished; the last read ``section``
        (``where``: a subscription, a Resource Graph batch)."""
        if self.enabled:
            self._ensure("reading", total)
            label = f"read {section}" + (f" ({where})" if where else "")
            self.update(done, total, f"{label}: {done}/{total} requests")

    def page_read(self, section: str, rows: int, total: int) -> None:
        """A Resource Graph page of ``section`` read: ``rows`` of ``total`` rows so far."""
        if self.enabled:
            self._ensure("reading", None)
            self._describe(f"read {section} (Resource Graph): {rows}/{total} rows")

    def _ensure(self, description: str, total: int | None) -> None:
        """Start a step unless one is running."""

    def _describe(self, description: str) -> None:
        """Say what the current step is doing (its count unchanged)."""

    def close(self) -> None:
        """Stop drawing (idempotent)."""


NO_PROGRESS = Progress()
"""Progress that is off: every method does nothing."""


class RichProgress(Progress):
    """Progress drawn by rich on ``console`` (transient: the bars go when the work ends)."""

    enabled = True

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bars

        self._bars = Bars(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task: Any = None
        self._started = False

    def __enter__(self) -> RichProgress:
        self._start()
        return self

    def _start(self) -> None:
        if not self._started:
            self._bars.start()
            self._started = True

    def stage(self, description: str, total: int | None = None) -> None:
        self._start()
        self.done()
        self._task = self._bars.add_task(description, total=total)

    def _ensure(self, description: str, total: int | None) -> None:
        if self._task is None:
            self.stage(description, total)

    def _describe(self, description: str) -> None:
        if self._task is not None:
            self._bars.update(self._task, description=description)

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._bars.advance(self._task, amount)

    def update(self, completed: int, total: int | None = None, description: str = "") -> None:
        if self._task is None:
            self.stage(description or "working", total)
        changes: dict[str, Any] = {"completed": completed}
        if total is not None:
            changes["total"] = total
        if description:
            changes["description"] = description
        self._bars.update(self._task, **changes)

    def done(self) -> None:
        if self._task is not None:
            task = next((t for t in self._bars.tasks if t.id == self._task), None)
            if task is not None and task.total is not None:
                self._bars.update(self._task, completed=task.total)
            self._bars.stop_task(self._task)
            self._task = None

    def close(self) -> None:
        if self._started:
            self.done()
            self._bars.stop()
            self._started = False


def progress_for(
    fmt: str = "table", *, console: Any = None, stdout: IO[str] | None = None
) -> Progress:
    """Progress for a command whose output format is ``fmt``: drawn on ``console`` (default:
    a rich ``Console`` on stderr) when it is a terminal, ``stdout`` (default: sys.stdout) is
    one too, and ``fmt`` is not ``json``; else :data:`NO_PROGRESS`. An injected console is
    taken at its word (``force_terminal``): ``stdout`` is then not looked at."""
    if fmt == "json":
        return NO_PROGRESS
    if console is None:
        out = stdout or sys.stdout
        if not _isatty(out):
            return NO_PROGRESS
        from rich.console import Console

        console = Console(stderr=True)
    if not console.is_terminal:
        return NO_PROGRESS
    return RichProgress(console)


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False
