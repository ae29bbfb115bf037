"""Ratings of a finished case (好差评): the applicant's stars and comment, and the follow-up of a bad one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import audit, clock, events, policy
from onecity.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.services import catalogue
from onecity.services.applicants import channel_of, department_codes
from onecity.services.cases import lock_case, log_event
from onecity.services.events import (
    RATING_COMPLAINT,
    ComplaintRated,
)
from onecity.services.models import (
    DONE_STATUSES,
    Rating,
)


def rate(session: Session, principal: Principal, case_id: str, stars: int, comment: str = "") -> Rating:
    """Rate a completed case once; 1–2 stars with a complaint becomes a hotline work order."""
    case = lock_case(session, case_id)
    channel = channel_of(session, principal, case)
    if case.status not in DONE_STATUSES:
        raise Conflict(f"case {case.number} is {case.status}: rate it once it is decided")
    if not 1 <= stars <= 5:
        raise InvalidInput("stars are 1 to 5")
    if session.scalar(select(Rating.id).where(Rating.case_id == case.id)) is not None:
        raise Conflict(f"case {case.number} was already rated")
    comment = (comment or "").strip()[:1000]
    complaint = stars <= 2 and bool(comment)
    now = clock.now()
    rating = Rating(
        case_id=case.id,
        item_code=case.item_code,
        department=case.department,
        division_code=case.division_code,
        channel=str(case.channel),
        stars=stars,
        comment=comment,
        rated_by=principal.ref,
        created_at=now,
        follow_up="open" if complaint else "none",
    )
    session.add(rating)
    session.flush()
    log_event(session, principal, case, channel, "rated", {"stars": stars, "complaint": complaint})
    if complaint:
        it = catalogue.item(case.item_code)
        events.publish(
            session,
            RATING_COMPLAINT,
            ComplaintRated(
                rating_id=rating.id,
                case_id=case.id,
                item_code=case.item_code,
                item_name=it.name,
                agency_code=case.department,
                stars=stars,
                channel=str(case.channel),
                comment=comment,
                division_code=case.division_code,
                rated_at=now,
            ),
            principal=principal,
            reason="差评 complaint",
        )
    return rating


def close_follow_up(session: Session, principal: Principal, rating_id: str, note: str) -> Rating:
    """Record how a complaint was followed up (整改反馈): public with the department's ratings."""
    policy.require(principal, "services.rating.follow_up")
    rating = session.scalar(select(Rating).where(Rating.id == rating_id).with_for_update())
    if rating is None:
        raise NotFound(f"no rating {rating_id}")
    if rating.department not in department_codes(session, principal):
        raise PermissionDenied("only the rated department follows its ratings up")
    policy.require_in_scope(session, principal, "services.case", rating.division_code)
    if rating.follow_up != "open":
        raise Conflict("this rating has no open follow-up")
    if not note or not note.strip():
        raise InvalidInput("say what was done about the complaint")
    rating.follow_up, rating.follow_up_note = "closed", note.strip()[:1000]
    audit.record(
        session,
        principal,
        "services.rating.followed_up",
        object_type="rating",
        object_id=rating.id,
        division_code=rating.division_code,
        detail={"case": rating.case_id},
    )
    return rating
