"""AI pre-review (智能预审) of a submitted case, and approval with no officer (无人干预).

When a case is submitted, every uploaded material that a machine can read (its catalogue
entry's ``reads_as``: an ID card, a business licence, an application letter…) is read by
:mod:`onecity.documents` (OCR, extraction with check digits) and cross-checked against the
form, the registries and the certificate registry; the common ``document_risk`` DMN table
rates each document, and the item's eligibility table (``senior_citizen_card``) judges the
applicant. The pre-review then concludes one of, strongest first:

* **refusal suggested** — a sign of forgery (a number failing its check character, a
  document disagreeing with the registry, a revoked or expired certificate) or the
  applicant is not eligible;
* **needs correction** — a material is of the wrong kind, unreadable, or disagrees with the
  form: the one-time list (一次性告知) says what to fix;
* **pre-approved** — nothing wrong, but an officer must confirm: the item is not one that
  may be approved unattended, a material no machine reads was uploaded, a field was read
  with confidence below 0.95, a check could only warn, the applicant changed a value the
  registry supplied, or an upload that failed an authenticity check was replaced or removed
  before submission (:mod:`onecity.services.keptuploads`: this application's, or another of the
  applicant's of the last year);
* **approve unattended** — only for items configured for it, and only when every material
  is held by the government or read and checked with high confidence, and the applicant
  is eligible. The case's tasks are then completed by the platform agent
  ``system:services:unattended``, with the pre-review as the reason.

Each reason carries the rule, field, evidence, OCR confidence and region of the page. The
pre-review is advice to officers in every other case: an officer who acts against it (accepts
a case it said needs correction, approves one it suggested refusing) must say why, and the
override is recorded and audited (:func:`record_override`).

It runs off the request path, as the ``services.prereview`` consumer of
``services.case.submitted``, in three steps, and **no transaction is open while a page is
recognised**: :func:`uploads` reads the case's uploads in one short session and closes it;
:func:`read_uploads` (the consumer's ``prepare``) recognises them in the document workers
(results land in the OCR cache and a process-local memo); :func:`prereview` then checks,
concludes and acts in a new short transaction that locks the case and re-checks its state
through :mod:`onecity.core.transition` — a case withdrawn or decided while its uploads were
read is left alone. :func:`run` does the three steps outside the consumer.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import clock, policy, transition
from onecity.core.db import Database
from onecity.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from onecity.core.events import Envelope
from onecity.core.identity.principal import Principal, system_principal
from onecity.documents import rules
from onecity.documents.crosscheck import REVIEW, Finding, Outcome, crosscheck, failed, risk_facts
from onecity.documents.ocr import DbOcrCache, RapidOcrEngine
from onecity.documents.pipeline import Reader, Reading, shared_reader
from onecity.hub.registries import relations
from onecity.hub.registries.models import Person
from onecity.services import catalogue, keptuploads, service
from onecity.services.advice import latest, record_override
from onecity.services.catalogue import Item
from onecity.services.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Document,
    MaterialState,
    PreReview,
    PreReviewOutcome,
    WorkItem,
    WorkStatus,
)

#: Reads registries for a pre-review; each read's purpose names the case.
READER = system_principal("services:prereview")
#: The pre-review reads applicants' records on the reviewing department's duty, not on their behalf.
relations.register_duty_agent(READER.id, "AI pre-review on the reviewing department's behalf")
#: Completes the tasks of a case approved with no officer.
UNATTENDED = system_principal("services:unattended")
#: Below this OCR confidence a document cannot pass unattended (the risk table's threshold).
HIGH_CONFIDENCE = 0.95

#: Which form field each document field is compared with, per document type.
FORM_FIELDS: dict[str, dict[str, str]] = {
    "id_card": {"name": "applicant_name", "id_number": "id_number"},
    "application_letter": {"name": "applicant_name", "id_number": "id_number"},
    "business_licence": {"uscc": "uscc", "name": "firm_name", "legal_rep": "legal_rep"},
    "food_business_licence": {"uscc": "uscc", "name": "firm_name", "legal_rep": "legal_rep"},
    "real_estate_certificate": {"number": "property_certificate_no"},
    "invoice": {},
}
#: The document field naming whose document it is: a person's ID number or a firm's credit code.
HOLDER_FIELDS = {
    "id_card": "id_number",
    "application_letter": "id_number",
    "business_licence": "uscc",
    "food_business_licence": "uscc",
}
#: Materials read as a person's document belong to the legal representative in a firm's case.
FIRM_DOC_TYPES = frozenset({"business_licence", "food_business_licence"})

RANK = [
    PreReviewOutcome.REFUSAL_SUGGESTED,
    PreReviewOutcome.NEEDS_CORRECTION,
    PreReviewOutcome.PRE_APPROVED,
    PreReviewOutcome.APPROVE_UNATTENDED,
]


# -- reading the uploads (never inside a transaction) ---------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """One uploaded material a machine reads, as taken from the case in one short read."""

    material: str
    expected: str
    document_id: str
    sha256: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class Read:
    """What reading one upload gave: the reading, or why no machine could read it (not an image, a
    damaged PDF), and the seconds it took."""

    reading: Reading | None
    seconds: float
    unreadable: str | None = None


_MEMO_SIZE = 128
_memo: OrderedDict[str, Read] = OrderedDict()


def remember(sha256: str, read: Read) -> None:
    """Keep a read (from :func:`read_uploads`, or the benchmark's own OCR) so the review of the
    same bytes in this process finds it without reading again."""
    _memo[sha256] = read
    _memo.move_to_end(sha256)
    while len(_memo) > _MEMO_SIZE:
        _memo.popitem(last=False)


def remembered(sha256: str) -> Read | None:
    """The read of these bytes this process made before (:func:`read_uploads`), if it still has it."""
    return _memo.get(sha256)


def _readable(case: Case) -> list[tuple[dict[str, Any], str]]:
    """(material entry, document type) for every uploaded material a machine reads."""
    out = []
    for m in case.materials:
        spec = catalogue.material(m["code"])
        if m["state"] == MaterialState.UPLOADED and spec.reads_as and m.get("ref"):
            out.append((m, spec.reads_as))
    return out


def uploads(db: Database, case_id: str) -> list[Upload]:
    """The case's readable uploads, read in one short session (a reader's: on SQLite it takes no
    write lock) that is closed before anything is recognised."""
    with db.reading() as session:
        case = session.get(Case, case_id)
        if case is None:
            return []
        return [
            Upload(m["code"], expected, d.id, d.sha256, d.content)
            for m, expected in _readable(case)
            if (d := session.get(Document, m["ref"])) is not None
        ]


def read_uploads(db: Database, wanted: list[Upload], *, reader: Reader | None = None) -> dict[str, Read]:
    """OCR each upload in the document workers with no session open: only the OCR cache's own
    short transactions touch the database. Keyed by the upload's SHA-256; also remembered."""
    workers = reader or shared_reader()
    out: dict[str, Read] = {}
    for up in wanted:
        if up.sha256 in out:
            continue
        hit = _memo.get(up.sha256)
        if hit is None:
            started = time.perf_counter()
            try:
                hit = Read(workers.submit(up.content, cache=DbOcrCache(db)).result(), time.perf_counter() - started)
            except InvalidInput as err:  # not an image or a readable PDF: an officer looks at it
                hit = Read(None, time.perf_counter() - started, err.detail)
            remember(up.sha256, hit)
        out[up.sha256] = hit
    return out


