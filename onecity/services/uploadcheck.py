"""The upload check (材料即传即审): each material a machine reads is checked as it arrives, before submission.

When an applicant (or a clerk at the counter) uploads a material that a machine reads (its catalogue
entry's ``reads_as``: an ID card, a licence, an application letter…), the same checks the pre-review
makes at submission are made on that one upload: the kind of document against the material asked
for, its validity on the day, whose it is (the applicant's, or the firm's), and the registries'
and certificate registry's records of it (:func:`onecity.services.prereview.review_document`).
A material no machine reads whole (a household register, a contract, a floor plan) is still told
from another by the heading its page carries (the catalogue's ``titles``, :func:`by_title`): the
wrong document is flagged; whether it is the applicant's own, or still valid, an officer sees.
The result is kept with the upload on the case's material entry (``check``), so the draft says per
material, in the reader's language: checking…, OK, or what is wrong and what to upload instead —
never the checks' evidence, which can name a third person from the registry.

It runs **off the request path**, as the pre-review does: the upload answers at once with the
material "checking" and publishes ``services.case.material_uploaded``; the ``services.upload-check``
consumer reads the page in the document workers before its transaction (``prepare``: OCR, about two
seconds a page on these cores, with no session open), then locks the case for milliseconds to write
the result, only if the material still holds that upload (a replacement or a removal meanwhile
wins). OCR is slow and the machine small: an upload request that waited for it would hold a
server thread for seconds, and under a peak every upload would queue behind the others' OCR,
where a queue of checks lets the page answer and the workers catch up (and scale out on their own,
as JetStream consumers, at city scale). The reading lands in the OCR cache, so the pre-review at
submission reads nothing again.

A flag for an authenticity failure (:data:`onecity.services.uploadstate.AUTHENTICITY_RULES`: a
number failing its check character, a name or date the registry does not have…) is kept with the
result (``authenticity``): that upload is never discarded when replaced or removed
(:mod:`onecity.services.keptuploads`), or the check would be an oracle a forger tries forgeries
against. An honest mistake (the wrong kind, someone else's, expired, unreadable) stays freely replaceable.

A material flagged wrong stops the submission unless the applicant confirms it
(:func:`require_confirmed`): the machine can misread a poor photo of the right document, so it
does not refuse outright, but an officer would send a wrong material back (补正), and the applicant
is told so before they choose.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.errors import Key, NotFound, Words
from onecity.core.events import Envelope
from onecity.documents.crosscheck import failed
from onecity.services import catalogue, portrait
from onecity.services.models import Case, Document, MaterialState
from onecity.services.prereview import READER, Read, Upload, read_uploads, review_document
from onecity.services.uploadstate import CHECKING, FLAGGED, OFFICER, OK, authenticity_failure, checked_by_machine

log = logging.getLogger(__name__)

#: A failed check's rule → the problem the applicant is told (anything else: ``mismatch``).
PROBLEMS = {
    "document.type": "wrong_type",
    "application.holder": "someone_else",
    "certificate.valid_on_date": "expired",
    "certificate.not_revoked": "revoked",
    "field.read": "unclear",
}


def by_title(material: str, text: str) -> dict[str, Any]:
    """The type check of a material no machine reads whole: its heading read on the page. Its own heading:
    OK; another material's: the wrong document; none recognised (or no words at all): an officer's to see."""
    page = "".join(text.split())
    if not page:
        return {"status": OFFICER}
    own = catalogue.material(material).titles
    if any(t in page for t in own):
        return {"status": OK}
    for code in catalogue.material_codes():
        other = catalogue.material(code).titles
        if code != material and other and not set(other) & set(own) and any(t in page for t in other):
            return {
                "status": FLAGGED,
                "problems": [{"problem": "wrong_material", "expected": material, "detected": code}],
            }
    return {"status": OFFICER}


def _upload(db: Database, case_id: str, document_id: str) -> Upload | None:
    """The upload to check, read in one short reader's session that is closed before OCR."""
    with db.reading() as session:
        doc = session.get(Document, document_id)
        if doc is None or doc.case_id != case_id:
            return None
        spec = catalogue.material(doc.material_code)
        if not checked_by_machine(doc.material_code) or spec.portrait:
            return None  # nothing to read by OCR (a photo is looked at for a face in :func:`check`)
        return Upload(doc.material_code, spec.reads_as or "", doc.id, doc.sha256, doc.content)


def prepare(db: Database, envelope: Envelope) -> dict[str, Read]:
    """The consumer's step before its transaction: OCR the upload (no session open) into the memo."""
    from onecity.services.events import MATERIAL_UPLOADED

    up = envelope.typed(MATERIAL_UPLOADED)
    found = _upload(db, up.case_id, up.document_id)
    return read_uploads(db, [found]) if found is not None else {}


