"""What the registries tell other parts about certificates (life events: :mod:`onecity.hub.registries.life_events`)."""

from __future__ import annotations

from datetime import date

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