def prepare(db: Database, envelope: Envelope, *, reader: Reader | None = None) -> dict[str, Read]:
    """The consumer's step before its transaction: read a submitted case's uploads (one short
    read of the case, then OCR with no session open) into this process's memo, where
    :func:`prereview` finds them."""
    from onecity.services.events import CASE_SUBMITTED

    return read_uploads(db, uploads(db, envelope.typed(CASE_SUBMITTED).case_id), reader=reader)


def run(db: Database, case_id: str, *, reader: Reader | None = None) -> PreReview:
    """Pre-review a case outside the event consumer: read its uploads (no transaction open while
    they are recognised), then check, conclude and act in one short transaction that locks the
    case and re-checks its state (a case withdrawn meanwhile is a :class:`Conflict`)."""
    readings = read_uploads(db, uploads(db, case_id), reader=reader)
    with db.transaction() as session:
        return prereview(session, case_id, readings)


# -- judging ----------------------------------------------------------------------------------------------


@dataclass
class DocumentReview:
    """One uploaded material, read and checked."""

    material: str
    document_id: str
    expected_type: str
    #: None when no machine read the upload (not an image, a damaged PDF, not read before the review)
    reading: Reading | None
    findings: list[Finding]
    risk: list[str]
    risk_rules: tuple[str, ...]
    #: reading the upload (OCR or the cache, before the transaction) and checking it (in it)
    seconds: float = 0.0

    @property
    def worst_risk(self) -> str:
        for level in ("high", "medium", "low"):
            if level in self.risk:
                return level
        return "medium"  # no rule matched: never low by default

    @property
    def min_confidence(self) -> float:
        if self.reading is None:
            return 0.0
        return min((f.confidence for f in self.reading.extraction.fields.values() if f.value is not None), default=0.0)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "document_id": self.document_id,
            "material": self.material,
            "expected_type": self.expected_type,
            "risk": self.worst_risk,
            "risk_rules": list(self.risk_rules),
            "seconds": round(self.seconds, 3),
        }
        if self.reading is None:
            return {**out, "type": None, "type_confidence": 0.0, "size": None, "fields": {}, "cached": False}
        ex = self.reading.extraction
        return {
            **out,
            "type": ex.doc_type,
            "type_confidence": round(ex.type_confidence, 4),
            "size": [ex.width, ex.height],
            "fields": {k: v.as_json() for k, v in ex.fields.items()},
            "cached": self.reading.cached,
        }


