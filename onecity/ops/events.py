"""What urban operations tells other parts: every step of a case, as ``ops.case.<action>``."""

from __future__ import annotations

from pydantic import BaseModel

from onecity.core import events


class CaseChanged(BaseModel):
    case_id: str
    action: str
    status: str
    subtype_code: str
    department: str
    unit_agency_id: str | None
    division_code: str
    township_code: str
    district_code: str
    level: str
    source: str


ACTIONS_EVENTS = (
    "collected",
    "merged",
    "registered",
    "rejected",
    "dispatched",
    "redispatched",
    "reclassified",
    "accepted",
    "disputed",
    "resolved",
    "reported",
    "verified",
    "reworked",
    "closed",
    "evaluated",
    "suspended",
    "resumed",
    "reminded",
    "escalated",
    "noted",
)


EVENTS = {a: events.event_type(f"ops.case.{a}", CaseChanged) for a in ACTIONS_EVENTS}
