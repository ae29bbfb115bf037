"""Life events of the registries: births, deaths, moves, firm registrations and closures.

One service function per state change (check → lock → save → audit → event), the same
functions whether a registrar, a counter clerk or the simulation calls them. Each publishes
a typed domain event that later parts subscribe to (a birth starts the "birth" life-event
bundle in government services; a closed firm's licences are revoked).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from onecity.core import audit, clock, events, policy
from onecity.core.divisions import Division, DivisionLevel, district_of
from onecity.core.errors import Conflict, InvalidInput, NotFound
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import Role
from onecity.hub.registries.events import (
    FIRM_CLOSED,
    FIRM_REGISTERED,
    PERSON_BORN,
    PERSON_DIED,
    PERSON_MOVED,
    FirmClosed,
    FirmRegistered,
    PersonBorn,
    PersonDied,
    PersonMoved,
)
from onecity.hub.registries.identifiers import make_resident_id, make_uscc, validate_resident_id, validate_uscc
from onecity.hub.registries.models import LegalPerson, LegalPersonStatus, Person, PersonStatus

policy.register_actions(
    {
        "hub.registry.person.register": frozenset({Role.COUNTER_CLERK, Role.DATA_STEWARD}),
        "hub.registry.legal_person.register": frozenset({Role.COUNTER_CLERK, Role.DATA_STEWARD}),
    }
)


def _residence(session: Session, code: str) -> Division:
    div = session.get(Division, code)
    if div is None or div.level != DivisionLevel.COMMUNITY:
        raise InvalidInput(f"{code} is not a community or village: people live in one")
    return div


def _next_id(session: Session, column: InstrumentedAttribute[int]) -> int:
    # ids are dense integers (the seed assigns them); a clash under concurrency fails the
    # insert on the primary key, and with it the caller's whole transaction (nothing retries
    # it): two records never share an id
    return int(session.scalar(select(func.coalesce(func.max(column), 0))) or 0) + 1


def register_birth(
    session: Session,
    principal: Principal,
    *,
    name: str,
    male: bool,
    birth_date: date,
    division_code: str,
    address: str,
    hukou_region: str | None = None,
) -> Person:
    """A newborn enters the population register with a new GB 11643 number."""
    policy.require(principal, "hub.registry.person.register")
    if not name.strip():
        raise InvalidInput("a newborn needs a name")
    if birth_date > clock.today():
        raise InvalidInput("a birth date cannot be in the future")
    _residence(session, division_code)
    policy.require_in_scope(session, principal, "hub.person", division_code)
    region = district_of(division_code)[:6]
    prefix = region + birth_date.strftime("%Y%m%d")
    taken = {n[14:17] for n in session.scalars(select(Person.id_number).where(Person.id_number.startswith(prefix)))}
    sequence = next((s for s in range(1 if male else 0, 1000, 2) if f"{s:03d}" not in taken), None)
    if sequence is None:
        raise Conflict(f"no ID sequence left for {prefix} ({'male' if male else 'female'})")
    person = Person(
        id=_next_id(session, Person.id),
        id_number=make_resident_id(region, birth_date, sequence),
        name=name.strip(),
        sex="M" if male else "F",
        birth_date=birth_date,
        hukou_region=hukou_region or region,
        division_code=division_code,
        address=address,
        phone=None,
        status=PersonStatus.ALIVE,
        updated_at=clock.now(),
    )
    validate_resident_id(person.id_number)
    session.add(person)
    session.flush()
    audit.record(
        session,
        principal,
        "hub.person.registered",
        object_type="person",
        object_id=str(person.id),
        subject=f"person:{person.id}",
        division_code=division_code,
        detail={"event": "birth"},
    )
    events.publish(
        session,
        PERSON_BORN,
        PersonBorn(person_id=person.id, division_code=division_code, birth_date=birth_date),
        principal=principal,
        reason="birth registered",
    )
    return person


def _person(session: Session, principal: Principal, person_id: int) -> Person:
    person = session.get(Person, person_id, with_for_update=True)
    if person is None:
        raise NotFound(f"no person {person_id}")
    policy.require_in_scope(session, principal, "hub.person", person.division_code)
    if person.status != PersonStatus.ALIVE:
        raise Conflict(f"person {person_id} is {person.status}, not alive in the register")
    return person


def register_death(session: Session, principal: Principal, person_id: int) -> Person:
    policy.require(principal, "hub.registry.person.register")
    person = _person(session, principal, person_id)
    person.status = PersonStatus.DECEASED
    person.updated_at = clock.now()
    audit.record(
        session,
        principal,
        "hub.person.deceased",
        object_type="person",
        object_id=str(person.id),
        subject=f"person:{person.id}",
        division_code=person.division_code,
    )
    events.publish(
        session,
        PERSON_DIED,
        PersonDied(person_id=person.id, division_code=person.division_code),
        principal=principal,
        reason="death registered",
    )
    return person


def register_move(session: Session, principal: Principal, person_id: int, *, to_division: str, address: str) -> Person:
    """A change of residence inside the city (居住地变更)."""
    policy.require(principal, "hub.registry.person.register")
    person = _person(session, principal, person_id)
    _residence(session, to_division)
    if to_division == person.division_code:
        raise InvalidInput("the new residence is the current one")
    before = person.division_code
    person.division_code, person.address, person.updated_at = to_division, address, clock.now()
    audit.record(
        session,
        principal,
        "hub.person.moved",
        object_type="person",
        object_id=str(person.id),
        subject=f"person:{person.id}",
        division_code=to_division,
        detail={"from": before, "to": to_division},
    )
    events.publish(
        session,
        PERSON_MOVED,
        PersonMoved(person_id=person.id, from_division=before, to_division=to_division),
        principal=principal,
        reason="move registered",
    )
    return person


def register_firm(
    session: Session,
    principal: Principal,
    *,
    name: str,
    kind: str,
    org_body: str,
    industry: str,
    legal_rep_id: int,
    division_code: str,
    address: str,
    registered_capital: float,
) -> LegalPerson:
    """A new market entity with its unified social credit code (企业设立登记)."""
    policy.require(principal, "hub.registry.legal_person.register")
    _residence(session, division_code)
    policy.require_in_scope(session, principal, "hub.legal_person", division_code)
    rep = session.get(Person, legal_rep_id)
    if rep is None or rep.status != PersonStatus.ALIVE:
        raise InvalidInput(f"legal representative {legal_rep_id} is not a living person in the register")
    if registered_capital < 0:
        raise InvalidInput("registered capital cannot be negative")
    uscc = make_uscc(kind, district_of(division_code)[:6], org_body)
    validate_uscc(uscc)
    if session.scalar(select(LegalPerson.id).where(LegalPerson.uscc == uscc)) is not None:
        raise Conflict(f"credit code {uscc} is already registered")
    firm = LegalPerson(
        id=_next_id(session, LegalPerson.id),
        uscc=uscc,
        name=name,
        kind=kind,
        industry=industry,
        legal_rep_id=legal_rep_id,
        division_code=division_code,
        address=address,
        established_on=clock.local(clock.now()).date(),
        registered_capital=registered_capital,
        status=LegalPersonStatus.ACTIVE,
        updated_at=clock.now(),
    )
    session.add(firm)
    session.flush()
    audit.record(
        session,
        principal,
        "hub.legal_person.registered",
        object_type="legal_person",
        object_id=str(firm.id),
        division_code=division_code,
        detail={"uscc": uscc},
    )
    events.publish(
        session,
        FIRM_REGISTERED,
        FirmRegistered(legal_person_id=firm.id, uscc=uscc, industry=industry, division_code=division_code),
        principal=principal,
        reason="firm registered",
    )
    return firm


def close_firm(session: Session, principal: Principal, legal_person_id: int) -> LegalPerson:
    """Deregistration (注销): the firm stays in the register with its status."""
    policy.require(principal, "hub.registry.legal_person.register")
    firm = session.get(LegalPerson, legal_person_id, with_for_update=True)
    if firm is None:
        raise NotFound(f"no legal person {legal_person_id}")
    policy.require_in_scope(session, principal, "hub.legal_person", firm.division_code)
    if firm.status != LegalPersonStatus.ACTIVE:
        raise Conflict(f"legal person {legal_person_id} is already {firm.status}")
    firm.status, firm.updated_at = LegalPersonStatus.CANCELLED, clock.now()
    audit.record(
        session,
        principal,
        "hub.legal_person.closed",
        object_type="legal_person",
        object_id=str(firm.id),
        division_code=firm.division_code,
        detail={"uscc": firm.uscc},
    )
    events.publish(
        session,
        FIRM_CLOSED,
        FirmClosed(legal_person_id=firm.id, uscc=firm.uscc),
        principal=principal,
        reason="firm deregistered",
    )
    return firm
