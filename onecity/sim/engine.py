"""Simulated time and the loop that drives the actors.

Simulated time advances in fixed steps. At ``speed=None`` ("max") steps follow each other
as fast as the actors can act; at ``speed=X`` the loop sleeps so that simulated time runs
X times faster than the wall clock, which is what a watchable demo needs. The platform
clock (:mod:`onecity.core.clock`) follows simulated time during a run, so every record
and audit entry carries the simulated moment it happened at, and new ids come from the run's seed
(:func:`onecity.core.db.seeded_ids`): the same seed replays the same run.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from onecity.core import clock
from onecity.core.bus import consumers
from onecity.core.db import Database, seeded_ids


class Actor(Protocol):
    """Something that acts in the city; one per concern, each with its own report section."""

    name: str

    def step(self, db: Database, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        """Do what happens in the city between ``start`` and ``end`` (simulated)."""

    def report(self) -> dict[str, Any]:
        """Figures for this actor's section of the report."""


def _to_stderr(msg: str) -> None:
    sys.stderr.write(msg + "\n")


@dataclass
class Simulation:
    db: Database
    actors: Sequence[Actor]
    start: datetime
    seed: int
    step: timedelta = timedelta(minutes=10)
    #: Simulated seconds per wall-clock second; None runs as fast as possible.
    speed: float | None = None
    #: Make the platform clock follow simulated time (off when the simulation runs beside a
    #: server people use: their sessions must expire in real time).
    drive_clock: bool = True
    #: Hand each step's events to the registered consumers before the next step (for a run with
    #: no server relaying the outbox: one part's events, such as a sensor alert, become another
    #: part's work, such as an urban-operations case, deterministically).
    deliver_events: bool = False
    progress: Callable[[str], None] = field(default=_to_stderr)
    #: Called after each step with the simulated moment reached (``onecity simulate``'s progress bar).
    on_step: Callable[[datetime], None] | None = None
    #: Seconds to rest after each actor's step (beside a server on SQLite: waiting requests get the writer).
    pause: float = 0.0
    now: datetime = field(init=False)
    steps_done: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("the simulation start must be timezone-aware")
        self.now = self.start

    def run(self, hours: float, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Advance ``hours`` of simulated time (``float('inf')`` runs until ``should_stop``)."""
        rng = np.random.default_rng(self.seed)
        end = self.start + timedelta(hours=hours) if hours != float("inf") else None
        wall0, sim0 = time.monotonic(), self.now
        with (
            clock.driven_by(lambda: self.now) if self.drive_clock else contextlib.nullcontext(),
            self._ids() if self.drive_clock else contextlib.nullcontext(),
        ):
            while (end is None or self.now < end) and not should_stop():
                step_end = self.now + self.step if end is None else min(self.now + self.step, end)
                for actor in self.actors:
                    actor.step(self.db, self.now, step_end, rng)
                    if self.deliver_events:
                        consumers.deliver_pending(self.db)
                    if self.pause:
                        time.sleep(self.pause)
                self.now = step_end
                self.steps_done += 1
                if self.on_step is not None:
                    self.on_step(self.now)
                if self.speed:
                    due = wall0 + (self.now - sim0).total_seconds() / self.speed
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if self.steps_done % 36 == 0:
                    self.progress(
                        f"simulated {clock.local(self.now):%Y-%m-%d %H:%M} "
                        f"({(self.now - self.start).total_seconds() / 3600:.1f} h)"
                    )

    def _ids(self) -> contextlib.AbstractContextManager[None]:
        """New ids drawn from the run's seed (:func:`onecity.core.db.seeded_ids`), when the run owns the
        platform (it drives the clock: no server's people share it). Rows made at one simulated moment
        are ordered by id in places, and random ids made the same seed give different figures. The salt is
        the audit log's length, which a fresh city of one seed always starts with and every run adds to."""
        from sqlalchemy import func, select

        from onecity.core.audit import AuditEntry

        with self.db.sessions() as session:
            salt = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
        return seeded_ids(self.seed, salt)

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "simulation": {
                "start": self.start.isoformat(),
                "end": self.now.isoformat(),
                "hours": round((self.now - self.start).total_seconds() / 3600, 3),
                "seed": self.seed,
                "speed": self.speed if self.speed else "max",
            }
        }
        for actor in self.actors:
            out.setdefault(actor.name, {}).update(actor.report())
        return out
