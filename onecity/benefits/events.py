"""What proactive benefits tells the rest of the platform: offers made, taken up, closed; objections."""

from __future__ import annotations

from pydantic import BaseModel

from onecity.core.events import event_type


class OfferChanged(BaseModel):
    offer_id: str
    policy_code: str
    subject_kind: str
    subject_id: int
    division_code: str
    previous: str | None
    status: str
    amount: float
    #: the services case an accepted offer became
    case_id: str | None = None


OFFER_MADE = event_type("benefits.offer.made", OfferChanged)
OFFER_ACCEPTED = event_type("benefits.offer.accepted", OfferChanged)
OFFER_DECLINED = event_type("benefits.offer.declined", OfferChanged)
OFFER_WITHDRAWN = event_type("benefits.offer.withdrawn", OfferChanged)


class ObjectionChanged(BaseModel):
    objection_id: str
    policy_code: str
    subject_kind: str
    subject_id: int
    division_code: str
    status: str
    offer_id: str | None = None


OBJECTION_FILED = event_type("benefits.objection.filed", ObjectionChanged)
OBJECTION_ANSWERED = event_type("benefits.objection.answered", ObjectionChanged)