@dataclass
class Conclusion:
    outcome: PreReviewOutcome
    summary: str
    reasons: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)


def _holder_of(session: Session, case: Case, doc_type: str) -> str | None:
    """Whose document this upload must be: the firm's (licences) or the applicant person's."""
    if doc_type in FIRM_DOC_TYPES:
        return case.applicant_identifier if case.applicant_kind == "legal_person" else None
    if doc_type not in HOLDER_FIELDS:
        return None
    if case.applicant_kind != "legal_person":
        return case.applicant_identifier
    person = session.get(Person, case.person_id) if case.person_id is not None else None
    return person.id_number if person is not None else None


def review_document(
    session: Session,
    case: Case,
    material: str,
    expected: str,
    document_id: str,
    read: Read | None,
    *,
    on: date,
    purpose: str | None = None,
) -> DocumentReview:
    """Check one upload's reading against the form, the registries and itself (in the caller's
    transaction: only database reads and the rule tables, never OCR). ``read`` None: the upload
    was not read before this review (a redelivery in another process) and an officer looks at it.
    ``purpose``: what the registry reads are audited as (the pre-review's, unless the upload check's)."""
    if read is None or read.reading is None:
        why = (
            f"the upload for {material} is not read by a machine ({read.unreadable}): an officer checks it"
            if read is not None
            else f"the upload for {material} was not read before this review: an officer checks it"
        )
        unreadable = Finding("document.unread", "", Outcome.WARN, why, {"document_id": document_id}, 0.0)
        return DocumentReview(material, document_id, expected, None, [unreadable], ["medium"], ())
    reading = read.reading
    ex = reading.extraction
    if not any(line.strip() for line in ex.text):
        # not one word read (a page of no text): no evidence of the wrong document, an officer looks
        why = f"no words were read on the upload for {material}: an officer checks it"
        wordless = Finding("document.unread", "", Outcome.WARN, why, {"document_id": document_id}, 0.0)
        return DocumentReview(material, document_id, expected, None, [wordless], ["medium"], (), read.seconds)
    started = time.perf_counter()
    form = {
        doc_field: str(case.form[form_field])
        for doc_field, form_field in FORM_FIELDS.get(ex.doc_type, {}).items()
        if case.form.get(form_field) not in (None, "")
    }
    if ex.doc_type == "real_estate_certificate":
        holder = _holder_of(session, case, "id_card")
        if holder:
            form["holder_id_number"] = holder
    findings = crosscheck(
        session, READER, ex, on=on, purpose=purpose or f"一网通办 pre-review: case {case.number}", form=form
    )
    kind_ok = ex.doc_type == expected
    findings.insert(
        0,
        Finding(
            "document.type",
            "",
            Outcome.PASS if kind_ok else Outcome.FAIL,
            f"the upload for {material} reads as a {expected}"
            if kind_ok
            else f"the upload for {material} should be a {expected} but reads as a {ex.doc_type}",
            {"expected": expected, "detected": ex.doc_type},
            ex.type_confidence,
        ),
    )
    holder = _holder_of(session, case, ex.doc_type)
    holder_field = HOLDER_FIELDS.get(ex.doc_type)
    if holder and holder_field and kind_ok:
        named = ex.fields.get(holder_field)
        value = named.value if named is not None else None
        if value is not None:
            findings.append(
                Finding(
                    "application.holder",
                    holder_field,
                    Outcome.PASS if value == holder else Outcome.FAIL,
                    f"the document belongs to {value}, the application is for {holder}"
                    if value != holder
                    else "the document belongs to the applicant",
                    {"document": value, "application": holder},
                    named.confidence if named else 0.0,
                    named.box if named else None,
                )
            )
    facts = risk_facts(ex, findings)
    if not kind_ok:
        facts["failed"] = max(1, facts["failed"])
    if any(f.rule == "application.holder" for f in failed(findings)):
        facts["registry_failed"] = True  # someone else's document: as serious as a registry mismatch
    decision = rules.decide("document_risk", facts)
    risk = [str(r) for r in (decision.outputs.get("risk") or [])]
    return DocumentReview(
        material,
        document_id,
        expected,
        reading,
        findings,
        risk,
        decision.rules,
        read.seconds + time.perf_counter() - started,
    )


