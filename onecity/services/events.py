"""What government services tells the rest of the platform.

A 1–2 star rating with a complaint (好差评 差评) becomes a hotline work order in urban
operations, which consumes ``services.rating.complaint``; the payload carries what the
work order needs, so operations never reads the services tables.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from onecity.core.events import event_type


class ComplaintRated(BaseModel):
    rating_id: str
    case_id: str
    item_code: str
    item_name: str
    #: The agency (department) that handled the case: the complaint is about its service.
    agency_code: str
    stars: int
    channel: str
    comment: str
    #: Where the service was delivered (the handling agency's or the applicant's division).
    division_code: str
    rated_at: datetime


RATING_COMPLAINT = event_type("services.rating.complaint", ComplaintRated)


class CaseSubmitted(BaseModel):
    case_id: str
    number: str
    item_code: str
    department: str
    channel: str
    division_code: str
    #: True when the applicant hands in supplements (the case is pre-reviewed again).
    resubmitted: bool = False


class CaseDecided(BaseModel):
    case_id: str
    number: str
    item_code: str
    department: str
    #: "approve" or "refuse"
    decision: str
    within_limit: bool
    certificate_id: int | None
    credential_id: str | None
    division_code: str


CASE_SUBMITTED = event_type("services.case.submitted", CaseSubmitted)
CASE_DECIDED = event_type("services.case.decided", CaseDecided)


class CaseStepped(BaseModel):
    """A step of a case that moves it on without deciding it: withdrawn, accepted (or sent back
    for supplements), a review passed or failed."""

    case_id: str
    number: str
    item_code: str
    department: str
    division_code: str
    #: The case's status before and after the step.
    previous: str | None
    status: str
    #: What the step ended with: "accept" or "supplement", "pass" or "fail", "withdrawn".
    outcome: str
    channel: str


CASE_WITHDRAWN = event_type("services.case.withdrawn", CaseStepped)
CASE_ACCEPTED = event_type("services.case.accepted", CaseStepped)
CASE_REVIEWED = event_type("services.case.reviewed", CaseStepped)


class TaskAssigned(BaseModel):
    """A queued task of a case claimed by an officer, or handed to a colleague of the same department."""

    case_id: str
    number: str
    work_item_id: str
    task: str
    department: str
    division_code: str
    #: The officer who holds the task now (``user:<id>``) and who held it before (None: the queue).
    assigned_to: str
    previous: str | None


CASE_TASK_ASSIGNED = event_type("services.case.task_assigned", TaskAssigned)


class MaterialUploaded(BaseModel):
    """A material was uploaded to a draft (or a supplement) that a machine reads: the upload check
    (:mod:`onecity.services.uploadcheck`) reads and checks it off the request path."""

    case_id: str
    number: str
    document_id: str
    material: str
    division_code: str


MATERIAL_UPLOADED = event_type("services.case.material_uploaded", MaterialUploaded)
