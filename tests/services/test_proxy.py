"""Acting for another person (代办): proven before anything about them is read.

A proxy application reads the represented person's registry record only when the registries know
the relation (parent of a minor, guardian, household member, legal representative of the firm) or
the person granted a power of attorney (from their own account, or recorded at a counter by a clerk
who checked both identities). Every such read names the relation in their "who read my data".
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.identity import service as identity
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind
from onecity.hub.registries.models import Certificate, CertificateStatus, Person
from onecity.hub.sharing.models import ResidentLink
from onecity.services.models import BundleApplication, Case
from tests.conftest import PASSWORD, SYSTEM
from tests.services.conftest import City

DIVORCE = "310000-07-00071-002"


def married_stranger(city: City) -> Person:
    """Someone the resident has nothing to do with, who holds a valid marriage certificate and a phone."""
    with city.db.sessions() as s:
        person = s.scalars(
            select(Person)
            .join(Certificate, Certificate.holder_id == Person.id)
            .where(
                Certificate.holder_kind == "person",
                Certificate.type_code == "marriage_certificate",
                Certificate.status == CertificateStatus.VALID,
                Person.id != city.rep.id,
                Person.phone.is_not(None),
            )
            .order_by(Person.id)
        ).first()
        assert person is not None, "the seed gives married people"
        s.expunge(person)
        return person


def reads_about(city: City, person_id: int) -> list[AuditEntry]:
    with city.db.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.subject == f"person:{person_id}")))


def test_a_stranger_s_id_number_and_a_free_text_relation_read_nothing(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    """The hole: 'neighbour' and any ID number gave a draft with the stranger's name, phone, address,
    spouse's name and ID number, marriage-certificate number and held certificates."""
    stranger = married_stranger(city)
    before = len(reads_about(city, stranger.id))
    me = login("resident")
    r = client.post(
        "/api/v1/services/cases",
        json={"item_code": DIVORCE, "id_number": stranger.id_number, "proxy_relation": "neighbour"},
        headers=me,
    )
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert stranger.name not in r.text and (stranger.phone or "") not in r.text
    assert "授权委托" in body["detail"] and "power of attorney" in body["detail"]  # what proof, and how to get it
    r = client.post(
        "/api/v1/services/bundles/have-a-baby/applications",
        json={"id_number": stranger.id_number, "proxy_relation": "neighbour"},
        headers=me,
    )
    assert r.status_code == 403, r.text
    assert stranger.name not in r.text
    assert len(reads_about(city, stranger.id)) == before  # nothing about them was read
    with city.db.sessions() as s:
        assert s.scalar(select(Case.id).where(Case.person_id == stranger.id)) is None
        assert (
            s.scalar(select(BundleApplication.id).where(BundleApplication.applicant_identifier == stranger.id_number))
            is None
        )
