"""The pre-review's standing advice on a case, as the officers' workflow reads it: the latest
round, whether an officer's step goes against it, and the audited record of an override.

Apart from :mod:`onecity.services.prereview` (which reads the documents and writes the
advice) because the workflow in :mod:`onecity.services.service` consults the advice on
every task, while the pre-review completes tasks through that workflow when it approves
unattended: each depends on this module, neither on the other's inside.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import audit, clock
from onecity.core.errors import InvalidInput
from onecity.core.identity.principal import Principal
from onecity.services.models import Case, PreReview, PreReviewOutcome


def latest(session: Session, case_id: str) -> PreReview | None:
    return session.scalar(
        select(PreReview).where(PreReview.case_id == case_id).order_by(PreReview.round.desc()).limit(1)
    )


def contradicts(review: PreReview, kind: str, outcome: str) -> bool:
    """Whether an officer's step goes against the pre-review's advice."""
    advice = PreReviewOutcome(review.outcome)
    if advice == PreReviewOutcome.REFUSAL_SUGGESTED:
        return (kind, outcome) in {("decide", "approve"), ("review", "pass")}
    if advice == PreReviewOutcome.NEEDS_CORRECTION:
        return (kind, outcome) == ("accept", "accept")
    return outcome in ("refuse", "fail", "supplement")


def record_override(
    session: Session, principal: Principal, case: Case, review: PreReview, decided: str, reason: str
) -> None:
    """An officer decides otherwise than the pre-review advised: who, what and why, audited."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(f"the pre-review advised {review.outcome}: say why you decide otherwise (reason)")
    if review.overridden_by is None:
        review.overridden_by, review.overridden_at = principal.ref, clock.now()
        review.override_outcome, review.override_reason = decided[:20], reason[:2000]
    audit.record(
        session,
        principal,
        "services.prereview.overridden",
        object_type="case",
        object_id=case.id,
        subject=f"person:{case.person_id}" if case.person_id is not None else None,
        division_code=case.division_code,
        detail={
            "number": case.number,
            "round": review.round,
            "advice": str(review.outcome),
            "decided": decided,
            "reason": reason[:500],
        },
    )