def _reason(
    f: Finding, review: DocumentReview | None = None, decision: str | None = None, *, material: str | None = None
) -> dict[str, Any]:
    """A finding as one stored reason: with the upload (or material) it is about and the DMN rules."""
    out = f.as_json()
    out.update(
        material=review.material if review else material,
        document_id=review.document_id if review else None,
        decision=decision,
    )
    return out


def _changed_registry_values(session: Session, case: Case) -> list[str]:
    """Fields the registry prefilled at the draft that the applicant has since changed."""
    drafted = session.scalar(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "drafted")
        .order_by(CaseEvent.id)
        .limit(1)
    )
    prefilled = set((drafted.detail or {}).get("prefilled", [])) if drafted is not None else set()
    return sorted(prefilled - set(case.prefill or {}))


def applicant_findings(session: Session, case: Case) -> list[Finding]:
    """The applicant as the registries have them today: a person alive, a firm still active
    (an unattended approval for a deceased person or a deregistered firm would be wrong even
    with every document in order)."""
    from onecity.hub.registries import service as registries
    from onecity.hub.registries.models import LegalPersonStatus, PersonStatus

    purpose = f"一网通办 pre-review: case {case.number}"
    out: list[Finding] = []
    try:
        if case.applicant_kind == "legal_person":
            firm = registries.legal_person_by_uscc(session, READER, case.applicant_identifier)
            ok = firm.status == LegalPersonStatus.ACTIVE
            out.append(
                Finding(
                    "registry.applicant_active",
                    "uscc",
                    Outcome.PASS if ok else Outcome.FAIL,
                    "the firm is active (存续)" if ok else f"the firm is {firm.status} in the registry",
                    {"status": str(firm.status)},
                )
            )
        else:
            person = registries.person_by_id_number(session, READER, case.applicant_identifier, purpose, basis=REVIEW)
            ok = person.status == PersonStatus.ALIVE
            out.append(
                Finding(
                    "registry.applicant_active",
                    "id_number",
                    Outcome.PASS if ok else Outcome.FAIL,
                    "the applicant is a living resident" if ok else f"the applicant is {person.status} in the registry",
                    {"status": str(person.status)},
                )
            )
    except (NotFound, PermissionDenied) as err:
        out.append(
            Finding(
                "registry.applicant_active",
                "",
                Outcome.WARN,
                f"the applicant's registry record could not be read: {err}",
                {},
            )
        )
    return out


