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

**Once per deployment.** Several server processes may share one database (uvicorn workers,
replicas on other machines). On PostgreSQL one of them is the *leader*: it holds a
session-level advisory lock (:class:`Leadership`) on a connection of its own, and only the
leader runs plain tasks (the relay's sweep, the clocks, housekeeping, the audit sealer and
checkpoints). When the leader dies its connection closes, PostgreSQL drops the lock, and
another process takes it within :data:`LEADER_POLL_SECONDS`. Holding it costs no transaction
per round. On SQLite (one machine; the embedded default) a plain task instead takes a lease on
its name in ``task_leases`` before each round: the process holding it renews it each round;
another process skips its rounds until the lease has lapsed (the holder died: after two
intervals, at least a minute), then takes it over. A stopping runner gives its leadership and
leases back, so a restart does not wait. The outbox relay (a
coroutine task) runs in every process: a commit wakes the relay of its own process at once,
and a message two relays send twice keeps its id, which the bus discards as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, String, or_, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core import clock
from onecity.core.bus.base import Bus
from onecity.core.config import Settings
from onecity.core.db import Base, Database, is_busy
from onecity.core.parts import PeriodicTask, resolve

log = logging.getLogger(__name__)


class TaskLease(Base):
    """Which process runs a periodic task now, until when (see the module's docstring)."""

    __tablename__ = "task_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


def lease_seconds(task: PeriodicTask) -> float:
    """How long a lease lasts without renewal: two intervals, and at least a minute for a slow round."""
    return max(2 * task.every_seconds, task.every_seconds + 60.0)


def claim(db: Database, name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease on ``name`` for ``seconds``; False while another holder's is live."""
    now = clock.now()
    until = now + timedelta(seconds=seconds)
    with db.transaction() as session:
        renewed = session.execute(
            update(TaskLease)
            .where(TaskLease.name == name, or_(TaskLease.holder == holder, TaskLease.expires_at < now))
            .values(holder=holder, expires_at=until)
            .execution_options(synchronize_session=False)
        )
        if getattr(renewed, "rowcount", 0):
            return True
    try:
        with db.transaction() as session:
            session.add(TaskLease(name=name, holder=holder, expires_at=until))
        return True
    except IntegrityError:  # another process holds it (or took it just now)
        return False


def release(db: Database, holder: str) -> None:
    """Give back every lease ``holder`` has, so another process may take them at once."""
    with db.transaction() as session:
        session.execute(
            update(TaskLease)
            .where(TaskLease.holder == holder)
            .values(expires_at=clock.now() - timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )


#: How often a follower tries to become the leader, and the leader checks it still is (seconds).
LEADER_POLL_SECONDS = 0.5
#: The advisory lock's key: one leader per database ("onecity" in ASCII).
LEADER_LOCK_KEY = 0x6F6E6563697479


class Leadership:
    """Whether this process leads the deployment: a PostgreSQL advisory lock held on a connection.

    :meth:`poll` (from one thread) takes the lock if it is free, or checks the connection that
    holds it is still alive; :attr:`leading` is what the task threads read. A lost connection
    (the database restarted, a network cut) loses the lock too, so it is dropped at once and
    the lock is tried again on a new connection at the next poll.
    """

    def __init__(self, db: Database, key: int = LEADER_LOCK_KEY) -> None:
        self.db, self.key = db, key
        self._conn: Connection | None = None
        self.leading = False

    def poll(self) -> bool:
        try:
            if self._conn is None:
                self._conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if self.leading:
                self._conn.execute(text("SELECT 1"))  # still connected, so still holding it
            else:
                self.leading = bool(self._conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}))
        except Exception:
            if self.leading:
                log.warning("lost the connection that made this process the leader; periodic tasks pause here")
            self.leading = False
            self._drop()
        return self.leading

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()  # never back into the pool: a pooled session must not hold the lock
                conn.close()

    def release(self) -> None:
        """Stop leading: closing the connection frees the lock for another process at once."""
        self.leading = False
        self._drop()


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
        #: This runner's name on its leases: host, process and a random part (a forked worker differs).
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        #: Rounds completed per task name (a test waits on it; an operator may log it).
        self.rounds: dict[str, int] = {t.name: 0 for t in self.tasks}
        #: PostgreSQL: the advisory-lock leader decides; SQLite: each task's lease does.
        self.leadership = Leadership(ctx.db) if ctx.db.dialect == "postgresql" else None
        self._leading = threading.Event()

    def start(self) -> None:
        """Start every task (call from within the running event loop)."""
        if self.leadership is not None and any(not inspect.iscoroutinefunction(resolve(t.run)) for t in self.tasks):
            thread = threading.Thread(target=self._lead, name="leadership", daemon=True)
            thread.start()
            self._threads.append(thread)
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
        if self.leadership is not None:  # after the rounds ended: no overlap with the next leader's
            await asyncio.to_thread(self.leadership.release)
        elif self._threads:
            try:
                await asyncio.to_thread(release, self.ctx.db, self.holder)
            except Exception:
                log.exception("could not give the periodic tasks' leases back; they lapse on their own")

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _warm(self, task: PeriodicTask) -> None:
        assert task.warm is not None
        try:
            resolve(task.warm)()
        except Exception:
            log.exception("warming %s failed; its rounds will prepare what they need", task.name)

    @property
    def leading(self) -> bool:
        """Whether this process leads the deployment (PostgreSQL) now."""
        return self._leading.is_set()

    def _lead(self) -> None:
        assert self.leadership is not None
        try:
            while not self._stop.is_set():
                was = self._leading.is_set()
                if self.leadership.poll():
                    self._leading.set()
                    if not was:
                        log.info("this process (%s) now runs the deployment's periodic tasks", self.holder)
                else:
                    self._leading.clear()
                self._stop.wait(LEADER_POLL_SECONDS)
        finally:
            self._leading.clear()

    def _may_run(self, task: PeriodicTask) -> bool:
        if self.leadership is not None:
            return self._leading.is_set()
        return claim(self.ctx.db, task.name, self.holder, lease_seconds(task))

    def _rounds(self, task: PeriodicTask) -> None:
        fn = resolve(task.run)
        while not self._stop.is_set():
            wait = task.every_seconds
            try:
                if self._may_run(task):
                    fn(self.ctx)
                    self.rounds[task.name] += 1
                elif self.leadership is not None:
                    # not leading (yet): look again when leadership may have changed, not a whole
                    # period later — else a task starting before the first poll, or a survivor taking
                    # over, would skip its round for every_seconds (an hour for some tasks)
                    wait = min(task.every_seconds, LEADER_POLL_SECONDS)
            except Exception as err:
                if is_busy(err):  # another writer held the database past the busy timeout
                    log.warning("periodic task %s: the database was busy; will try again next round", task.name)
                else:
                    log.exception("periodic task %s failed; will try again", task.name)
            self._stop.wait(wait)

    async def _forever(self, task: PeriodicTask) -> None:
        await resolve(task.run)(self.ctx)
