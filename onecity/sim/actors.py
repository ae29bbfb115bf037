"""Which actors live in the simulated city: one list, used by `onecity simulate` and the demo.

Each part that acts in the city (residents applying for services, reports reaching the
hotline, sensors reading) lists a module here exposing ``actors(scale) -> list[Actor]``.
Order matters only for determinism: actors step in this order within each tick.
"""

from __future__ import annotations

import importlib

from onecity.sim.engine import Actor

ACTOR_MODULES: list[str] = [
    "onecity.sim.city",
    "onecity.services.sim",
    "onecity.sensing.sim",
    "onecity.ops.sim",
    "onecity.credentials.sim",
]


def build(scale: float, modules: list[str] | None = None) -> list[Actor]:
    """The actors of ``modules`` (default: all), e.g. only the city's life events for a test of them."""
    out: list[Actor] = []
    for name in ACTOR_MODULES if modules is None else modules:
        out.extend(importlib.import_module(name).actors(scale))
    return out