def conclude(
    it: Item,
    reviews: list[DocumentReview],
    *,
    unread: list[str],
    eligibility: rules.Decision | None,
    changed: list[str],
    applicant: list[Finding] | None = None,
) -> Conclusion:
    """The outcome from the documents' risks, the eligibility decision and what no machine read.

    Pure: the benchmark calls it on generated documents as the services consumer does on cases.
    """
    reasons: list[dict[str, Any]] = []
    corrections: list[dict[str, Any]] = []
    refuse: list[str] = []
    correct: list[str] = []
    confirm: list[str] = []
    if eligibility is not None:
        eligible = bool(eligibility.outputs.get("eligible"))
        why = str(eligibility.outputs.get("reason"))
        if not eligible:
            refuse.append(f"not eligible: {why}")
        reasons.append(
            _reason(
                Finding(
                    f"eligibility.{eligibility.decision_id}",
                    "",
                    Outcome.PASS if eligible else Outcome.FAIL,
                    why,
                    dict(eligibility.outputs),
                ),
                decision=",".join(eligibility.rules),
            )
        )
    for r in reviews:
        decision = ",".join(r.risk_rules)
        bad = [f for f in r.findings if f.outcome != Outcome.PASS]
        for f in bad:
            reasons.append(_reason(f, r, decision))
        fails = failed(r.findings)
        if r.worst_risk == "high":
            refuse.append(f"{r.material}: {fails[0].message if fails else 'high risk'}")
        elif fails:
            correct.append(f"{r.material}: {fails[0].message}")
            corrections.extend({"material": r.material, "field": f.field, "message": f.message} for f in fails)
        elif r.worst_risk != "low":
            confirm.append(f"{r.material}: read with low confidence or a check could only warn")
        if not bad:
            reasons.append(
                _reason(
                    Finding(
                        "document_risk",
                        "",
                        Outcome.PASS,
                        f"{r.material}: every check passed with high confidence",
                        confidence=r.min_confidence,
                    ),
                    r,
                    decision,
                )
            )
    for f in applicant or []:
        if f.outcome == Outcome.FAIL:
            refuse.append(f.message)
        elif f.outcome == Outcome.WARN:
            confirm.append(f.message)
        if f.outcome != Outcome.PASS:
            reasons.append(_reason(f))
    if unread:
        confirm.append("no machine reads " + ", ".join(unread) + ": an officer looks at it")
        reasons.extend(
            _reason(
                Finding(
                    "document.unread",
                    "",
                    Outcome.WARN,
                    f"{code} is not read by a machine: an officer checks it",
                    confidence=0.0,
                ),
                material=code,
            )
            for code in unread
        )
    if changed:
        confirm.append("the applicant changed values the registry supplied: " + ", ".join(changed))
        reasons.append(
            _reason(
                Finding(
                    "form.registry_value_changed",
                    ",".join(changed),
                    Outcome.WARN,
                    "the applicant changed values the registry supplied: " + ", ".join(changed),
                    {"fields": changed},
                )
            )
        )
    if refuse:
        return Conclusion(PreReviewOutcome.REFUSAL_SUGGESTED, "; ".join(refuse), reasons, corrections)
    if correct:
        return Conclusion(PreReviewOutcome.NEEDS_CORRECTION, "; ".join(correct), reasons, corrections)
    if not it.unattended:
        confirm.insert(0, f"{it.name_en} is decided by an officer")
    elif it.eligibility and eligibility is None:
        confirm.insert(0, "eligibility could not be decided")
    if confirm:
        return Conclusion(PreReviewOutcome.PRE_APPROVED, "; ".join(confirm), reasons, corrections)
    return Conclusion(
        PreReviewOutcome.APPROVE_UNATTENDED,
        "every material is held or read and checked with high confidence"
        + (
            f"; the applicant is eligible: {eligibility.outputs.get('reason')} "
            f"({eligibility.decision_id} {','.join(eligibility.rules)})"
            if eligibility is not None
            else ""
        ),
        reasons,
        corrections,
    )


