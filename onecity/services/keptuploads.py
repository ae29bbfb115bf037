"""Uploads that failed an authenticity check, kept when the applicant replaces or removes them before
submitting (or deletes the draft): what the officer reviewing the case sees, and a risk signal.

The upload check (:mod:`onecity.services.uploadcheck`) tells the applicant what is wrong with each
upload before they submit, so they can replace it. For an honest mistake (the wrong kind of
document, someone else's, an expired one, an unreadable scan) that is the point, and the replaced
upload is deleted as before: nobody else has seen it. For an authenticity failure
(:func:`onecity.services.uploadstate.suspect`) the check would otherwise be an oracle: a forger
tries forgeries until one passes and the officer sees nothing of the attempts. So such an upload
is moved here, with its check result, in the same transaction that attaches the replacement (or
removes it, or deletes the draft): the bytes are never lost and never half moved.

Who reads a kept upload: whoever may read the case's materials
(:func:`onecity.services.cases.read_document`, audited as any material read). A kept upload of a
deleted draft stays with the applicant (``person_id``, ``applicant_identifier``); the officers of
the applicant's later cases see how many there were, and open those of their own department.

How long: as long as the case's own materials (the platform deletes none of them; a case file's
archiving is the archives rules' business, not the platform's), a deleted draft's too.
The pre-review (:func:`risk`) never approves unattended a case whose applicant has a kept upload
from the last :data:`RISK_DAYS` days: an officer decides.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, defer

from onecity.core import clock
from onecity.core.identity.principal import Principal
from onecity.services import uploadstate
from onecity.services.models import Case, Document, KeptUpload

#: Why an upload was kept.
REPLACED, REMOVED, DRAFT_DELETED = "replaced", "removed", "draft_deleted"
#: A kept upload of the applicant's from this many days back sends any case of theirs to an officer.
RISK_DAYS = 365


def keep_or_drop(
    session: Session, principal: Principal, case: Case, entry: dict[str, Any], why: str
) -> KeptUpload | None:
    """The material entry's current upload leaves the draft: kept here when its check flagged an
    authenticity failure (returned), else deleted. In the caller's transaction (its lock on the case)."""
    document_id = entry.get("ref")
    if not document_id:
        return None
    doc = session.get(Document, document_id)
    if doc is None or doc.case_id != case.id:
        return None
    check = entry.get("check") or {}
    if not (uploadstate.suspect(check) and check.get("document_id") == doc.id):
        session.delete(doc)
        return None
    kept = KeptUpload(
        id=doc.id,
        case_id=case.id,
        case_number=case.number,
        item_code=case.item_code,
        department=case.department,
        division_code=case.division_code,
        person_id=case.person_id,
        applicant_identifier=case.applicant_identifier,
        **doc.file_columns(),
        uploaded_at=doc.created_at,
        check=dict(check),
        kept_because=why,
        kept_by=principal.ref,
        kept_at=clock.now(),
    )
    session.delete(doc)
    session.flush()  # the upload's row goes before its kept copy takes its id
    session.add(kept)
    session.flush()
    return kept


def detach(session: Session, case: Case) -> int:
    """A draft is deleted: its kept uploads stay with the applicant (``case_id`` None). Returns how many."""
    rows = list(session.scalars(select(KeptUpload).where(KeptUpload.case_id == case.id)))
    for row in rows:
        row.case_id = None
    session.flush()
    return len(rows)


def of_case(session: Session, case: Case) -> list[KeptUpload]:
    """The case's kept uploads, oldest first (their bytes left unread until one is opened)."""
    return list(
        session.scalars(
            select(KeptUpload)
            .options(defer(KeptUpload.content))
            .where(KeptUpload.case_id == case.id)
            .order_by(KeptUpload.kept_at)
        )
    )


def _applicant_clause(case: Case) -> Any:
    same = [KeptUpload.applicant_identifier == case.applicant_identifier]
    if case.person_id is not None:
        same.append(KeptUpload.person_id == case.person_id)
    return or_(*same)


def elsewhere(session: Session, case: Case, *, days: int | None = None) -> list[KeptUpload]:
    """The applicant's kept uploads from their other applications (deleted drafts included), newest first."""
    stmt = (
        select(KeptUpload)
        .options(defer(KeptUpload.content))
        .where(_applicant_clause(case), or_(KeptUpload.case_id.is_(None), KeptUpload.case_id != case.id))
    )
    if days is not None:
        stmt = stmt.where(KeptUpload.kept_at >= clock.now() - timedelta(days=days))
    return list(session.scalars(stmt.order_by(KeptUpload.kept_at.desc())))


def count_of_applicant(session: Session, case: Case, *, days: int | None = None) -> int:
    """How many uploads failing an authenticity check the case's applicant replaced or removed, in all
    their applications (this one included)."""
    stmt = select(func.count()).select_from(KeptUpload).where(_applicant_clause(case))
    if days is not None:
        stmt = stmt.where(KeptUpload.kept_at >= clock.now() - timedelta(days=days))
    return int(session.scalar(stmt) or 0)


def risk(session: Session, case: Case) -> dict[str, Any] | None:
    """The pre-review's risk signal: None, or how many kept uploads this case and the applicant's other
    applications of the last :data:`RISK_DAYS` days hold (then no unattended approval: an officer decides)."""
    here = int(session.scalar(select(func.count()).where(KeptUpload.case_id == case.id)) or 0)
    other = count_of_applicant(session, case, days=RISK_DAYS) - here
    if not here and not other:
        return None
    return {"this_case": here, "other_applications": other, "days": RISK_DAYS}
