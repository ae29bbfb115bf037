"""The classification of what a case is about, in the GB/T 30428.2 style, shipped as data.

``data/taxonomy.json`` holds the six component major classes (the minor classes are the
component registry's own, :data:`onecity.hub.registries.components.CLASSES`, so a
component's class code means the same everywhere), the six event major classes with their
subtypes, each subtype's responsible department, the urgency levels with per-step time
limits (normal cases in working hours, urgent ones in clock hours) and closure conditions.

A case's subtype code is ``E`` + the event subtype (``E0101`` exposed rubbish) or ``C`` +
the component class (``C0103`` rain-water manhole cover): one namespace, which Open311
publishes as its ``service_code``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Any

from onecity.core.errors import InvalidInput
from onecity.hub.registries import components


class Kind(StrEnum):
    EVENT = "event"
    COMPONENT = "component"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Step(StrEnum):
    """The timed steps of the loop; each has a limit per urgency."""

    REGISTER = "register"
    DISPATCH = "dispatch"
    DISPOSE = "dispose"
    VERIFY = "verify"
    CLOSE = "close"


class UnitLevel(StrEnum):
    TOWNSHIP = "township"
    DISTRICT = "district"


@dataclass(frozen=True)
class Department:
    key: str
    name: str
    name_en: str
    level: UnitLevel


@dataclass(frozen=True)
class UrgencyLevel:
    key: Urgency
    name: str
    name_en: str
    #: "working": limits count working hours; "clock": every hour counts.
    clock: str
    limits: dict[str, float]


@dataclass(frozen=True)
class Subtype:
    code: str
    kind: Kind
    major: str
    name: str
    name_en: str
    department: str
    #: disposal limit in hours per urgency (working hours for normal, clock hours for urgent)
    dispose: dict[str, float]
    default_urgency: Urgency
    closure: str
    closure_en: str

    @property
    def major_code(self) -> str:
        return self.code[0] + self.major

    def limit(self, step: Step, urgency: Urgency) -> float:
        if step is Step.DISPOSE:
            return float(self.dispose[urgency.value])
        return float(taxonomy().urgency[urgency].limits[step.value])


@dataclass(frozen=True)
class MajorClass:
    code: str  # "E01" / "C01"
    kind: Kind
    name: str
    name_en: str


@dataclass(frozen=True)
class Taxonomy:
    standard: str
    working_hours: dict[str, Any]
    urgency: dict[Urgency, UrgencyLevel]
    departments: dict[str, Department]
    majors: dict[str, MajorClass]
    subtypes: dict[str, Subtype]

    def subtype(self, code: str) -> Subtype:
        found = self.subtypes.get(code)
        if found is None:
            raise InvalidInput(
                f"unknown case type {code!r}; the types are listed at /open311/v2/services.json "
                f"(e.g. E0101 exposed rubbish, C0103 rain-water manhole cover)"
            )
        return found

    def department(self, key: str) -> Department:
        found = self.departments.get(key)
        if found is None:
            raise InvalidInput(f"unknown department {key!r}; one of {sorted(self.departments)}")
        return found

    def component_subtype(self, class_code: str) -> Subtype:
        return self.subtype("C" + class_code)


def _load() -> Taxonomy:
    raw = json.loads(resources.files("onecity.ops").joinpath("data/taxonomy.json").read_text(encoding="utf-8"))
    departments = {
        k: Department(k, v["name"], v["name_en"], UnitLevel(v["level"])) for k, v in raw["departments"].items()
    }
    urgency = {
        Urgency(k): UrgencyLevel(Urgency(k), v["name"], v["name_en"], v["clock"], dict(v["limits"]))
        for k, v in raw["urgency"].items()
    }
    majors: dict[str, MajorClass] = {}
    subtypes: dict[str, Subtype] = {}
    for mcode, m in raw["event_classes"].items():
        majors["E" + mcode] = MajorClass("E" + mcode, Kind.EVENT, m["name"], m["name_en"])
        for scode, s in m["subtypes"].items():
            if s["department"] not in departments:
                raise ValueError(f"taxonomy: subtype {scode} names unknown department {s['department']}")
            subtypes["E" + scode] = Subtype(
                "E" + scode,
                Kind.EVENT,
                mcode,
                s["name"],
                s["name_en"],
                s["department"],
                {k: float(v) for k, v in s["dispose"].items()},
                Urgency(s.get("urgency", "normal")),
                s["closure"],
                s["closure_en"],
            )
    for mcode, m in raw["component_classes"].items():
        majors["C" + mcode] = MajorClass("C" + mcode, Kind.COMPONENT, m["name"], m["name_en"])
    cp = raw["component_problems"]
    owners = raw["component_owner_departments"]
    for c in components.CLASSES:
        subtypes["C" + c.code] = Subtype(
            "C" + c.code,
            Kind.COMPONENT,
            c.code[:2],
            f"{c.name}破损",
            f"Damaged {c.name_en}",
            owners[c.owner],
            {k: float(v) for k, v in cp["dispose"].items()},
            Urgency.URGENT if c.code in cp["urgent_classes"] else Urgency.NORMAL,
            cp["closure"],
            cp["closure_en"],
        )
    return Taxonomy(raw["standard"], raw["working_hours"], urgency, departments, majors, subtypes)


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    """The shipped taxonomy, read once per process."""
    return _load()
