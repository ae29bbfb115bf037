"""Registry tables, sized for the real city (25 million persons, 12 million components).

Ids are 64-bit integers assigned by the seed generator (so the same seed gives the same
rows), not UUIDs: at this scale the key width is most of an index. ``division_code`` is
always the most precise division a record belongs to (a community or village code), so
the access policy's prefix scope works on every registry alike.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core.db import Base, IdMixin

BigId = BigInteger().with_variant(Integer, "sqlite")


class PersonStatus(StrEnum):
    ALIVE = "alive"
    DECEASED = "deceased"
    MOVED_AWAY = "moved_away"


class LegalPersonStatus(StrEnum):
    ACTIVE = "active"  # 存续
    REVOKED = "revoked"  # 吊销
    CANCELLED = "cancelled"  # 注销


class ComponentStatus(StrEnum):
    INTACT = "intact"
    DAMAGED = "damaged"
    LOST = "lost"
    REMOVED = "removed"


class HolderKind(StrEnum):
    PERSON = "person"
    LEGAL_PERSON = "legal_person"


class CertificateStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Person(Base):
    """A natural person (自然人). Personal data: every read goes through the audit log."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)  # GB 11643
    name: Mapped[str] = mapped_column(String(40))
    sex: Mapped[str] = mapped_column(String(1))  # "M" / "F", as the ID number's 17th digit says
    birth_date: Mapped[date] = mapped_column(Date)
    #: 6-digit GB/T 2260 code of the household registration (户籍); 31xxxx is Shanghai.
    hukou_region: Mapped[str] = mapped_column(String(6), index=True)
    #: Where the person lives: a community or village code.
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    address: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(11))
    status: Mapped[PersonStatus] = mapped_column(String(12), default=PersonStatus.ALIVE)
    updated_at: Mapped[datetime | None]


class LegalPerson(Base):
    """A legal person or other registered organisation (法人), keyed by its GB 32100 code."""

    __tablename__ = "legal_persons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # unified social credit code
    name: Mapped[str] = mapped_column(String(200))
    #: GB 32100 registration-authority + organisation-kind digits, e.g. "91" enterprise.
    kind: Mapped[str] = mapped_column(String(2), index=True)
    industry: Mapped[str] = mapped_column(String(1), index=True)  # GB/T 4754 section A–T
    legal_rep_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    address: Mapped[str] = mapped_column(String(200))
    established_on: Mapped[date] = mapped_column(Date)
    registered_capital: Mapped[float] = mapped_column(Float)  # 10,000 CNY
    status: Mapped[LegalPersonStatus] = mapped_column(String(12), default=LegalPersonStatus.ACTIVE)
    updated_at: Mapped[datetime | None]


