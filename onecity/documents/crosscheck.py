"""Cross-checks: what a document says against the form, the registries, the certificate registry
and itself.

Each finding names the rule (``registry.holder_name``), the field, the outcome (``pass`` /
``warn`` / ``fail``), the evidence (what the document says, what the other source says), the
OCR confidence of the field and the region of the page it came from — so a decision built on
the findings can show an officer exactly where to look, and an applicant exactly what to fix.

The registries are read only through their audited service functions
(:func:`~onecity.hub.registries.service.person_by_id_number`,
:func:`~onecity.hub.registries.service.legal_person_by_uscc`,
:func:`~onecity.hub.registries.service.certificates_of`) with the reviewer's principal and the
stated purpose: a pre-review reads a resident's record exactly as an officer would, and it
shows in the resident's "who read my data".

A registry value that differs is never "corrected" from the document, nor the other way
round: the finding says both.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from onecity.core.errors import NotFound, PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.documents.extract import Extraction, Field, norm
from onecity.documents.ocr import Rect
from onecity.hub.registries import service as registry
from onecity.hub.registries.models import Certificate, CertificateStatus, HolderKind, LegalPersonStatus
from onecity.hub.registries.relations import ReadBasis

#: The basis of every registry read a cross-check makes: the reviewing department's duty.
REVIEW = ReadBasis.duty("审查申请材料 / reviewing the materials of an application (the department's review duty)")

#: Below this OCR confidence a field is not trusted enough to pass a check unattended.
LOW_CONFIDENCE = 0.85


class Outcome(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    rule: str
    field: str
    outcome: Outcome
    message: str
    evidence: dict[str, Any] = dc_field(default_factory=dict)
    confidence: float = 1.0
    box: Rect | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "field": self.field,
            "outcome": self.outcome.value,
            "message": self.message,
            "evidence": self.evidence,
            "confidence": round(self.confidence, 4),
            "box": list(self.box) if self.box else None,
        }


class _Checks:
    def __init__(self, ex: Extraction) -> None:
        self.ex = ex
        self.findings: list[Finding] = []

    def add(self, rule: str, name: str, ok: bool | None, message: str, **evidence: Any) -> None:
        f = self.ex.fields.get(name)
        outcome = Outcome.WARN if ok is None else Outcome.PASS if ok else Outcome.FAIL
        self.findings.append(
            Finding(rule, name, outcome, message, evidence, f.confidence if f else 0.0, f.box if f else None)
        )

    def usable(self, name: str) -> Field | None:
        """The field if it was read and passed its own checks, else None (and a finding says why)."""
        f = self.ex.fields.get(name)
        if f is None or f.value is None:
            self.add("field.read", name, False, f"{name} could not be read from the document")
            return None
        if "check_failed" in f.flags:
            self.add(
                "identifier.check_digit",
                name,
                False,
                f"{name} {f.value} fails its check character: a mistyped or altered number",
                document=f.value,
                reason="; ".join(f.notes),
            )
            return None
        return f


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and norm(a) == norm(b)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _certificate(
    c: _Checks, cert: Certificate | None, type_name: str, on: date, number: str | None, field_name: str
) -> None:
    if cert is None:
        c.add(
            "certificate.exists",
            field_name,
            False,
            f"the registry holds no {type_name} numbered {number} for this holder",
            document=number,
        )
        return
    c.add(
        "certificate.exists", field_name, True, f"the {type_name} is in the certificate registry", registry=cert.number
    )
    if cert.status == CertificateStatus.REVOKED:
        when = cert.revoked_at.date().isoformat() if cert.revoked_at else "an unrecorded date"
        c.add(
            "certificate.not_revoked",
            field_name,
            False,
            f"the {type_name} {cert.number} was revoked on {when}",
            registry_status=str(cert.status),
        )
    else:
        c.add("certificate.not_revoked", field_name, True, "not revoked", registry_status=str(cert.status))
    expired = cert.status == CertificateStatus.EXPIRED or (cert.valid_until is not None and cert.valid_until < on)
    c.add(
        "certificate.valid_on_date",
        field_name,
        not expired,
        f"the {type_name} expired on {_iso(cert.valid_until)}" if expired else f"valid on {on.isoformat()}",
        valid_until=_iso(cert.valid_until),
        on=on.isoformat(),
    )


def _check_dates(c: _Checks, name: str, registry_value: date | None) -> None:
    """The document's date against the registry's. A date the registry holds but the reader could
    not find fails as unread: an edited date hidden under a seal or a smudge must not pass as a
    check that was never made (a silent skip once let such a certificate be rated low risk)."""
    if registry_value is None:
        return
    f = c.ex.fields.get(name)
    if f is None or f.value is None:
        c.add("field.read", name, False, f"{name} could not be read from the document to compare with the registry")
        return
    c.add(
        f"registry.{name}",
        name,
        f.value == registry_value.isoformat(),
        f"{name} on the document is {f.value}, the registry says {registry_value.isoformat()}",
        document=f.value,
        registry=registry_value.isoformat(),
    )


def _firm(c: _Checks, session: Session, principal: Principal, uscc_field: str, name_field: str, purpose: str) -> Any:
    code = c.usable(uscc_field)
    if code is None or code.value is None:
        return None
    try:
        firm = registry.legal_person_by_uscc(session, principal, code.value)
    except NotFound:
        c.add(
            "registry.holder_exists",
            uscc_field,
            False,
            f"no legal person has the credit code {code.value}",
            document=code.value,
        )
        return None
    c.add("registry.holder_exists", uscc_field, True, "the credit code is registered", registry=firm.uscc)
    name = c.ex.fields.get(name_field)
    if name is not None and name.value is not None:
        c.add(
            "registry.holder_name",
            name_field,
            _same(name.value, firm.name),
            f"the credit code {firm.uscc} is registered to {firm.name}; the document says {name.value}",
            document=name.value,
            registry=firm.name,
        )
    c.add(
        "registry.holder_active",
        uscc_field,
        firm.status == LegalPersonStatus.ACTIVE,
        f"the registry lists {firm.name} as {firm.status}",
        registry_status=str(firm.status),
    )
    return firm


def _licence(c: _Checks, session: Session, principal: Principal, on: date, purpose: str) -> None:
    firm = _firm(c, session, principal, "uscc", "name", purpose)
    if firm is None:
        return
    certs = registry.certificates_of(session, principal, HolderKind.LEGAL_PERSON, firm.id, purpose, basis=REVIEW)
    if c.ex.doc_type == "business_licence":
        _check_dates(c, "established_on", firm.established_on)
        cert = next((x for x in certs if x.type_code == "business_licence"), None)
        _certificate(c, cert, "business licence", on, firm.uscc, "uscc")
        if cert is not None:
            _check_dates(c, "issued_on", cert.issued_on)
    else:
        number = c.ex.value("number")
        cert = next((x for x in certs if x.type_code == "food_business_licence" and _same(x.number, number)), None)
        _certificate(c, cert, "food business licence", on, number, "number")
        if cert is not None:
            _check_dates(c, "valid_until", cert.valid_until)
            _check_dates(c, "issued_on", cert.issued_on)


def _person_certificates(
    c: _Checks, session: Session, principal: Principal, id_number: str, purpose: str
) -> tuple[Any, list[Certificate]]:
    try:
        person = registry.person_by_id_number(session, principal, id_number, purpose, basis=REVIEW)
    except NotFound:
        c.add(
            "registry.holder_exists",
            "id_number",
            False,
            "no person in the registry has this ID number",
            document=id_number,
        )
        return None, []
    return person, registry.certificates_of(session, principal, HolderKind.PERSON, person.id, purpose, basis=REVIEW)


def _id_card(c: _Checks, session: Session, principal: Principal, on: date, purpose: str) -> None:
    idf = c.usable("id_number")
    if idf is None or idf.value is None:
        return
    number = idf.value
    born = c.ex.value("birth_date")
    if born is not None:
        c.add(
            "consistency.birth_date",
            "birth_date",
            born.replace("-", "") == number[6:14],
            f"the ID number encodes birth date {number[6:10]}-{number[10:12]}-{number[12:14]}, the card prints {born}",
            document=born,
            id_number_says=number[6:14],
        )
    sex = c.ex.value("sex")
    if sex is not None:
        encoded = "男" if int(number[16]) % 2 else "女"
        c.add(
            "consistency.sex",
            "sex",
            sex == encoded,
            f"the ID number encodes {encoded}, the card prints {sex}",
            document=sex,
            id_number_says=encoded,
        )
    person, certs = _person_certificates(c, session, principal, number, purpose)
    if person is None:
        return
    name = c.ex.value("name")
    c.add(
        "registry.holder_name",
        "name",
        _same(name, person.name),
        f"the ID number {number[:6]}…{number[-4:]} belongs to {person.name}; the card says {name}",
        document=name,
        registry=person.name,
    )
    _check_dates(c, "birth_date", person.birth_date)
    card = next((x for x in certs if x.type_code == "id_card" and x.number == number), None)
    _certificate(c, card, "ID card", on, number, "id_number")


def _real_estate(
    c: _Checks, session: Session, principal: Principal, on: date, purpose: str, form: dict[str, str]
) -> None:
    number = c.usable("number")
    holder_id = form.get("holder_id_number") or form.get("id_number")
    if number is None or number.value is None:
        return
    if not holder_id:
        c.add(
            "certificate.exists",
            "number",
            None,
            "the form gives no ID number of the holder: the certificate cannot be looked up",
        )
        return
    person, certs = _person_certificates(c, session, principal, holder_id, purpose)
    if person is None:
        return
    cert = next((x for x in certs if x.type_code == "real_estate_certificate" and _same(x.number, number.value)), None)
    _certificate(c, cert, "real-estate certificate", on, number.value, "number")
    name = c.ex.value("holder_name")
    c.add(
        "registry.holder_name",
        "holder_name",
        _same(name, person.name),
        f"the applicant is {person.name}; the certificate names {name}",
        document=name,
        registry=person.name,
    )
    if cert is not None:
        _check_dates(c, "issued_on", cert.issued_on)


def _invoice(c: _Checks, session: Session, principal: Principal, purpose: str) -> None:
    amount, tax, total = (c.ex.value(k) for k in ("amount", "tax", "total"))
    if amount and tax and total:
        ok = abs(float(amount) + float(tax) - float(total)) < 0.005
        c.add(
            "consistency.total",
            "total",
            ok,
            f"amount {amount} + tax {tax} should be the total {total}",
            amount=amount,
            tax=tax,
            total=total,
        )
    for side in ("seller", "buyer"):
        _firm(c, session, principal, f"{side}_uscc", f"{side}_name", purpose)


def _letter(c: _Checks, session: Session, principal: Principal, purpose: str) -> None:
    idf = c.usable("id_number")
    if idf is None or idf.value is None:
        return
    person, _certs = _person_certificates(c, session, principal, idf.value, purpose)
    if person is not None:
        name = c.ex.value("name")
        c.add(
            "registry.holder_name",
            "name",
            _same(name, person.name),
            f"the ID number belongs to {person.name}; the letter is signed {name}",
            document=name,
            registry=person.name,
        )


def crosscheck(
    session: Session,
    principal: Principal,
    ex: Extraction,
    *,
    on: date,
    purpose: str,
    form: dict[str, str] | None = None,
) -> list[Finding]:
    """Every finding about one read document, in the reviewer's transaction (registry reads are
    audited in it); ``on`` is the day the application is decided (validity is judged then)."""
    c = _Checks(ex)
    form = form or {}
    for name, f in ex.fields.items():
        if f.value is not None and f.confidence < LOW_CONFIDENCE:
            c.add("field.confidence", name, None, f"{name} was read with low confidence ({f.confidence:.2f})")
    for name, given in form.items():
        read = ex.fields.get(name)
        if read is not None:
            c.add(
                f"form.{name}",
                name,
                _same(read.value, given),
                f"the form says {given}, the document says {read.value}",
                form=given,
                document=read.value,
            )
    try:
        if ex.doc_type in ("business_licence", "food_business_licence"):
            _licence(c, session, principal, on, purpose)
        elif ex.doc_type == "id_card":
            _id_card(c, session, principal, on, purpose)
        elif ex.doc_type == "real_estate_certificate":
            _real_estate(c, session, principal, on, purpose, form)
        elif ex.doc_type == "invoice":
            _invoice(c, session, principal, purpose)
        elif ex.doc_type == "application_letter":
            _letter(c, session, principal, purpose)
    except PermissionDenied as err:
        c.add("registry.access", "", None, f"the registry could not be read for this check: {err.detail}")
    return c.findings


def failed(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.outcome == Outcome.FAIL]


def risk_facts(ex: Extraction, findings: list[Finding]) -> dict[str, Any]:
    """The inputs of the common ``document_risk`` DMN table, from one document's findings."""
    fails = failed(findings)
    read = [f.confidence for f in ex.fields.values() if f.value is not None]
    return {
        "failed": len(fails),
        "identifier_check_failed": any(f.rule == "identifier.check_digit" for f in fails),
        "registry_failed": any(f.rule.startswith(("registry.", "certificate.")) for f in fails),
        "warned": sum(1 for f in findings if f.outcome == Outcome.WARN),
        "min_confidence": min(read) if read else 0.0,
    }
