"""Services' own consumers: AI pre-review of every submitted (or supplemented) case.

The pre-review runs off the request path: the applicant's submit returns at once, and the
``services.prereview`` consumer reads the uploads in the document workers (``prepare``,
before its transaction) and then checks, concludes and — for an item that may be — approves
unattended in one short transaction through the platform's exactly-once inbox.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from onecity.core.bus.consumers import consumer
from onecity.core.events import Envelope
from onecity.services import prereview
from onecity.services.events import CASE_SUBMITTED
from onecity.services.models import Case, CaseStatus

log = logging.getLogger(__name__)


@consumer("services.prereview", CASE_SUBMITTED, prepare=prereview.prepare)
def prereview_submitted_case(session: Session, envelope: Envelope) -> None:
    submitted = envelope.typed(CASE_SUBMITTED)
    case = session.get(Case, submitted.case_id)
    if case is None or case.status not in (CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW):
        # withdrawn, or already sent back or decided by an officer before the pre-review ran
        log.info("case %s is %s: no pre-review", submitted.number, case.status if case else "gone")
        return
    prereview.prereview(session, case.id)
