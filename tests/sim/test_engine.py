"""The simulation replays its seed: ids made during a run come from the run's generator.

Rows made at one simulated moment are ordered by id in places (the operations clocks' sweep, the
simulated people's turns); with random ids two runs of one seed drew different figures (twin 12-hour
runs of the sensing, operations and traffic actors disagreed on a dozen figures until ids were seeded).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from onecity.core import clock
from onecity.core.db import Database, new_id, seeded_ids
from onecity.sim.engine import Simulation

START = datetime(2026, 6, 1, 0, 0, tzinfo=clock.SHANGHAI)


@dataclass
class IdMaker:
    """An actor that makes an id each step (as every row a real actor writes does)."""

    name: str = "ids"
    made: list[str] = field(default_factory=list)

    def step(self, db: Database, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        self.made.append(new_id())

    def report(self) -> dict[str, Any]:
        return {}


def _run(db: Database, seed: int, *, drive_clock: bool = True) -> list[str]:
    actor = IdMaker()
    Simulation(db, [actor], start=START, seed=seed, drive_clock=drive_clock, progress=lambda _m: None).run(1)
    return actor.made


def test_a_run_makes_the_same_ids_with_the_same_seed_and_random_ones_beside_a_server(db: Database) -> None:
    first = _run(db, 7)
    assert len(first) == 6 and len(set(first)) == 6
    assert _run(db, 7) == first  # nothing audited in between: the same start, the same ids
    assert _run(db, 8) != first
    assert all(len(i) == 36 and i[14] == "4" for i in first)  # still version-4 UUIDs
    beside_a_server = _run(db, 7, drive_clock=False)
    assert not set(beside_a_server) & set(first)  # a demo beside people keeps unguessable ids
    assert new_id() not in first  # and the generator is handed back after the run


def test_seeded_ids_differ_by_salt_so_a_second_run_over_one_database_makes_new_ones() -> None:
    with seeded_ids(1, 0):
        a = [new_id() for _ in range(3)]
    with seeded_ids(1, 0):
        assert [new_id() for _ in range(3)] == a
    with seeded_ids(1, 5):
        assert not {new_id() for _ in range(3)} & set(a)


WEATHER = """
import json, types
from datetime import datetime, timedelta
import numpy as np
from onecity.core import clock
from onecity.synth.actors.sensing import SensingActor
actor = SensingActor(scale=0.001)
actor.devices = [types.SimpleNamespace(township=f"3101{d:02d}001000") for d in range(1, 17)]
rng, t = np.random.default_rng(3), datetime(2026, 6, 1, tzinfo=clock.SHANGHAI)
for h in range(48):
    actor._weather(t + timedelta(hours=h), t + timedelta(hours=h + 1), rng)
print(json.dumps(actor.raining, sort_keys=True))
"""


def test_the_weather_draws_in_the_same_order_whatever_the_hash_seed() -> None:
    """Districts were visited in a set's order, which PYTHONHASHSEED changes: the same seed rained elsewhere."""
    root = Path(__file__).resolve().parents[2]
    seen = set()
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)}
        out = subprocess.run([sys.executable, "-c", WEATHER], env=env, capture_output=True, text=True, check=True)
        seen.add(out.stdout)
    assert len(seen) == 1, seen
