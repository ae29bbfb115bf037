"""The registry facts a generated document is printed from.

The corpus draws its people, firms and certificates from a seeded registry (``onecity seed``),
so that a genuine document agrees with the registry and a forged one disagrees in exactly the
way its forgery kind says. Loading reads the synthetic registry directly, like the seed that
wrote it: the corpus is a test and benchmark tool run by developers, not a path by which
anyone reads residents' data; the cross-checks read through the registries' audited functions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.hub.registries.models import Certificate, CertificateStatus, HolderKind, LegalPerson, Person


@dataclass(frozen=True)
class PersonFacts:
    id_number: str
    name: str
    sex: str
    birth_date: date
    address: str
    hukou_region: str


@dataclass(frozen=True)
class FirmFacts:
    uscc: str
    name: str
    kind: str
    legal_rep: str
    address: str
    established_on: date
    capital: float  # 10,000 CNY
    status: str


@dataclass(frozen=True)
class CertFacts:
    type_code: str
    number: str
    holder_identifier: str
    holder_name: str
    issuer: str
    issued_on: date
    valid_until: date | None
    status: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Roster:
    """People, firms and certificates to print, each list in a fixed order (ids ascending)."""

    persons: list[PersonFacts]
    firms: list[FirmFacts]
    #: type code → certificates of that type (valid, expired and revoked alike)
    certs: dict[str, list[CertFacts]]

    def person(self, id_number: str) -> PersonFacts | None:
        return next((p for p in self.persons if p.id_number == id_number), None)

    def firm(self, uscc: str) -> FirmFacts | None:
        return next((f for f in self.firms if f.uscc == uscc), None)

    def add_holder(self, session: Session, identifier: str) -> bool:
        """Add a person (ID number) or firm (credit code) and their printable certificates from the
        registry, so documents of exactly that applicant can be printed; False if it is unknown."""
        if self.person(identifier) is not None or self.firm(identifier) is not None:
            return True
        if len(identifier) == 18 and identifier[:17].isdigit():
            p = session.scalar(select(Person).where(Person.id_number == identifier))
            if p is None:
                return False
            self.persons.append(PersonFacts(p.id_number, p.name, p.sex, p.birth_date, p.address, p.hukou_region))
            kind, holder_id = HolderKind.PERSON, p.id
        else:
            f = session.scalar(select(LegalPerson).where(LegalPerson.uscc == identifier))
            if f is None:
                return False
            rep = session.get(Person, f.legal_rep_id) if f.legal_rep_id is not None else None
            self.firms.append(
                FirmFacts(
                    f.uscc,
                    f.name,
                    f.kind,
                    rep.name if rep else "",
                    f.address,
                    f.established_on,
                    f.registered_capital,
                    str(f.status),
                )
            )
            kind, holder_id = HolderKind.LEGAL_PERSON, f.id
        for c in session.scalars(
            select(Certificate)
            .where(
                Certificate.holder_kind == kind,
                Certificate.holder_id == holder_id,
                Certificate.type_code.in_(DOC_CERT_TYPES),
            )
            .order_by(Certificate.id)
        ):
            self.certs.setdefault(c.type_code, []).append(_cert_facts(c))
        return True

    def certs_of(self, type_code: str, *, status: str | None = None, expired_by: date | None = None) -> list[CertFacts]:
        out = self.certs.get(type_code, [])
        if status is not None:
            out = [c for c in out if c.status == status]
        if expired_by is not None:
            out = [
                c
                for c in out
                if c.status == CertificateStatus.EXPIRED or (c.valid_until is not None and c.valid_until < expired_by)
            ]
        return out


DOC_CERT_TYPES = ("id_card", "business_licence", "food_business_licence", "real_estate_certificate")


def _cert_facts(c: Certificate) -> CertFacts:
    return CertFacts(
        c.type_code,
        c.number,
        c.holder_identifier,
        c.holder_name,
        c.issuer,
        c.issued_on,
        c.valid_until,
        str(c.status),
        dict(c.data or {}),
    )


def load_roster(session: Session, *, seed: int, persons: int = 300, firms: int = 150, certs: int = 200) -> Roster:
    """A deterministic sample of the seeded registry: ``persons`` people, ``firms`` firms (with
    their legal representatives' names) and up to ``certs`` certificates of each printed type,
    always including every revoked and expired one (the forgeries need them), and the holders
    of the chosen certificates."""
    rng = random.Random(seed)
    people = list(session.scalars(select(Person).order_by(Person.id)))
    if not people:
        raise LookupError("the registry is empty: seed it first (onecity seed --scale 0.0002)")
    by_id = {p.id: p for p in people}
    all_firms = list(
        session.scalars(select(LegalPerson).where(LegalPerson.kind.in_(("91", "92", "93"))).order_by(LegalPerson.id))
    )
    cert_facts: dict[str, list[CertFacts]] = {}
    want_people = set(rng.sample(range(len(people)), min(persons, len(people))))
    want_firms = set(rng.sample(range(len(all_firms)), min(firms, len(all_firms))))
    person_index = {p.id: i for i, p in enumerate(people)}
    firm_index = {f.id: i for i, f in enumerate(all_firms)}
    for type_code in DOC_CERT_TYPES:
        rows = list(
            session.scalars(select(Certificate).where(Certificate.type_code == type_code).order_by(Certificate.id))
        )
        special = [c for c in rows if c.status != CertificateStatus.VALID]
        ordinary = [c for c in rows if c.status == CertificateStatus.VALID]
        keep = special + [ordinary[i] for i in sorted(rng.sample(range(len(ordinary)), min(certs, len(ordinary))))]
        keep = [
            c for c in keep if c.holder_id in (firm_index if c.holder_kind == HolderKind.LEGAL_PERSON else person_index)
        ]
        for c in keep:
            (want_firms if c.holder_kind == HolderKind.LEGAL_PERSON else want_people).add(
                firm_index[c.holder_id] if c.holder_kind == HolderKind.LEGAL_PERSON else person_index[c.holder_id]
            )
        cert_facts[type_code] = [_cert_facts(c) for c in sorted(keep, key=lambda c: c.id)]
    person_facts = [
        PersonFacts(p.id_number, p.name, p.sex, p.birth_date, p.address, p.hukou_region)
        for p in (people[i] for i in sorted(want_people))
    ]
    firm_facts = [
        FirmFacts(
            f.uscc,
            f.name,
            f.kind,
            by_id[f.legal_rep_id].name if f.legal_rep_id in by_id else "",
            f.address,
            f.established_on,
            f.registered_capital,
            str(f.status),
        )
        for f in (all_firms[i] for i in sorted(want_firms))
    ]
    return Roster(person_facts, firm_facts, cert_facts)
