"""Services' own consumers: the upload check of every machine-read material as it arrives, and AI
pre-review of every submitted (or supplemented) case.

The pre-review runs off the request path: the applicant's submit returns at once, and the
``services.prereview`` consumer reads the uploads in the document workers (``prepare``,
before its transaction, with no session open) and then checks, concludes and — for an item
that may be — approves unattended in one short transaction through the platform's
exactly-once inbox; that transaction re-checks the case's state.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from onecity.core import notify
from onecity.core.bus.consumers import consumer
from onecity.core.errors import Conflict, NotFound
from onecity.core.events import Envelope
from onecity.core.identity.principal import system_principal
from onecity.services import prereview, uploadcheck
from onecity.services.events import CASE_DECIDED, CASE_SUBMITTED, MATERIAL_UPLOADED
from onecity.services.i18n import MESSAGES
from onecity.services.models import Case, Document

log = logging.getLogger(__name__)


@consumer("services.prereview", CASE_SUBMITTED, prepare=prereview.prepare)
def prereview_submitted_case(session: Session, envelope: Envelope) -> None:
    submitted = envelope.typed(CASE_SUBMITTED)
    try:
        # locks the case and re-checks its state: the uploads were read before this transaction
        prereview.prereview(session, submitted.case_id)
    except (Conflict, NotFound) as err:
        # withdrawn, or already sent back or decided by an officer before (or while) its uploads were read
        log.info("case %s: no pre-review (%s)", submitted.number, err)


NOTIFIER = system_principal("services:notify")


@consumer("services.notify-decided", CASE_DECIDED)
def notify_applicant_of_decision(session: Session, envelope: Envelope) -> None:
    """Tell the applicant (their inbox, and e-mail when they gave an address) that their case was decided."""
    decided = envelope.typed(CASE_DECIDED)
    case = session.get(Case, decided.case_id)
    if case is None:
        return
    outcome = "notify.approved" if decided.decision == "approve" else "notify.refused"
    values = {lang: {"number": decided.number, "outcome": MESSAGES[lang][outcome]} for lang in notify.LANGUAGES}
    notify.notify_person(  # no account: the applicant came to the counter, and is told there
        session,
        NOTIFIER,
        case.person_id,
        kind=CASE_DECIDED.name,
        text=notify.text_from(MESSAGES, "notify.decided.title", "notify.decided.body", values),
        link=f"/services/cases/{case.id}",
    )


@consumer("services.upload-check", MATERIAL_UPLOADED, prepare=uploadcheck.prepare)
def check_uploaded_material(session: Session, envelope: Envelope) -> None:
    """Keep the upload check's result on the material (its page was read before this transaction)."""
    uploaded = envelope.typed(MATERIAL_UPLOADED)
    found = session.get(Document, uploaded.document_id)
    read = prereview.remembered(found.sha256) if found is not None else None
    uploadcheck.check(session, uploaded.case_id, uploaded.document_id, read)
