"""Running the parts' periodic tasks beside the server, and stopping them promptly.

Each part declares its tasks in its manifest (:class:`onecity.core.parts.PeriodicTask`); the
app factory hands them all to one :class:`TaskRunner` when the server starts and stops it
when the server stops. A round of a plain task runs in a thread of its own, never in the
event loop's shared executor, and waits for the next round on an event that :meth:`stop`
sets, so shutdown waits at most for a round in progress, not for a sleep. Slow one-off
preparation (``warm``: an index built in seconds) runs in a daemon thread that shutdown
does not wait for at all: the test suite's app teardowns used to wait for it.

A failing round is logged and the task carries on at the next round; it never stops the
server.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from onecity.core.bus.base import Bus
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.parts import PeriodicTask, resolve

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskContext:
    """What a task is given: the process's database, settings and bus."""

    db: Database
    settings: Settings
    bus: Bus


class TaskRunner:
    """Runs ``tasks`` from :meth:`start` until :meth:`stop`."""

    def __init__(self, ctx: TaskContext, tasks: Sequence[PeriodicTask], *, grace_seconds: float = 10.0) -> None:
        self.ctx, self.tasks, self.grace_seconds = ctx, list(tasks), grace_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._coroutines: list[asyncio.Task[object]] = []
        #: Rounds completed per task name (a test waits on it; an operator may log it).
        self.rounds: dict[str, int] = {t.name: 0 for t in self.tasks}

    def start(self) -> None:
        """Start every task (call from within the running event loop)."""
        for task in self.tasks:
            if task.warm is not None:
                threading.Thread(target=self._warm, args=(task,), name=f"warm:{task.name}", daemon=True).start()
            fn = resolve(task.run)
            if inspect.iscoroutinefunction(fn):
                self._coroutines.append(asyncio.create_task(self._forever(task), name=task.name))
            else:
                thread = threading.Thread(target=self._rounds, args=(task,), name=task.name, daemon=True)
                thread.start()
                self._threads.append(thread)

    async def stop(self) -> None:
        """Stop every task: no new round starts; a round in progress may finish within ``grace_seconds``."""
        self._stop.set()
        for running in self._coroutines:
            running.cancel()
        for running in self._coroutines:
            with contextlib.suppress(asyncio.CancelledError):
                await running
        deadline = time.monotonic() + self.grace_seconds
        for thread in self._threads:
            await asyncio.to_thread(thread.join, max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("periodic task %s is still in a round; leaving it", thread.name)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _warm(self, task: PeriodicTask) -> None:
        assert task.warm is not None
        try:
            resolve(task.warm)()
        except Exception:
            log.exception("warming %s failed; its rounds will prepare what they need", task.name)

    def _rounds(self, task: PeriodicTask) -> None:
        fn = resolve(task.run)
        while not self._stop.is_set():
            try:
                fn(self.ctx)
            except Exception:
                log.exception("periodic task %s failed; will try again", task.name)
            self.rounds[task.name] += 1
            self._stop.wait(task.every_seconds)

    async def _forever(self, task: PeriodicTask) -> None:
        await resolve(task.run)(self.ctx)
