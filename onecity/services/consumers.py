"""Services' own consumers: AI pre-review of every submitted (or supplemented) case.

The pre-review runs off the request path: the applicant's submit returns at once, and the
``services.prereview`` consumer reads the uploads in the document workers (``prepare``,
before its transaction, with no session open) and then checks, concludes and — for an item
that may be — approves unattended in one short transaction through the platform's
exactly-once inbox; that transaction re-checks the case's state.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from onecity.core.bus.consumers import consumer
from onecity.core.errors import Conflict, NotFound
from onecity.core.events import Envelope
from onecity.services import prereview
from onecity.services.events import CASE_SUBMITTED

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
