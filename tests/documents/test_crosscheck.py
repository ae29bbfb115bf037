"""Cross-checks against a seeded registry on both backends: genuine documents pass; a name that
is not the registry's, a revoked or expired certificate, a wrong check character, a number of
someone else and a hand-edited date each fail with the rule, field and evidence named."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.documents.crosscheck import Finding, Outcome, crosscheck, failed, risk_facts
from onecity.documents.extract import from_values
from onecity.documents.pipeline import read
from onecity.hub.registries import service as registry_service
from onecity.hub.registries.models import Certificate, CertificateStatus
from onecity.synth.corpus import Generator, Roster, Sample, load_roster
from tests.documents.conftest import Ocr, reviewer

ON = date(2026, 1, 1)
PURPOSE = "pre-review of application 2026-000042"


@pytest.fixture
def roster(registry: Database) -> Roster:
    with registry.sessions() as s:
        return load_roster(s, seed=9)


def _check(db: Database, sample: Sample, form: dict[str, str] | None = None) -> list[Finding]:
    ex = from_values(sample.doc_type, sample.fields(), confidence=0.99, regions=sample.regions)
    if sample.doc_type == "real_estate_certificate":
        form = {"holder_id_number": sample.holder_identifier or "", **(form or {})}
    with db.transaction() as s:
        return crosscheck(s, reviewer(), ex, on=ON, purpose=PURPOSE, form=form)


def _rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in failed(findings)}


def test_genuine_documents_pass_every_check(registry: Database, roster: Roster) -> None:
    gen = Generator(roster, seed=31)
    for i, doc_type in enumerate(
        (
            "business_licence",
            "food_business_licence",
            "id_card",
            "real_estate_certificate",
            "invoice",
            "application_letter",
        )
    ):
        sample = gen.sample(i, doc_type)
        findings = _check(registry, sample)
        assert failed(findings) == [], (doc_type, [f.message for f in failed(findings)])
        assert any(f.outcome == Outcome.PASS for f in findings)


def test_a_name_that_is_not_the_registrys_fails(registry: Database, roster: Roster) -> None:
    sample = Generator(roster, seed=32).sample(0, "business_licence", forgery="name_mismatch")
    findings = _check(registry, sample)
    [bad] = [f for f in failed(findings)]
    assert bad.rule == "registry.holder_name" and bad.field == "name"
    assert bad.evidence["document"] == sample.truth["name"] and bad.evidence["registry"] != sample.truth["name"]
    assert bad.box == sample.regions["name"] and bad.confidence == pytest.approx(0.99)


def test_a_revoked_certificate_fails(registry: Database, roster: Roster) -> None:
    """Revoke a valid real-estate certificate through the registry's service, then present it."""
    gen = Generator(roster, seed=33)
    sample = gen.sample(0, "real_estate_certificate")
    assert _rules(_check(registry, sample)) == set()
    approver = Principal(
        kind=PrincipalKind.STAFF,
        id="approver",
        name="approver",
        roles=frozenset({Role.APPROVER}),
        division_code="310000000000",
    )
    with registry.transaction() as s:
        cert = s.scalars(select(Certificate).where(Certificate.number == sample.certificate_number)).one()
        if cert.status != CertificateStatus.REVOKED:
            revoked = registry_service.revoke_certificate(s, approver, cert.id, "title transferred by court order")
            assert revoked.status == CertificateStatus.REVOKED
    findings = _check(registry, sample)
    assert "certificate.not_revoked" in _rules(findings)
    # a licence the seed registry already holds as revoked is caught the same way
    assert "certificate.not_revoked" in _rules(_check(registry, gen.sample(1, "business_licence", forgery="revoked")))


def test_an_expired_id_card_fails(registry: Database, roster: Roster) -> None:
    sample = Generator(roster, seed=34).sample(0, "id_card", forgery="expired")
    findings = _check(registry, sample)
    [bad] = [f for f in failed(findings)]
    assert bad.rule == "certificate.valid_on_date" and bad.field == "id_number"
    assert bad.evidence["on"] == ON.isoformat()


def test_check_digit_other_holder_and_edited_dates_fail(registry: Database, roster: Roster) -> None:
    gen = Generator(roster, seed=35)
    bad = _check(registry, gen.sample(0, "id_card", forgery="bad_check_digit"))
    assert _rules(bad) == {"identifier.check_digit"}
    other = _rules(_check(registry, gen.sample(1, "id_card", forgery="other_holder")))
    assert "registry.holder_name" in other and "consistency.birth_date" in other
    assert "registry.holder_name" in _rules(_check(registry, gen.sample(2, "business_licence", forgery="other_holder")))
    assert "registry.established_on" in _rules(
        _check(registry, gen.sample(3, "business_licence", forgery="edited_date"))
    )
    edited_card = _rules(_check(registry, gen.sample(4, "id_card", forgery="edited_date")))
    assert {"consistency.birth_date", "registry.birth_date"} <= edited_card
    assert "identifier.check_digit" in _rules(_check(registry, gen.sample(5, "invoice", forgery="bad_check_digit")))


def test_a_date_the_reader_could_not_find_fails_as_unread(registry: Database, roster: Roster) -> None:
    """An issue date lost under a seal is not a check that passed: the certificate cannot be low risk."""
    sample = Generator(roster, seed=39).sample(0, "real_estate_certificate")
    ex = from_values(sample.doc_type, sample.fields(), confidence=0.99, regions=sample.regions)
    assert ex.fields["issued_on"].value is not None
    ex.fields["issued_on"].value = None
    with registry.transaction() as s:
        findings = crosscheck(
            s, reviewer(), ex, on=ON, purpose=PURPOSE, form={"holder_id_number": sample.holder_identifier or ""}
        )
    unread = [f for f in failed(findings) if f.field == "issued_on"]
    assert [f.rule for f in unread] == ["field.read"], [f.message for f in failed(findings)]
    assert risk_facts(ex, findings)["failed"] >= 1


def test_form_values_are_compared(registry: Database, roster: Roster) -> None:
    sample = Generator(roster, seed=36).sample(0, "business_licence")
    findings = _check(registry, sample, form={"name": sample.truth["name"], "legal_rep": "某某某"})
    assert _rules(findings) == {"form.legal_rep"}
    assert any(f.rule == "form.name" and f.outcome == Outcome.PASS for f in findings)


def test_person_reads_are_audited_with_the_purpose(registry: Database, roster: Roster) -> None:
    sample = Generator(roster, seed=37).sample(0, "id_card")
    with registry.sessions() as s:
        before = len(s.scalars(select(AuditEntry).where(AuditEntry.purpose == PURPOSE)).all())
    _check(registry, sample)
    with registry.sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.purpose == PURPOSE)).all()[before:]
    assert {e.action for e in entries} == {"hub.registry.person.read", "hub.registry.certificate.read"}
    assert all(e.subject and e.subject.startswith("person:") for e in entries)


def test_a_read_forgery_fails_end_to_end(registry: Database, roster: Roster, ocr: Ocr) -> None:
    """The real pipeline: OCR a forged licence, extract, cross-check."""
    sample = Generator(roster, seed=38).sample(0, "business_licence", forgery="name_mismatch")
    ex = read(sample.image, engine=ocr.engine, cache=ocr.cache).extraction
    with registry.transaction() as s:
        findings = crosscheck(s, reviewer(), ex, on=ON, purpose=PURPOSE)
    assert "registry.holder_name" in _rules(findings)
