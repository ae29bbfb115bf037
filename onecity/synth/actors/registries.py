"""Registry life events at Shanghai's rates: births, deaths, moves, firm registrations and closures.

Rates (per year, applied to the simulated population, so they scale with ``--scale``):

* births 4.35 ‰ and deaths 5.96 ‰ of residents — Shanghai Statistical Bulletin 2022;
* moves inside the city 3 % of residents — an assumption (no published figure found);
* new market entities 529,700 a year at scale 1 — Shanghai Administration for Market
  Regulation, 2023; closures taken as 60 % of entries (an assumption).

Every event goes through the registries' service functions as the system principal
``sim:registrar``, so it is validated, audited and published like a real one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.divisions import Division, DivisionLevel
from onecity.core.errors import DomainError
from onecity.core.identity.principal import system_principal
from onecity.hub.registries import life_events, relations
from onecity.hub.registries.identifiers import USCC_ALPHABET
from onecity.hub.registries.models import LegalPerson, LegalPersonStatus, Person, PersonStatus, RelationKind
from onecity.synth.registries import census

log = logging.getLogger(__name__)

YEAR_HOURS = 365.0 * 24
BIRTHS_PER_RESIDENT_YEAR = 4.35e-3
DEATHS_PER_RESIDENT_YEAR = 5.96e-3
MOVES_PER_RESIDENT_YEAR = 0.03
NEW_FIRMS_PER_YEAR_AT_SCALE_1 = 529_700
CLOSURES_PER_ENTRY = 0.6
ORG_CHARS = [c for c in USCC_ALPHABET if c.isdigit() or "A" <= c <= "Z"]


REGISTRAR = system_principal("sim:registrar")


@dataclass
class LifeEventsActor:
    """Drives the population and firm registers through simulated time."""

    scale: float
    name: str = "city"
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("births", "deaths", "moves", "firms_registered", "firms_closed", "refused"), 0
        )
    )
    _population: int = field(default=0, init=False)
    _communities: list[str] = field(default_factory=list, init=False)
    _loaded: bool = field(default=False, init=False)

    def _refresh(self, db: Database) -> None:
        with db.sessions() as session:
            self._population = int(
                session.scalar(select(func.count()).select_from(Person).where(Person.status == PersonStatus.ALIVE)) or 0
            )
            self._communities = list(
                session.scalars(
                    select(Division.code).where(Division.level == DivisionLevel.COMMUNITY).order_by(Division.code)
                )
            )

    def step(self, db: Database, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        if not self._loaded:
            self._refresh(db)
            self._loaded = True
        if not self._communities or self._population == 0:
            return  # no city seeded yet: nothing lives here
        years = (end - start).total_seconds() / 3600 / YEAR_HOURS
        todo = {
            "births": rng.poisson(self._population * BIRTHS_PER_RESIDENT_YEAR * years),
            "deaths": rng.poisson(self._population * DEATHS_PER_RESIDENT_YEAR * years),
            "moves": rng.poisson(self._population * MOVES_PER_RESIDENT_YEAR * years),
            "firms_registered": rng.poisson(NEW_FIRMS_PER_YEAR_AT_SCALE_1 * self.scale * years),
            "firms_closed": rng.poisson(NEW_FIRMS_PER_YEAR_AT_SCALE_1 * CLOSURES_PER_ENTRY * self.scale * years),
        }
        actions = {
            "births": self._birth,
            "deaths": self._death,
            "moves": self._move,
            "firms_registered": self._register_firm,
            "firms_closed": self._close_firm,
        }
        for kind, n in todo.items():
            for _ in range(int(n)):
                try:
                    with db.transaction() as session:
                        done = actions[kind](session, rng)
                except DomainError as err:  # e.g. a random pick that no longer qualifies
                    log.debug("simulated %s refused: %s", kind, err.detail)
                    self.counts["refused"] += 1
                    continue
                if done:
                    self.counts[kind] += 1
                    self._population += {"births": 1, "deaths": -1}.get(kind, 0)

    # -- the events ------------------------------------------------------------------------

    def _random_person(self, session: Session, rng: np.random.Generator) -> Person | None:
        top = int(session.scalar(select(func.max(Person.id))) or 0)
        for _ in range(20):
            p = session.get(Person, int(rng.integers(1, top + 1)))
            if p is not None and p.status == PersonStatus.ALIVE:
                return p
        return None

    def _name(self, rng: np.random.Generator, male: bool) -> str:
        surnames = [name for name, _ in census.SURNAMES]
        w = np.asarray([weight for _, weight in census.SURNAMES], dtype=float)
        surname = surnames[int(rng.choice(len(surnames), p=w / w.sum()))]
        chars = census.GIVEN_MALE if male else census.GIVEN_FEMALE
        n = 1 if rng.random() < census.GIVEN_SINGLE_SHARE else 2
        return surname + "".join(chars[int(rng.integers(len(chars)))] for _ in range(n))

    def _birth(self, session: Any, rng: np.random.Generator) -> bool:
        today = clock.local(clock.now()).date()
        parent = None
        for _ in range(20):  # a parent of an age to have a child (20–45)
            p = self._random_person(session, rng)
            if p is not None and 20 <= (today - p.birth_date).days / 365.2425 < 45:
                parent = p
                break
        if parent is None:
            return False
        male = bool(rng.random() < 0.52)  # Shanghai's sex ratio at birth ≈ 108
        child = life_events.register_birth(
            session,
            REGISTRAR,
            name=self._name(rng, male),
            male=male,
            birth_date=clock.local(clock.now()).date(),
            division_code=parent.division_code,
            address=parent.address,
            hukou_region=parent.hukou_region,
        )
        # the hospital's birth report names the parent: they act for the child (and apply for it)
        relations.record_relation(
            session,
            REGISTRAR,
            person_id=child.id,
            relative_id=parent.id,
            kind=RelationKind.PARENT,
            source="出生医学证明（医院出生报告）/ hospital birth report",
        )
        return True

    def _death(self, session: Any, rng: np.random.Generator) -> bool:
        person = self._random_person(session, rng)
        if person is None:
            return False
        life_events.register_death(session, REGISTRAR, person.id)
        return True

    def _move(self, session: Any, rng: np.random.Generator) -> bool:
        person = self._random_person(session, rng)
        if person is None:
            return False
        to = self._communities[int(rng.integers(len(self._communities)))]
        if to == person.division_code:
            return False
        division = session.get(Division, to)
        life_events.register_move(
            session, REGISTRAR, person.id, to_division=to, address=f"{division.name}{int(rng.integers(1, 300))}号"
        )
        return True

    def _register_firm(self, session: Any, rng: np.random.Generator) -> bool:
        rep = self._random_person(session, rng)
        if rep is None:
            return False
        sections = census.INDUSTRY_SECTIONS
        w = np.asarray([s[2] for s in sections], dtype=float)
        section = sections[int(rng.choice(len(sections), p=w / w.sum()))]
        trade = "".join(census.GIVEN_MALE[int(rng.integers(len(census.GIVEN_MALE)))] for _ in range(2))
        org_body = "".join(ORG_CHARS[int(rng.integers(len(ORG_CHARS)))] for _ in range(8))
        division = session.get(Division, rep.division_code)
        life_events.register_firm(
            session,
            REGISTRAR,
            name=f"上海{trade}{section[3]}有限公司",
            kind="91",
            org_body=org_body,
            industry=section[0],
            legal_rep_id=rep.id,
            division_code=rep.division_code,
            address=f"{division.name}{int(rng.integers(1, 500))}号",
            registered_capital=float(np.round(rng.lognormal(4.0, 1.2), 2)),
        )
        return True

    def _close_firm(self, session: Any, rng: np.random.Generator) -> bool:
        top = int(session.scalar(select(func.max(LegalPerson.id))) or 0)
        for _ in range(20):
            firm = session.get(LegalPerson, int(rng.integers(1, top + 1))) if top else None
            if firm is not None and firm.status == LegalPersonStatus.ACTIVE:
                life_events.close_firm(session, REGISTRAR, firm.id)
                return True
        return False

    def report(self) -> dict[str, Any]:
        return {"life_events": dict(self.counts)}


def actors(scale: float) -> list[LifeEventsActor]:
    return [LifeEventsActor(scale)]
