"""``/api/v1/ops``: the loop for systems — camera and hotline feeds, case transitions, centre figures.

Thin on purpose: each route validates its body (``Strict``: unknown fields refused) and calls
one service function; the service holds every rule. Residents' apps use Open311
(:mod:`onecity.ops.open311`) instead; cameras post detections here with a ``sensing`` key
(``source: "camera"``), the hotline's own systems with a dispatcher's token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, UploadFile
from pydantic import BaseModel, Field

from onecity.api.deps import PrincipalDep, SessionDep
from onecity.api.schemas import Strict
from onecity.core.errors import InvalidInput
from onecity.ops import centre, service
from onecity.ops.models import Case, Status
from onecity.ops.taxonomy import taxonomy

router = APIRouter(prefix="/ops", tags=["operations"])
CaseId = Annotated[str, Path(max_length=36)]
Code = Annotated[str, Path(pattern=r"^\d{12}$")]


class ReportCreate(Strict):
    source: Literal["hotline", "inspector", "camera", "sensor"]
    subtype_code: str = Field(max_length=6, examples=["E0101"])
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    description: str = Field(max_length=2000)
    address: str | None = Field(default=None, max_length=200)
    reporter_name: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=120)
    media_url: str | None = Field(default=None, max_length=500)
    component_id: int | None = None
    #: The detection's or call's id in the sending system.
    external_id: str | None = Field(default=None, max_length=64)
    urgency: Literal["normal", "urgent"] | None = None


class IntakePublic(BaseModel):
    case_id: str
    report_id: str
    duplicate: bool
    status: Status
    unit_agency_id: str | None
    notice: str | None


class CasePublic(BaseModel):
    id: str
    subtype_code: str
    subtype_name: str
    urgency: str
    status: Status
    source: str
    description: str
    lon: float
    lat: float
    grid_code: str
    township_code: str
    district_code: str
    department: str
    unit_agency_id: str | None
    level: str
    escalations: int
    step: str | None
    step_due_at: datetime | None
    dispose_due_at: datetime | None
    report_count: int
    rework_count: int
    late_steps: int
    closed_on_time: bool | None
    score: float | None
    created_at: datetime
    updated_at: datetime


class StepPublic(BaseModel):
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    actor: str
    note: str | None
    media_id: str | None


class CaseDetail(CasePublic):
    timeline: list[StepPublic]


class Transition(Strict):
    note: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=2000)
    department: str | None = Field(default=None, max_length=30)
    subtype_code: str | None = Field(default=None, max_length=6)
    urgency: Literal["normal", "urgent"] | None = None
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    media_id: str | None = Field(default=None, max_length=36)


def case_public(c: Case) -> CasePublic:
    sub = taxonomy().subtypes.get(c.subtype_code)
    return CasePublic(
        id=c.id,
        subtype_code=c.subtype_code,
        subtype_name=sub.name_en if sub else c.subtype_code,
        urgency=c.urgency,
        status=Status(c.status),
        source=str(c.source),
        description=c.description,
        lon=c.lon,
        lat=c.lat,
        grid_code=c.grid_code,
        township_code=c.township_code,
        district_code=c.district_code,
        department=c.department,
        unit_agency_id=c.unit_agency_id,
        level=str(c.level),
        escalations=c.escalations,
        step=c.step,
        step_due_at=c.step_due_at,
        dispose_due_at=c.dispose_due_at,
        report_count=c.report_count,
        rework_count=c.rework_count,
        late_steps=c.late_steps,
        closed_on_time=c.closed_on_time,
        score=c.score,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


@router.get("/taxonomy", summary="The case types, departments and time limits (GB/T 30428 style)")
def get_taxonomy(principal: PrincipalDep) -> dict[str, Any]:
    tax = taxonomy()
    return {
        "standard": tax.standard,
        "working_hours": tax.working_hours,
        "urgency": {
            k.value: {"name": u.name, "name_en": u.name_en, "clock": u.clock, "limits": u.limits}
            for k, u in tax.urgency.items()
        },
        "departments": {
            k: {"name": d.name, "name_en": d.name_en, "level": d.level.value} for k, d in tax.departments.items()
        },
        "classes": {k: {"kind": m.kind.value, "name": m.name, "name_en": m.name_en} for k, m in tax.majors.items()},
        "subtypes": {
            k: {
                "kind": s.kind.value,
                "class": s.major_code,
                "name": s.name,
                "name_en": s.name_en,
                "department": s.department,
                "dispose_hours": s.dispose,
                "default_urgency": s.default_urgency.value,
                "closure": s.closure,
                "closure_en": s.closure_en,
            }
            for k, s in tax.subtypes.items()
        },
    }


@router.post(
    "/reports",
    response_model=IntakePublic,
    status_code=201,
    summary="Report a problem (hotline systems, inspectors' apps, camera detections)",
)
def create_report(body: ReportCreate, session: SessionDep, principal: PrincipalDep) -> IntakePublic:
    got = service.intake(session, principal, **body.model_dump())
    notice = (
        f"joined case {got.case.id}, already reported {got.case.report_count - 1} time(s)" if got.duplicate else None
    )
    return IntakePublic(
        case_id=got.case.id,
        report_id=got.report.id,
        duplicate=got.duplicate,
        status=Status(got.case.status),
        unit_agency_id=got.case.unit_agency_id,
        notice=notice,
    )


@router.get("/cases", response_model=list[CasePublic], summary="Cases in my area, or sent to my unit")
def list_cases(
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[list[Status] | None, Query()] = None,
    division: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    mine: Annotated[bool, Query(description="only the cases sent to my disposal unit")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CasePublic]:
    statuses = tuple(status) if status else None
    if mine:
        return [case_public(c) for c in service.unit_cases(session, principal, statuses=statuses, limit=limit)]
    return [
        case_public(c)
        for c in service.area_cases(session, principal, statuses=statuses, division_code=division, limit=limit)
    ]


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(case_id: CaseId, session: SessionDep, principal: PrincipalDep) -> CaseDetail:
    c = service.get_case(session, principal, case_id)
    steps = [
        StepPublic(
            at=s.at,
            action=s.action,
            from_status=s.from_status,
            to_status=s.to_status,
            actor=s.actor,
            note=s.note,
            media_id=s.media_id,
        )
        for s in service.timeline(session, principal, case_id)
    ]
    return CaseDetail(**case_public(c).model_dump(), timeline=steps)


TRANSITIONS = {
    "register": lambda s, p, cid, b: service.register_case(
        s, p, cid, subtype_code=b.subtype_code, urgency=b.urgency, note=b.note
    ),
    "reject": lambda s, p, cid, b: service.reject_case(s, p, cid, reason=b.reason or ""),
    "dispatch": lambda s, p, cid, b: service.dispatch_case(s, p, cid, department=b.department, note=b.note),
    "accept": lambda s, p, cid, b: service.accept_case(s, p, cid),
    "dispute": lambda s, p, cid, b: service.dispute_case(s, p, cid, reason=b.reason or ""),
    "report": lambda s, p, cid, b: service.report_back(s, p, cid, media_id=b.media_id or "", note=b.note),
    "verify": lambda s, p, cid, b: service.verify_case(s, p, cid, ok=True, note=b.note, media_id=b.media_id),
    "rework": lambda s, p, cid, b: service.verify_case(s, p, cid, ok=False, note=b.note, media_id=b.media_id),
    "close": lambda s, p, cid, b: service.close_case(s, p, cid, note=b.note),
    "evaluate": lambda s, p, cid, b: service.evaluate_case(s, p, cid, satisfaction=b.satisfaction),
    "suspend": lambda s, p, cid, b: service.suspend_case(s, p, cid, reason=b.reason or ""),
    "resume": lambda s, p, cid, b: service.resume_case(s, p, cid, note=b.note),
    "resolve": lambda s, p, cid, b: service.resolve_dispute(s, p, cid, department=b.department or "", note=b.note),
}


@router.post(
    "/cases/{case_id}/{action}",
    response_model=CasePublic,
    summary="One transition: register, reject, dispatch, accept, dispute, report, verify, rework, "
    "close, evaluate, suspend, resume, resolve",
)
def transition(
    case_id: CaseId,
    action: Annotated[str, Path(max_length=20)],
    body: Transition,
    session: SessionDep,
    principal: PrincipalDep,
) -> CasePublic:
    run = TRANSITIONS.get(action)
    if run is None:
        raise InvalidInput(f"unknown action {action!r}; one of {sorted(TRANSITIONS)}")
    return case_public(run(session, principal, case_id, body))


@router.post("/media", status_code=201, summary="Upload a site photo (JPEG, PNG or WebP, at most 5 MB)")
def upload_media(session: SessionDep, principal: PrincipalDep, photo: Annotated[UploadFile, File()]) -> dict[str, str]:
    data = photo.file.read(service.MAX_MEDIA_BYTES + 1)
    return {"id": service.store_media(session, principal, data).id}


@router.get("/centres/{code}", summary="An operation centre's live figures (scoped to its area)")
def centre_figures(code: Code, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    return centre.live_counts(session, principal, code)


@router.get("/centres/{code}/evaluation", summary="Evaluation by disposal unit, department or township")
def centre_evaluation(
    code: Code,
    session: SessionDep,
    principal: PrincipalDep,
    by: Annotated[Literal["unit", "department", "township"], Query()] = "unit",
) -> list[dict[str, Any]]:
    return centre.evaluation(session, principal, code, by=by)
