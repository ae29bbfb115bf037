"""Who may act for whom (代办), and on what basis anyone reads a person's or a firm's registry data.

A person's registry record is read on one of three bases (:class:`ReadBasis`), and the registries'
audited read functions (:mod:`onecity.hub.registries.service`) take one on every call:

* **duty** — staff (or a platform agent registered with :func:`register_duty_agent`) doing an
  official task under a legal basis, within their area (the access policy checks role and area).
  One duty reaches past the area: a service counter serving a resident who stands before the
  clerk with their identity document (全市通办 — any counter in the city serves any resident).
  :meth:`ReadBasis.counter` names that person's ID number; it covers their records and their
  firms' only, for a counter clerk only, and the audit entry says the person was present;
* **self** — the person themselves, through their own account linked to their record;
* **representation** — someone acting for them, proven by a relation the registries know (parent
  of a minor, guardian, household member; legal representative for a firm) or by a registered
  power of attorney the person granted. Only :func:`prove` makes one, and the read function checks
  it again against the registry at the moment of the read, so a revoked or expired power of
  attorney stops working at once.

What an applicant *says* about how they are related proves nothing: until a relation or a power of
attorney is found, nothing about the represented person is read.

Powers of attorney are state changes like any other (check → lock → save → audit → event): granted
by the grantor from their own account or recorded at a counter by a clerk who checked both
identities, revoked by the grantor (online or at a counter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from onecity.core import audit, clock, events, policy
from onecity.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.registries.events import POA_GRANTED, POA_REVOKED, RELATION_RECORDED, PoaChanged, RelationRecorded
from onecity.hub.registries.identifiers import validate_resident_id
from onecity.hub.registries.models import (
    LegalPerson,
    Person,
    PersonRelation,
    PowerOfAttorney,
    PowerOfAttorneyStatus,
    RelationKind,
)

policy.register_actions(
    {
        # registrars record relations from births, household registers and court rulings
        "hub.registry.relation.record": frozenset({Role.COUNTER_CLERK, Role.DATA_STEWARD}),
        # a clerk records a power of attorney (or its revocation) after checking both identity documents;
        # residents grant, list and revoke their own from their linked account (checked by the link, not a role)
        "hub.registry.poa.record": frozenset({Role.COUNTER_CLERK}),
    }
)

ADULT_AGE = 18
MAX_POA_DAYS = 5 * 366
ALL_ITEMS = "*"
LEGAL_REP = "legal_rep"
POWER_OF_ATTORNEY = "power_of_attorney"

#: The relation in words, for the represented person's access log and the messages (zh, en).
RELATION_WORDS: dict[str, tuple[str, str]] = {
    RelationKind.PARENT.value: ("父母（未成年子女的监护人）", "parent of a minor"),
    RelationKind.GUARDIAN.value: ("监护人", "guardian"),
    RelationKind.HOUSEHOLD.value: ("同户家庭成员", "household member"),
    LEGAL_REP: ("企业法定代表人", "legal representative of the firm"),
    POWER_OF_ATTORNEY: ("授权委托（本人登记的委托书）", "power of attorney granted by the person"),
}


class BasisKind(StrEnum):
    DUTY = "duty"
    SELF = "self"
    REPRESENTATION = "representation"


@dataclass(frozen=True)
class ReadBasis:
    """Why this read of a person's (or a firm's) data is allowed; written into its audit entry."""

    kind: BasisKind
    legal_basis: str = ""
    #: SELF and REPRESENTATION: whose data may be read (the represented person).
    person_id: int | None = None
    #: REPRESENTATION: who acts, how they are related, and the registry row that proves it.
    agent_person_id: int | None = None
    agent_name: str | None = None
    relation: str | None = None
    proof_id: str | None = None
    #: The service items the representation was proven for (a power of attorney's scope).
    items: tuple[str, ...] = ()
    #: The account acting (``user:<id>``).
    account: str | None = None
    #: DUTY at a counter: the ID number of the person present, whose document the clerk checked.
    present_id_number: str | None = None

    @classmethod
    def duty(cls, legal_basis: str) -> ReadBasis:
        """Staff doing an official task: the legal basis (or task) is named in the audit entry."""
        if len(legal_basis.strip()) < 3:
            raise InvalidInput("a read on an official duty names its legal basis or task")
        return cls(BasisKind.DUTY, legal_basis=legal_basis.strip()[:200])

    @classmethod
    def counter(cls, legal_basis: str, id_number: str) -> ReadBasis:
        """A counter clerk serving the person present, identity document checked (全市通办): the duty
        reaches that person's records (and their firms') wherever in the city they are registered."""
        basis = cls.duty(legal_basis)
        return cls(basis.kind, legal_basis=basis.legal_basis, present_id_number=id_number.strip().upper())

    def reaches_past_area(self, principal: Principal) -> bool:
        """Whether this read may leave the principal's area: only a counter clerk's, for the person present."""
        return (
            self.kind is BasisKind.DUTY
            and self.present_id_number is not None
            and principal.kind is PrincipalKind.STAFF
            and principal.has_role(Role.COUNTER_CLERK)
        )

    @classmethod
    def own(cls, person_id: int, account: str) -> ReadBasis:
        """The person themselves, through their linked account."""
        return cls(BasisKind.SELF, legal_basis="本人 / the person themselves", person_id=person_id, account=account)

    def words(self) -> tuple[str, str]:
        return RELATION_WORDS.get(self.relation or "", ("", ""))

    def detail(self) -> dict[str, Any]:
        """What the audit entry says about the basis (the access log renders the relation in words)."""
        out: dict[str, Any] = {"basis": self.kind.value}
        if self.kind is BasisKind.DUTY:
            out["legal_basis"] = self.legal_basis
            if self.present_id_number is not None:
                out["in_person"] = True  # 全市通办: the person stood at the counter, document checked
        if self.account:
            out["account"] = self.account
        if self.kind is BasisKind.REPRESENTATION:
            zh, en = self.words()
            out.update(
                relation=self.relation,
                relation_zh=zh,
                relation_en=en,
                proof=self.proof_id,
                agent=f"person:{self.agent_person_id}",
                agent_name=self.agent_name,
            )
        return out


#: System principals that read on an official duty of their own (the AI pre-review); any other
#: platform agent reads only for the person themselves or for a proven representative.
_DUTY_AGENTS: dict[str, str] = {}


def register_duty_agent(name: str, legal_basis: str) -> None:
    """Let the platform agent ``system:<name>`` read registry data on an official duty."""
    _DUTY_AGENTS[name] = legal_basis


# -- proving a representation ------------------------------------------------------------------------


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _covers(scope: list[str], items: tuple[str, ...]) -> bool:
    return ALL_ITEMS in scope or (bool(items) and set(items) <= set(scope))


def _relation_holds(row: PersonRelation, represented: Person, today: date) -> bool:
    if row.ended_at is not None or row.valid_from > today or (row.valid_until is not None and row.valid_until < today):
        return False
    if row.kind == RelationKind.PARENT:
        return _age(represented.birth_date, today) < ADULT_AGE
    return True


def _relations_between(session: Session, agent_id: int, person_id: int) -> list[PersonRelation]:
    household = (
        (PersonRelation.kind == RelationKind.HOUSEHOLD)
        & (PersonRelation.person_id == agent_id)
        & (PersonRelation.relative_id == person_id)
    )
    direct = (PersonRelation.person_id == person_id) & (PersonRelation.relative_id == agent_id)
    return list(session.scalars(select(PersonRelation).where(or_(direct, household)).order_by(PersonRelation.kind)))


def _live_poa(session: Session, agent_id: int, grantor_id: int, items: tuple[str, ...]) -> PowerOfAttorney | None:
    now = clock.now()
    rows = session.scalars(
        select(PowerOfAttorney)
        .where(
            PowerOfAttorney.agent_id == agent_id,
            PowerOfAttorney.grantor_id == grantor_id,
            PowerOfAttorney.status == PowerOfAttorneyStatus.ACTIVE,
            PowerOfAttorney.valid_from <= now,
            PowerOfAttorney.valid_until > now,
        )
        .order_by(PowerOfAttorney.created_at.desc())
    )
    return next((p for p in rows if _covers(list(p.scope), items)), None)


def prove(session: Session, agent: Person, *, id_number: str, items: tuple[str, ...], account: str) -> ReadBasis | None:
    """The proven standing of ``agent`` to act for the person with ``id_number`` on ``items``, or None.

    Looks only at relations and powers of attorney *of the agent*: for anyone else the answer is
    None whether or not the ID number exists, so a refusal confirms nothing about a stranger.
    """
    person = session.scalar(
        select(Person)
        .where(Person.id_number == id_number.strip().upper())
        .where(
            or_(
                Person.id.in_(select(PersonRelation.person_id).where(PersonRelation.relative_id == agent.id)),
                Person.id.in_(
                    select(PersonRelation.relative_id).where(
                        PersonRelation.person_id == agent.id, PersonRelation.kind == RelationKind.HOUSEHOLD
                    )
                ),
                Person.id.in_(select(PowerOfAttorney.grantor_id).where(PowerOfAttorney.agent_id == agent.id)),
            )
        )
    )
    if person is None or person.id == agent.id:
        return None
    return _prove_for(session, agent, person, items, account)


def _prove_for(
    session: Session, agent: Person, person: Person, items: tuple[str, ...], account: str
) -> ReadBasis | None:
    today = clock.local(clock.now()).date()
    kind, proof = None, None
    for row in _relations_between(session, agent.id, person.id):
        if _relation_holds(row, person, today):
            kind, proof = str(row.kind), row.id
            break
    if kind is None:
        poa = _live_poa(session, agent.id, person.id, items)
        if poa is not None:
            kind, proof = POWER_OF_ATTORNEY, poa.id
    if kind is None:
        return None
    return ReadBasis(
        BasisKind.REPRESENTATION,
        legal_basis=RELATION_WORDS[kind][1],
        person_id=person.id,
        agent_person_id=agent.id,
        agent_name=agent.name,
        relation=kind,
        proof_id=proof,
        items=items,
        account=account,
    )


def represents(session: Session, agent: Person, person_id: int, items: tuple[str, ...]) -> bool:
    """Whether ``agent`` may still act for ``person_id`` on ``items`` (a case they started as proxy)."""
    person = session.get(Person, person_id)
    return person is not None and _prove_for(session, agent, person, items, "") is not None


def missing_proof(items: tuple[str, ...]) -> str:
    """The bilingual notice a would-be proxy reads: what proof is missing and how to obtain it."""
    what = "、".join(items) if items else "—"
    return (
        "未找到您代办此人事项的依据：户籍、出生或监护登记中没有您与其的关系（未成年子女的父母、监护人、同户家庭成员），"
        f"也没有其本人登记的、覆盖这些事项（{what}）且在有效期内的授权委托。请本人在“一网通办”账户中为您登记授权委托"
        "（我的授权委托 /services/powers），或与您一同携带双方身份证件到任一服务窗口办理；办理前不读取其任何信息。"
        " / No proof that you may act for this person: the registries record no relation between you (parent of a "
        "minor, guardian, household member) and they have registered no power of attorney for you that covers "
        f"these items ({', '.join(items) or '-'}) and is in force. Ask them to grant you one from their own account "
        "(My powers of attorney, /services/powers), or come to any service counter together with both identity "
        "cards; nothing about them is read until then."
    )


def _check_present(session: Session, id_number: str, *, person_id: int | None, firm_id: int | None) -> None:
    """A counter duty for the person present covers that person and the firms they represent, no one else."""
    if firm_id is not None:
        firm = session.get(LegalPerson, firm_id)
        person_id = firm.legal_rep_id if firm is not None else None
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None or person.id_number != id_number:
        raise PermissionDenied("at the counter, only the records of the person present (and their firms) are read")


def check(
    session: Session, principal: Principal, basis: ReadBasis, *, person_id: int | None, firm_id: int | None
) -> ReadBasis:
    """Refuse a read whose basis does not cover its subject at this moment (re-read from the registry);
    returns the basis as it holds now (a representation names the relation that proves it today)."""
    if basis.kind is BasisKind.DUTY:
        if basis.present_id_number is not None:
            _check_present(session, basis.present_id_number, person_id=person_id, firm_id=firm_id)
        if principal.kind is PrincipalKind.STAFF:
            return basis
        if principal.kind is PrincipalKind.SYSTEM and principal.id in _DUTY_AGENTS:
            return basis
        raise PermissionDenied(
            "reading someone's registry data on an official duty is for staff; on a person's behalf, "
            "prove the relation or power of attorney first"
        )
    whose = person_id
    if firm_id is not None:
        firm = session.get(LegalPerson, firm_id)
        if firm is None or firm.legal_rep_id != basis.person_id:
            raise PermissionDenied("a firm's records are read for its legal representative, or someone they authorised")
        whose = firm.legal_rep_id
    if whose is None or whose != basis.person_id:
        raise PermissionDenied("this basis is for another person's records")
    if basis.kind is BasisKind.SELF:
        from onecity.hub.sharing.models import ResidentLink

        linked = session.scalar(
            select(ResidentLink.person_id).where(ResidentLink.user_id == (basis.account or "").removeprefix("user:"))
        )
        if linked != whose:
            raise PermissionDenied("only the person's own linked account reads their records as themselves")
        return basis
    agent = session.get(Person, basis.agent_person_id) if basis.agent_person_id is not None else None
    person = session.get(Person, whose)
    if agent is None or person is None:
        raise PermissionDenied("the representation names no registered person")
    again = _prove_for(session, agent, person, basis.items, basis.account or "")
    if again is None:
        raise PermissionDenied(missing_proof(basis.items))
    return again


# -- recording relations ----------------------------------------------------------------------------


def record_relation(
    session: Session,
    principal: Principal,
    *,
    person_id: int,
    relative_id: int,
    kind: RelationKind,
    source: str,
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> PersonRelation:
    """Record that ``relative_id`` may act for ``person_id`` (a birth, the household register, a ruling)."""
    policy.require(principal, "hub.registry.relation.record")
    if person_id == relative_id:
        raise InvalidInput("a person is not their own relative")
    person, relative = session.get(Person, person_id), session.get(Person, relative_id)
    if person is None or relative is None:
        raise NotFound("both persons must be in the population registry")
    policy.require_in_scope(session, principal, "hub.person", person.division_code)
    if not source.strip():
        raise InvalidInput("say what the relation is recorded from (a birth registration, the household register…)")
    kind = RelationKind(kind)
    if kind == RelationKind.PARENT and person.birth_date <= relative.birth_date:
        raise InvalidInput("a parent is born before their child")
    today = clock.local(clock.now()).date()
    if any(
        r.kind == kind and _relation_holds(r, person, today)
        for r in _relations_between(session, relative_id, person_id)
    ):
        raise Conflict(f"that {kind} relation is already recorded")
    row = PersonRelation(
        person_id=person_id,
        relative_id=relative_id,
        kind=kind,
        valid_from=(valid_from or person.birth_date) if kind == RelationKind.PARENT else (valid_from or today),
        valid_until=valid_until,
        source=source.strip()[:200],
        recorded_by=principal.ref,
        created_at=clock.now(),
        ended_at=None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        principal,
        "hub.relation.recorded",
        object_type="person_relation",
        object_id=row.id,
        subject=f"person:{person_id}",
        division_code=person.division_code,
        detail={"kind": str(kind), "relative": f"person:{relative_id}", "source": row.source},
    )
    events.publish(
        session,
        RELATION_RECORDED,
        RelationRecorded(relation_id=row.id, person_id=person_id, relative_id=relative_id, kind=str(kind)),
        principal=principal,
        reason=row.source,
    )
    return row


# -- powers of attorney -----------------------------------------------------------------------------


def _linked(session: Session, principal: Principal) -> Person:
    from onecity.hub.sharing.models import ResidentLink

    if principal.kind is not PrincipalKind.CITIZEN:
        raise PermissionDenied("a power of attorney is granted by the person themselves, or recorded at a counter")
    pid = session.scalar(select(ResidentLink.person_id).where(ResidentLink.user_id == principal.id))
    person = session.get(Person, pid) if pid is not None else None
    if person is None:
        raise PermissionDenied(
            "your account is not linked to your person record yet: have your identity checked once at any "
            "service counter"
        )
    return person


def _by_id_number(session: Session, id_number: str, who: str, name: str | None = None) -> Person:
    """The person named by an ID number; with ``name``, only if it is theirs, so that an ID number
    alone never tells a resident whose it is (nor whether it exists)."""
    id_number = id_number.strip().upper()
    validate_resident_id(id_number)
    person = session.scalar(select(Person).where(Person.id_number == id_number))
    if name is not None and (person is None or " ".join(person.name.split()) != " ".join(name.split())):
        raise InvalidInput(
            f"没有此身份证号与姓名相符的人，请核对 / no person in the registry has this {who}'s ID number and name; "
            "check both"
        )
    if person is None:
        raise NotFound(f"no person with the {who}'s ID number in the population registry")
    return person


def _scope(items: list[str], known: set[str] | None) -> list[str]:
    scope = sorted({i.strip() for i in items if i and i.strip()})
    if not scope:
        raise InvalidInput(f"name the service items the power covers, or {ALL_ITEMS!r} for every item")
    if ALL_ITEMS in scope:
        return [ALL_ITEMS]
    if known is not None:
        unknown = sorted(set(scope) - known)
        if unknown:
            raise InvalidInput(f"no service items {unknown} in the catalogue")
    return scope


def _poa_payload(poa: PowerOfAttorney) -> PoaChanged:
    return PoaChanged(
        poa_id=poa.id,
        grantor_id=poa.grantor_id,
        agent_id=poa.agent_id,
        scope=list(poa.scope),
        valid_until=poa.valid_until,
        status=str(poa.status),
        channel=poa.channel,
    )


def grant_power_of_attorney(
    session: Session,
    principal: Principal,
    *,
    agent_id_number: str,
    items: list[str],
    valid_until: datetime,
    agent_name: str | None = None,
    grantor_id_number: str | None = None,
    identity_checked: bool = False,
    known_items: set[str] | None = None,
) -> PowerOfAttorney:
    """Register a power of attorney: the grantor from their own account, or a clerk at a counter.

    At a counter the clerk names both people and confirms (``identity_checked``) that they checked
    both identity documents; the clerk's area must cover the grantor. From an account the grantor
    names the agent by ID number *and* name, both checked against the registry, so granting tells
    nobody whose an ID number is.
    """
    if principal.kind is PrincipalKind.STAFF:
        policy.require(principal, "hub.registry.poa.record")
        if not grantor_id_number:
            raise InvalidInput("at the counter, give the grantor's ID number (grantor_id_number)")
        if not identity_checked:
            raise InvalidInput(
                "check both identity documents (the grantor's and the agent's) first, then confirm it "
                "(identity_checked)"
            )
        grantor = _by_id_number(session, grantor_id_number, "grantor")
        policy.require_in_scope(session, principal, "hub.person", grantor.division_code)
        channel = "counter"
    else:
        grantor = _linked(session, principal)
        if grantor_id_number and grantor_id_number.strip().upper() != grantor.id_number:
            raise PermissionDenied("you grant a power of attorney for yourself only")
        channel = "online"
        if not agent_name or not agent_name.strip():
            raise InvalidInput("name the agent as on their identity card (agent_name), with their ID number")
    agent = _by_id_number(session, agent_id_number, "agent", agent_name if channel == "online" else None)
    if agent.id == grantor.id:
        raise InvalidInput("the agent is someone other than the grantor")
    scope = _scope(items, known_items)
    now = clock.now()
    if valid_until.tzinfo is None:
        raise InvalidInput("valid_until needs a time zone (e.g. 2027-06-30T23:59:59+08:00)")
    if valid_until <= now:
        raise InvalidInput("valid_until must be in the future")
    if valid_until > now + timedelta(days=MAX_POA_DAYS):
        raise InvalidInput("a power of attorney runs for at most five years; grant a new one when it ends")
    poa = PowerOfAttorney(
        grantor_id=grantor.id,
        agent_id=agent.id,
        scope=scope,
        valid_from=now,
        valid_until=valid_until,
        status=PowerOfAttorneyStatus.ACTIVE,
        channel=channel,
        recorded_by=principal.ref,
        division_code=grantor.division_code,
        created_at=now,
        revoked_at=None,
        revoked_by=None,
        revoke_reason=None,
    )
    session.add(poa)
    session.flush()
    audit.record(
        session,
        principal,
        "hub.power_of_attorney.granted",
        object_type="power_of_attorney",
        object_id=poa.id,
        subject=f"person:{grantor.id}",
        division_code=grantor.division_code,
        detail={
            "agent": f"person:{agent.id}",
            "agent_name": agent.name,
            "scope": scope,
            "valid_until": valid_until.isoformat(),
            "channel": channel,
            **({"identity_checked": True} if channel == "counter" else {}),
        },
    )
    events.publish(session, POA_GRANTED, _poa_payload(poa), principal=principal, reason=f"granted ({channel})")
    return poa


def revoke_power_of_attorney(
    session: Session, principal: Principal, poa_id: str, *, reason: str, identity_checked: bool = False
) -> PowerOfAttorney:
    """The grantor ends a power of attorney (from their account, or at a counter after showing their ID)."""
    poa = session.scalar(select(PowerOfAttorney).where(PowerOfAttorney.id == poa_id).with_for_update())
    if principal.kind is PrincipalKind.STAFF:
        policy.require(principal, "hub.registry.poa.record")
        if poa is None:
            raise NotFound(f"no power of attorney {poa_id}")
        policy.require_in_scope(session, principal, "hub.person", poa.division_code)
        if not identity_checked:
            raise InvalidInput("check the grantor's identity document first, then confirm it (identity_checked)")
    else:
        me = _linked(session, principal)
        if poa is None or poa.grantor_id != me.id:
            raise NotFound(f"no power of attorney {poa_id} granted by you")  # not 403: confirm nothing
    assert poa is not None  # both branches refused a missing one
    if poa.status == PowerOfAttorneyStatus.REVOKED:
        raise Conflict(f"this power of attorney was already revoked at {poa.revoked_at}")
    if len(reason.strip()) < 2:
        raise InvalidInput("say why the power of attorney ends")
    poa.status, poa.revoked_at, poa.revoked_by = PowerOfAttorneyStatus.REVOKED, clock.now(), principal.ref
    poa.revoke_reason = reason.strip()[:300]
    session.flush()
    audit.record(
        session,
        principal,
        "hub.power_of_attorney.revoked",
        object_type="power_of_attorney",
        object_id=poa.id,
        subject=f"person:{poa.grantor_id}",
        division_code=poa.division_code,
        detail={"agent": f"person:{poa.agent_id}", "reason": poa.revoke_reason},
    )
    events.publish(session, POA_REVOKED, _poa_payload(poa), principal=principal, reason=poa.revoke_reason)
    return poa


def is_live(poa: PowerOfAttorney) -> bool:
    """Active and within its validity period now."""
    return poa.status == PowerOfAttorneyStatus.ACTIVE and poa.valid_from <= clock.now() < poa.valid_until


@dataclass(frozen=True)
class PoaView:
    poa: PowerOfAttorney
    grantor_name: str
    agent_name: str
    live: bool


def my_powers(session: Session, principal: Principal) -> tuple[list[PoaView], list[PoaView]]:
    """(granted by me, granted to me): a resident's powers of attorney, newest first."""
    me = _linked(session, principal)
    rows = list(
        session.scalars(
            select(PowerOfAttorney)
            .where(or_(PowerOfAttorney.grantor_id == me.id, PowerOfAttorney.agent_id == me.id))
            .order_by(PowerOfAttorney.created_at.desc())
            .limit(200)
        )
    )
    ids = {p.grantor_id for p in rows} | {p.agent_id for p in rows}
    names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).all()) if ids else {}
    views = [PoaView(p, names.get(p.grantor_id, ""), names.get(p.agent_id, ""), is_live(p)) for p in rows]
    return [v for v in views if v.poa.grantor_id == me.id], [v for v in views if v.poa.agent_id == me.id]