def verdict(review_findings: list[Any], *, read: bool) -> dict[str, Any]:
    """The stored result from one upload's findings: ok, flagged with its problems, or an officer's."""
    if not read:
        return {"status": OFFICER}
    fails = failed(review_findings)
    if not fails:
        return {"status": OK}
    problems: list[dict[str, str]] = []
    for f in fails:
        kind = PROBLEMS.get(f.rule, "mismatch")
        entry: dict[str, str] = {"problem": kind}
        if kind == "wrong_type":
            entry["expected"] = str(f.evidence.get("expected", ""))
            entry["detected"] = str(f.evidence.get("detected", ""))
        elif kind == "expired" and f.evidence.get("valid_until"):
            entry["valid_until"] = str(f.evidence["valid_until"])
        if entry not in problems:
            problems.append(entry)
    # the kind of document first: the rest only says more about the wrong document
    problems.sort(key=lambda p: p["problem"] != "wrong_type")
    if problems[0]["problem"] == "wrong_type":
        return {"status": FLAGGED, "problems": problems[:1]}  # the wrong document: an honest mistake
    forged = sorted({f.rule for f in fails if authenticity_failure(f.rule)})
    return {"status": FLAGGED, "problems": problems, **({"authenticity": forged} if forged else {})}


def check(session: Session, case_id: str, document_id: str, read: Read | None) -> dict[str, Any] | None:
    """Check one upload from a reading made before this transaction and keep the result on its
    material; returns it, or None when the material no longer holds that upload (replaced, removed,
    the case gone) or was already checked."""
    from onecity.services.cases import lock_case, log_event

    seen = session.get(Case, case_id)
    if seen is None or not _waiting(seen, document_id):
        return None  # deleted, replaced, removed, or checked already (the applicant's page asked first): no lock
    photo = _photo(session, document_id)  # a few milliseconds, before the case is locked
    try:
        case = lock_case(session, case_id)
    except NotFound:  # the draft was deleted meanwhile
        return None
    materials = [dict(m) for m in case.materials]
    entry = next((m for m in materials if m.get("ref") == document_id), None)
    if entry is None or entry["state"] != MaterialState.UPLOADED:
        return None
    current = entry.get("check") or {}
    if current.get("document_id") == document_id and current.get("status") != CHECKING:
        return None  # checked already (a redelivery, or the applicant's page asked first)
    spec = catalogue.material(entry["code"])
    result: dict[str, Any]
    if spec.portrait:
        result = photo if photo is not None else {"status": OFFICER}
    elif read is None or read.reading is None or not checked_by_machine(entry["code"]):
        result = {"status": OFFICER}
    elif not spec.reads_as:
        result = by_title(entry["code"], "\n".join(read.reading.extraction.text))
    else:
        ex = read.reading.extraction
        wordless = not any(line.strip() for line in ex.text)
        review = review_document(
            session,
            case,
            entry["code"],
            spec.reads_as,
            document_id,
            read,
            on=clock.today(),
            purpose=f"一网通办 upload check: case {case.number}",
        )
        result = verdict(review.findings, read=review.reading is not None and not wordless)
    result = {"document_id": document_id, **result, "checked_at": clock.now().isoformat(timespec="seconds")}
    entry["check"] = result
    case.materials = materials
    log_event(
        session,
        READER,
        case,
        "system",
        "material_checked",
        {
            "material": entry["code"],
            "status": result["status"],
            "problems": [str(p["problem"]) for p in result.get("problems", [])],
            **({"authenticity": list(result["authenticity"])} if result.get("authenticity") else {}),
        },
    )
    return result


def _photo(session: Session, document_id: str) -> dict[str, Any] | None:
    """The photo check of an upload of a portrait material (:mod:`onecity.services.portrait`), else None."""
    doc = session.get(Document, document_id)
    if doc is None or not catalogue.material(doc.material_code).portrait:
        return None
    return portrait.check(doc.content, doc.content_type)


def _waiting(case: Case, document_id: str) -> bool:
    entry = next((m for m in case.materials if m.get("ref") == document_id), None)
    check = (entry or {}).get("check") or {}
    return entry is not None and not (check.get("document_id") == document_id and check.get("status") != CHECKING)


def run(db: Database, case_id: str, document_id: str) -> dict[str, Any] | None:
    """Check one upload outside the consumer (what the worker does, for a caller that waits for it):
    OCR with no transaction open, then one short transaction to keep the result."""
    found = _upload(db, case_id, document_id)
    readings = read_uploads(db, [found]) if found is not None else {}
    read = readings.get(found.sha256) if found is not None else None
    with db.transaction() as session:
        return check(session, case_id, document_id, read)


def problem_words(problem: dict[str, str], lang: str) -> Words:
    """One stored problem in the reader's words (what is wrong and what to upload instead)."""
    kind = problem.get("problem", "mismatch")
    if kind == "wrong_material":  # the materials' own names, in the reader's language
        expected, detected = catalogue.material(problem["expected"]), catalogue.material(problem["detected"])
        return Words(
            "services.check.wrong_type",
            {
                "detected": detected.name if lang == "zh" else detected.name_en.lower(),
                "expected": expected.name if lang == "zh" else expected.name_en.lower(),
            },
        )
    if kind == "wrong_type":
        return Words(
            "services.check.wrong_type",
            {
                "detected": Key(f"services.doctype.{problem.get('detected')}"),
                "expected": Key(f"services.doctype.{problem.get('expected')}"),
            },
        )
    if kind == "expired":
        return Words("services.check.expired", {"valid_until": problem.get("valid_until", "")})
    if kind in ("someone_else", "revoked", "unclear", "no_face", "several_faces", "face_small"):
        return Words(f"services.check.{kind}")
    return Words("services.check.mismatch")
