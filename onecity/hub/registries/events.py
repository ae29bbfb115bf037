"""What the registries tell other parts: certificates issued and revoked, life events (births,
deaths, moves, firms registered and closed: :mod:`onecity.hub.registries.life_events`), relations
and powers of attorney (:mod:`onecity.hub.registries.relations`)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from onecity.core import events


class CertificateIssued(BaseModel):
    certificate_id: int
    type_code: str
    number: str
    holder_kind: str
    holder_id: int
    division_code: str
    valid_until: date | None


class CertificateRevoked(BaseModel):
    certificate_id: int
    type_code: str
    number: str
    holder_kind: str
    holder_id: int
    division_code: str
    reason: str


CERTIFICATE_ISSUED = events.event_type("hub.certificate.issued", CertificateIssued)
CERTIFICATE_REVOKED = events.event_type("hub.certificate.revoked", CertificateRevoked)


class PersonBorn(BaseModel):
    person_id: int
    division_code: str
    birth_date: date


class PersonDied(BaseModel):
    person_id: int
    division_code: str


class PersonMoved(BaseModel):
    person_id: int
    from_division: str
    to_division: str


class FirmRegistered(BaseModel):
    legal_person_id: int
    uscc: str
    industry: str
    division_code: str


class FirmClosed(BaseModel):
    legal_person_id: int
    uscc: str


PERSON_BORN = events.event_type("hub.person.born", PersonBorn)
PERSON_DIED = events.event_type("hub.person.died", PersonDied)
PERSON_MOVED = events.event_type("hub.person.moved", PersonMoved)
FIRM_REGISTERED = events.event_type("hub.legal_person.registered", FirmRegistered)
FIRM_CLOSED = events.event_type("hub.legal_person.closed", FirmClosed)


class RelationRecorded(BaseModel):
    relation_id: str
    person_id: int
    relative_id: int
    kind: str


class PoaChanged(BaseModel):
    poa_id: str
    grantor_id: int
    agent_id: int
    scope: list[str]
    valid_until: datetime
    status: str
    channel: str


RELATION_RECORDED = events.event_type("hub.relation.recorded", RelationRecorded)
POA_GRANTED = events.event_type("hub.power_of_attorney.granted", PoaChanged)
POA_REVOKED = events.event_type("hub.power_of_attorney.revoked", PoaChanged)