#: The rule of the risk signal a kept upload raises (:mod:`onecity.services.keptuploads`).
KEPT_RULE = "upload.kept_forgery"


def kept_finding(kept: dict[str, Any], *, routed: bool) -> Finding:
    """The warning that sends a case to an officer: a document that failed an authenticity check was
    replaced or removed before submission, in this application or another of the applicant's.
    ``routed``: the case would otherwise have been approved unattended."""
    here, other = int(kept["this_case"]), int(kept["other_applications"])
    where = []
    if here:
        where.append(f"{here} in this application")
    if other:
        where.append(f"{other} in the applicant's other applications of the last {kept['days']} days")
    return Finding(
        KEPT_RULE,
        "",
        Outcome.WARN,
        "uploads that failed an authenticity check were replaced or removed before submission ("
        + ", ".join(where)
        + "): kept for the officer, who decides",
        {**kept, "routed": routed},
        0.0,
    )


def _eligibility(session: Session, case: Case, it: Item, on: date) -> rules.Decision | None:
    """The item's eligibility table on the applicant (a person's or a firm's), from a judge a
    part registered (:func:`onecity.documents.rules.register_judge`)."""
    if not it.eligibility:
        return None
    judge = rules.judge(it.eligibility)
    if judge is None:
        raise NotFound(f"item {it.code} names eligibility table {it.eligibility!r}, which has no fact gatherer")
    try:
        return judge(
            session,
            READER,
            case.applicant_identifier,
            on=on,
            purpose=f"一网通办 pre-review: case {case.number}",
            form=dict(case.form),
        )
    except (NotFound, PermissionDenied, InvalidInput):
        return None  # not decided: an officer decides (conclude never approves unattended without it)


