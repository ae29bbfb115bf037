"""Which actors live in the simulated city, used by `onecity simulate` and the demo.

Each part that acts in the city (residents applying for services, reports reaching the
hotline, sensors reading) lists in its manifest's ``actors`` a module exposing
``actors(scale) -> list[Actor]``. Order matters only for determinism: actors step in the
order of the parts (:mod:`onecity.parts`) within each tick.
"""

from __future__ import annotations

import importlib

from onecity.core import parts
from onecity.sim.engine import Actor


def build(scale: float, modules: list[str] | None = None) -> list[Actor]:
    """The actors of ``modules`` (default: all), e.g. only the city's life events for a test of them."""
    out: list[Actor] = []
    for name in parts.modules("actors") if modules is None else modules:
        out.extend(importlib.import_module(name).actors(scale))
    return out