class Component(Base):
    """A managed city component (城市部件, GB/T 30428.2) placed in a unit grid."""

    __tablename__ = "components"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(18), unique=True)  # district(6) + class(4) + serial(8)
    class_code: Mapped[str] = mapped_column(String(4), index=True)  # major(2) + minor(2)
    grid_code: Mapped[str] = mapped_column(ForeignKey("grids.code"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    owner_department: Mapped[str] = mapped_column(String(60))
    status: Mapped[ComponentStatus] = mapped_column(String(10), default=ComponentStatus.INTACT)
    updated_at: Mapped[datetime | None]


class CertificateType(Base):
    """A kind of e-certificate (电子证照), described with the GB/T 36903 metadata model."""

    __tablename__ = "certificate_types"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    holder_kind: Mapped[HolderKind] = mapped_column(String(12))
    issuer_department: Mapped[str] = mapped_column(String(100))
    #: None: valid until revoked.
    validity_years: Mapped[int | None] = mapped_column(Integer)
    metadata_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Certificate(Base):
    """One certificate held by a person or a legal person; later parts issue into this registry."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    type_code: Mapped[str] = mapped_column(ForeignKey("certificate_types.code"), index=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    holder_kind: Mapped[HolderKind] = mapped_column(String(12))
    holder_id: Mapped[int] = mapped_column(BigId)
    #: The holder's ID number or credit code, for lookups by the people who present it.
    holder_identifier: Mapped[str] = mapped_column(String(18), index=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(100))
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[CertificateStatus] = mapped_column(String(10), default=CertificateStatus.VALID)
    revoked_at: Mapped[datetime | None]
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_certificates_holder", "holder_kind", "holder_id"),)


class Indicator(Base):
    """A macro indicator (宏观指标) for one district and month."""

    __tablename__ = "indicators"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))


class RelationKind(StrEnum):
    """Relations the registries know that let one person act for another (代办的法定关系)."""

    PARENT = "parent"  # 父母 (of a minor: acts for them until they turn 18)
    GUARDIAN = "guardian"  # 监护人 (appointed: acts for the ward while the guardianship runs)
    HOUSEHOLD = "household"  # 同户成员 (registered in the same household)


class PersonRelation(IdMixin, Base):
    """One person's standing to act for another, as a registry recorded it (birth, household, court).

    ``relative_id`` may act for ``person_id``. A household relation is stored once and holds both
    ways. Kept as registry facts, not as claims: an applicant's own words about how they are
    related prove nothing.
    """

    __tablename__ = "person_relations"

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("persons.id"), index=True)
    relative_id: Mapped[int] = mapped_column(BigId, ForeignKey("persons.id"), index=True)
    kind: Mapped[RelationKind] = mapped_column(String(12))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    #: What the registry recorded it from (a birth registration, the household register, a court ruling).
    source: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class PowerOfAttorneyStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class PowerOfAttorney(IdMixin, Base):
    """A registered power of attorney (授权委托): the grantor lets the agent act for them.

    Granted by the grantor from their own account, or recorded at a counter by a clerk who checked
    both identity documents. It covers the listed service items (or ``*``, every item), runs from
    ``valid_from`` to ``valid_until`` and ends early when the grantor revokes it.
    """

    __tablename__ = "powers_of_attorney"

    grantor_id: Mapped[int] = mapped_column(BigId, ForeignKey("persons.id"), index=True)
    agent_id: Mapped[int] = mapped_column(BigId, ForeignKey("persons.id"), index=True)
    #: Service item codes the agent may act on, or ``["*"]`` for every item.
    scope: Mapped[list[str]] = mapped_column(JSON)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    status: Mapped[PowerOfAttorneyStatus] = mapped_column(String(10), default=PowerOfAttorneyStatus.ACTIVE)
    #: ``online`` (the grantor's own account) or ``counter`` (a clerk checked both identities).
    channel: Mapped[str] = mapped_column(String(10))
    recorded_by: Mapped[str] = mapped_column(String(120))
    #: The grantor's division when granted (the counter's area check, the audit's division).
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(120))
    revoke_reason: Mapped[str | None] = mapped_column(String(300))


class PersonFacts(Base):
    """What other base registries hold about a person that forms ask for: one row a person, or none.

    Social insurance (社会保险): the employer paying the person's contributions and, once they
    stopped, the last day they were paid; the bank account benefits are paid into (the social
    security card's financial account, as registered with the People's Bank's account registry);
    the housing provident fund centre (住房公积金): the account's balance; the household register
    (户籍): how many people the person's household counts. Personal data: read through the
    registries' one door (:func:`onecity.hub.registries.service.person_facts_of`), audited.
    """

    __tablename__ = "person_facts"

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("persons.id"), primary_key=True, autoincrement=False)
    bank_account: Mapped[str | None] = mapped_column(String(19))
    #: The legal person paying contributions (its id; no foreign key: the seed writes people before firms).
    employer_id: Mapped[int | None] = mapped_column(BigId, index=True)
    #: The last day contributions were paid, when they stopped (the person left that employer).
    employed_until: Mapped[date | None] = mapped_column(Date)
    provident_fund_balance: Mapped[float | None] = mapped_column(Float)
    household_size: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None]


class Vehicle(Base):
    """A vehicle the registries know of: an electric bicycle's sale as its seller reported it (销售登记,
    with the GB 17761 certificate of conformity's frame and motor numbers), its plate once registered."""

    __tablename__ = "vehicles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    holder_kind: Mapped[HolderKind] = mapped_column(String(12))
    holder_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(12))  # "e_bike"
    brand: Mapped[str] = mapped_column(String(60))
    frame_number: Mapped[str] = mapped_column(String(20), unique=True)
    motor_number: Mapped[str] = mapped_column(String(30))
    purchased_on: Mapped[date] = mapped_column(Date)
    #: None until the vehicle is registered (a plate issued).
    registered_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_vehicles_holder", "holder_kind", "holder_id"),)


class Premises(Base):
    """The premises a firm operates from, as the real-estate registry records them: the title's building
    area for premises the firm owns (不动产登记), the filed lease's for premises it rents (房屋租赁合同登记备案).

    Not public (the business register publishes a firm's registered address, not its title or lease):
    read through the registries' one door for the firm's legal representative or someone they authorised
    (:func:`onecity.hub.registries.service.premises_of`), audited.
    """

    __tablename__ = "premises"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    #: The firm operating there (no foreign key: written beside the firms, as the seed streams them).
    legal_person_id: Mapped[int] = mapped_column(BigId, index=True)
    address: Mapped[str] = mapped_column(String(200))
    area_m2: Mapped[float] = mapped_column(Float)
    #: The registered use (商业, 办公, 工业, 仓储).
    use: Mapped[str] = mapped_column(String(12))
    #: ``owned`` (a title in the firm's name) or ``leased`` (a filed lease).
    tenure: Mapped[str] = mapped_column(String(8))
    recorded_on: Mapped[date] = mapped_column(Date)