def prereview(session: Session, case_id: str, readings: Mapping[str, Read] | None = None) -> PreReview:
    """Pre-review a submitted case in the caller's transaction, from readings made before it
    (``readings`` by SHA-256, else this process's memo), and act on it when it may be approved
    unattended; returns the stored pre-review.

    Nothing is recognised here: the transaction locks the case (through the transition helper,
    which re-checks that it is still submitted or in review — it may have been withdrawn while
    its uploads were read), reads the registries and writes the result, in milliseconds. An
    upload with no reading is reported as not read, for an officer: never approved unattended.
    """
    # the platform's own step on the case (no role to check): lock it, and only a submitted one
    case = transition.begin(
        session,
        READER,
        service.CASES,
        case_id,
        action=None,
        allowed=(CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW),
        missing=f"no case {case_id}",
        doing="pre-reviewed",
    ).row
    it = catalogue.item(case.item_code)
    on = clock.today()
    started = time.perf_counter()
    reviews: list[DocumentReview] = []
    unread = [
        m["code"]
        for m in case.materials
        if m["state"] == MaterialState.UPLOADED and not catalogue.material(m["code"]).reads_as
    ]
    known = _memo if readings is None else readings
    for m, expected in _readable(case):
        sha = session.scalar(select(Document.sha256).where(Document.id == m["ref"]))
        if sha is None:  # never approve on an upload nobody could read
            unread.append(m["code"])
        else:
            reviews.append(review_document(session, case, m["code"], expected, m["ref"], known.get(sha), on=on))
    eligibility = _eligibility(session, case, it, on)
    changed = _changed_registry_values(session, case)
    applicant = applicant_findings(session, case)
    conclusion = conclude(it, reviews, unread=unread, eligibility=eligibility, changed=changed, applicant=applicant)
    kept = keptuploads.risk(session, case)
    if kept is not None:  # a forged upload replaced before submission: never unattended, an officer decides
        signal = kept_finding(kept, routed=conclusion.outcome == PreReviewOutcome.APPROVE_UNATTENDED)
        applicant = [*applicant, signal]
        conclusion = conclude(it, reviews, unread=unread, eligibility=eligibility, changed=changed, applicant=applicant)
    rounds = session.scalars(select(PreReview.round).where(PreReview.case_id == case.id)).all()
    # the uploads' reading (before this transaction) plus everything since this function started
    spent = sum(r.seconds for r in reviews) + time.perf_counter() - started
    row = PreReview(
        case_id=case.id,
        round=max(rounds, default=0) + 1,
        outcome=conclusion.outcome,
        summary=conclusion.summary[:2000],
        reasons=conclusion.reasons,
        documents=[r.as_json() for r in reviews],
        eligibility=(
            {
                "decision": eligibility.decision_id,
                "outputs": dict(eligibility.outputs),
                "rules": list(eligibility.rules),
            }
            if eligibility is not None
            else None
        ),
        corrections=conclusion.corrections,
        engine=RapidOcrEngine.name,
        seconds=round(spent, 4),
        acted=False,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    service.log_event(
        session,
        READER,
        case,
        "system",
        "prereviewed",
        {"outcome": conclusion.outcome.value, "round": row.round, "summary": row.summary[:300]},
    )
    if conclusion.outcome == PreReviewOutcome.APPROVE_UNATTENDED and _untouched(session, case):
        service.run_unattended(
            session,
            UNATTENDED,
            case,
            f"无人干预自动审批 / approved unattended: {conclusion.summary} (pre-review {row.round})",
        )
        row.acted = True
    return row


def _untouched(session: Session, case: Case) -> bool:
    """No officer has acted since the submission: only then may the platform decide alone."""
    if case.status != CaseStatus.SUBMITTED:
        return False
    done = session.scalar(
        select(WorkItem.id).where(WorkItem.case_id == case.id, WorkItem.status == WorkStatus.DONE).limit(1)
    )
    return done is None


def override(session: Session, principal: Principal, case_id: str, outcome: str, reason: str) -> PreReview:
    """An officer says the latest pre-review is wrong (before acting on the case), with a reason."""
    policy.require(principal, "services.work.complete")
    case = service.get_case(session, principal, case_id)
    if case.department not in service.department_codes(session, principal):
        raise PermissionDenied(f"case {case.number} is handled by {case.department}, not your agency")
    review = latest(session, case.id)
    if review is None:
        raise NotFound(f"case {case.number} has not been pre-reviewed")
    if outcome not in {o.value for o in PreReviewOutcome} or outcome == PreReviewOutcome.APPROVE_UNATTENDED:
        raise InvalidInput("an officer's own assessment is one of refusal_suggested, needs_correction, pre_approved")
    if outcome == review.outcome:
        raise InvalidInput(f"the pre-review already says {outcome}")
    if review.overridden_by is not None:
        raise Conflict(f"{review.overridden_by} already overrode this pre-review")
    if case.status not in (CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW, CaseStatus.SUPPLEMENT):
        raise Conflict(f"case {case.number} is {case.status}: its pre-review can no longer be overridden")
    record_override(session, principal, case, review, outcome, reason)
    service.log_event(
        session,
        principal,
        case,
        "counter",
        "prereview_overridden",
        {"round": review.round, "advice": str(review.outcome), "officer": outcome, "reason": reason.strip()[:300]},
    )
    return review
