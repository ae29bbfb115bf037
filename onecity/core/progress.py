"""Progress of a long command, on stderr: a bar on a terminal, a line every few seconds otherwise.

Seeding a city, a simulated week, an export or a bulk load, verifying the audit chain: each
takes seconds to minutes, and a command silent for that long looks hung. On a terminal a
``rich`` bar shows what is done, of how much, and the time left; in a log (stderr not a
terminal) a plain line every ``every`` seconds says the same; ``enabled=False`` says nothing
(``--json`` output, tests). Output goes to stderr so stdout stays the command's result.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any


class Progress:
    """``with Progress("seeding", total) as bar: bar.update(done)``; ``total`` may be unknown (None)."""

    def __init__(self, description: str, total: float | None = None, *, enabled: bool = True, every: float = 5.0):
        self.description, self.total, self.enabled, self.every = description, total, enabled, every
        self.tty = sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0
        self._said: float | None = None
        self.done = 0.0

    def __enter__(self) -> Progress:
        if self.enabled and self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[note]}"),
                console=Console(stderr=True),
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total, note="")
        return self

    def update(self, done: float, total: float | None = None, note: str = "") -> None:
        """``done`` of ``total`` (kept from before when not given); ``note`` says where it is."""
        self.done = done
        if total is not None:
            self.total = total
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=self.total, note=note)
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._line(note)

    def advance(self, by: float = 1, note: str = "") -> None:
        self.update(self.done + by, note=note)

    def _line(self, note: str) -> None:
        self._said = self.done
        of = f" / {self.total:,.0f}" if self.total else ""
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        tail = f" — {note}" if note else ""
        sys.stderr.write(f"{self.description}: {self.done:,.0f}{of}{pct}{tail}\n")
        sys.stderr.flush()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, error, trace)
        elif self.enabled and kind is None and self._said is not None and self._said != self.done:
            self._line("")
