"""HTTP API of government services (一网通办) under ``/api/v1/services``.

Public by nature (no sign-in): the catalogue (items, their BPMN, bundles), performance
figures and ratings per department. Everything about a case needs the applicant, their
proxy or staff in the case's area. Routes are thin: they parse, call one service function
and shape the answer; the service function holds the rule.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.api.deps import PrincipalDep, SessionDep
from onecity.api.idempotency import RESPONSES as IDEMPOTENT_RESPONSES
from onecity.api.idempotency import IdempotencyKeyHeader, idempotent
from onecity.api.schemas import Strict
from onecity.core import policy
from onecity.core.errors import InvalidInput, PreconditionRequired, Words
from onecity.core.identity.principal import Principal
from onecity.hub.registries import relations
from onecity.services import bundles, catalogue, fields, performance, prereview, service, workflow
from onecity.services.models import BundleApplication, Case, CaseEvent, PreReview, WorkItem

router = APIRouter(prefix="/services", tags=["services"])
CaseId = Annotated[str, Path(max_length=36)]
ItemCode = Annotated[str, Path(max_length=24, description="item code, e.g. 310000-01-00040-001")]


# -- schemas -----------------------------------------------------------------------------------


class CaseCreate(Strict):
    item_code: str = Field(max_length=24)
    id_number: str | None = Field(
        default=None, max_length=18, description="counter and proxy: the applicant's resident ID number"
    )
    uscc: str | None = Field(default=None, max_length=18, description="items for firms: the firm's credit code")
    identity_checked: bool = Field(default=False, description="counter: the clerk checked the identity document")
    proxy_relation: str | None = Field(default=None, max_length=40, description="proxy: how you are related")


class BundleCreate(Strict):
    id_number: str | None = Field(default=None, max_length=18)
    uscc: str | None = Field(default=None, max_length=18)
    identity_checked: bool = False
    proxy_relation: str | None = Field(default=None, max_length=40)


class PowerOfAttorneyCreate(Strict):
    agent_id_number: str = Field(
        max_length=18, description="the agent's resident ID number: who may act for the grantor"
    )
    agent_name: str | None = Field(
        default=None, max_length=40, description="online: the agent's name as on their identity card (checked)"
    )
    items: list[str] = Field(
        min_length=1, max_length=50, description='service item codes the power covers, or ["*"] for every item'
    )
    valid_until: datetime = Field(description="when the power ends (with a time zone), at most five years ahead")
    grantor_id_number: str | None = Field(
        default=None, max_length=18, description="counter: the grantor's resident ID number"
    )
    identity_checked: bool = Field(
        default=False, description="counter: the clerk checked both the grantor's and the agent's identity documents"
    )


class PowerOfAttorneyRevoke(Strict):
    reason: str = Field(min_length=2, max_length=300)
    identity_checked: bool = Field(default=False, description="counter: the clerk checked the grantor's identity")


class PowerOfAttorneyPublic(BaseModel):
    id: str
    grantor_name: str
    agent_name: str
    items: list[str]
    valid_from: datetime
    valid_until: datetime
    status: str
    live: bool
    channel: str
    revoked_at: datetime | None


class PowersOfAttorney(BaseModel):
    granted: list[PowerOfAttorneyPublic] = Field(description="powers I granted")
    received: list[PowerOfAttorneyPublic] = Field(description="powers granted to me")


def poa_public(v: relations.PoaView) -> PowerOfAttorneyPublic:
    p = v.poa
    return PowerOfAttorneyPublic(
        id=p.id,
        grantor_name=v.grantor_name,
        agent_name=v.agent_name,
        items=list(p.scope),
        valid_from=p.valid_from,
        valid_until=p.valid_until,
        status=str(p.status),
        live=v.live,
        channel=p.channel,
        revoked_at=p.revoked_at,
    )


class FormUpdate(Strict):
    values: dict[str, Any] = Field(description="form fields to set, by name")


class DocumentUpload(Strict):
    material_code: str = Field(max_length=40)
    filename: str = Field(min_length=1, max_length=200)
    content_type: str = Field(default="application/pdf", max_length=100)
    content_base64: str = Field(min_length=1, max_length=8 * 1024 * 1024)


class Reason(Strict):
    reason: str = Field(min_length=1, max_length=500)


class TaskDone(Strict):
    outcome: Literal["accept", "supplement", "pass", "fail", "approve", "refuse"]
    reason: str = Field(default="", max_length=2000)
    missing: list[str] = Field(
        default_factory=list, max_length=50, description="supplement: every material to provide again, all at once"
    )


class RatingCreate(Strict):
    stars: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


class FollowUp(Strict):
    note: str = Field(min_length=1, max_length=1000)


class PreReviewOverride(Strict):
    outcome: Literal["refusal_suggested", "needs_correction", "pre_approved"] = Field(
        description="the officer's own assessment"
    )
    reason: str = Field(min_length=1, max_length=2000, description="why the pre-review is wrong (audited)")


class PreReviewPublic(BaseModel):
    """One AI pre-review round with every reason (staff only: messages may name third persons)."""

    id: str
    case_id: str
    round: int
    outcome: str
    summary: str
    reasons: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    eligibility: dict[str, Any] | None
    corrections: list[dict[str, Any]]
    engine: str
    seconds: float
    acted: bool
    created_at: datetime
    overridden_by: str | None
    overridden_at: datetime | None
    override_outcome: str | None
    override_reason: str | None


def prereview_public(row: PreReview) -> PreReviewPublic:
    return PreReviewPublic(
        id=row.id,
        case_id=row.case_id,
        round=row.round,
        outcome=str(row.outcome),
        summary=row.summary,
        reasons=row.reasons or [],
        documents=row.documents or [],
        eligibility=row.eligibility,
        corrections=row.corrections or [],
        engine=row.engine,
        seconds=row.seconds,
        acted=row.acted,
        created_at=row.created_at,
        overridden_by=row.overridden_by,
        overridden_at=row.overridden_at,
        override_outcome=row.override_outcome,
        override_reason=row.override_reason,
    )


class CaseEventPublic(BaseModel):
    at: datetime
    actor: str
    actor_name: str
    channel: str
    action: str
    detail: dict[str, Any]


class CasePublic(BaseModel):
    id: str
    number: str
    item_code: str
    item_name: str
    item_name_en: str
    department: str
    bundle_id: str | None
    applicant_kind: str
    applicant_name: str
    applicant_identifier: str
    division_code: str
    channel: str
    status: str
    form: dict[str, Any]
    prefill: dict[str, Any]
    materials: list[dict[str, Any]]
    missing: list[dict[str, Any]]
    fields_total: int
    fields_prefilled: int
    supplements: int
    submitted_at: datetime | None
    accepted_at: datetime | None
    decided_at: datetime | None
    time_limit_days: int
    due_on: date | None
    warned: bool
    overdue: bool
    within_limit: bool | None
    decision_reason: str | None
    legal_basis: str | None
    certificate_id: int | None
    credential_id: str | None
    version: str = Field(
        description="the case's version: send it as If-Match when you decide, so a case changed since is refused"
    )
    history: list[CaseEventPublic] | None = None


class WorkItemPublic(BaseModel):
    id: str
    task_name: str
    role: str
    department: str
    division_code: str
    created_at: datetime
    case: CasePublic


class BundlePublic(BaseModel):
    id: str
    bundle_code: str
    applicant_name: str
    channel: str
    form: dict[str, Any]
    prefill: dict[str, Any]
    missing: list[dict[str, Any]]
    materials_asked: int
    materials_one_by_one: int
    fields_asked: int
    fields_one_by_one: int
    completed_at: datetime | None
    cases: list[CasePublic]


def case_public(case: Case, events: list[CaseEvent] | None = None) -> CasePublic:
    it = catalogue.item(case.item_code)
    return CasePublic(
        version=service.case_version(case),
        id=case.id,
        number=case.number,
        item_code=case.item_code,
        item_name=it.name,
        item_name_en=it.name_en,
        department=case.department,
        bundle_id=case.bundle_id,
        applicant_kind=case.applicant_kind,
        applicant_name=case.applicant_name,
        applicant_identifier=case.applicant_identifier,
        division_code=case.division_code,
        channel=str(case.channel),
        status=str(case.status),
        form=case.form,
        prefill=case.prefill,
        materials=case.materials,
        missing=service.missing_materials(case),
        fields_total=case.fields_total,
        fields_prefilled=case.fields_prefilled,
        supplements=case.supplements,
        submitted_at=case.submitted_at,
        accepted_at=case.accepted_at,
        decided_at=case.decided_at,
        time_limit_days=case.time_limit_days,
        due_on=case.due_on,
        warned=case.warned,
        overdue=case.overdue,
        within_limit=case.within_limit,
        decision_reason=case.decision_reason,
        legal_basis=case.legal_basis,
        certificate_id=case.certificate_id,
        credential_id=case.credential_id,
        history=[
            CaseEventPublic(
                at=e.at, actor=e.actor, actor_name=e.actor_name, channel=e.channel, action=e.action, detail=e.detail
            )
            for e in events
        ]
        if events is not None
        else None,
    )


def bundle_public(app: BundleApplication, cases: list[Case]) -> BundlePublic:
    form, prefill = bundles.merged_form(cases)
    return BundlePublic(
        id=app.id,
        bundle_code=app.bundle_code,
        applicant_name=app.applicant_name,
        channel=str(app.channel),
        form=form,
        prefill=prefill,
        missing=bundles.missing(cases),
        materials_asked=app.materials_asked,
        materials_one_by_one=app.materials_one_by_one,
        fields_asked=app.fields_asked,
        fields_one_by_one=app.fields_one_by_one,
        completed_at=app.completed_at,
        cases=[case_public(c) for c in cases],
    )


def _full(session: Session, principal: Principal, case_id: str) -> CasePublic:
    case = service.get_case(session, principal, case_id)
    return case_public(case, service.history(session, case))


def _decode(body: DocumentUpload) -> bytes:
    try:
        return base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError) as err:
        raise InvalidInput("content_base64 is not valid base64") from err


# -- the public catalogue --------------------------------------------------------------------------


@router.get("/items", summary="Search the service catalogue (public)")
def list_items(
    q: Annotated[str, Query(max_length=100)] = "",
    department: Annotated[str | None, Query(max_length=40)] = None,
    applicant_kind: Annotated[Literal["person", "legal_person"] | None, Query()] = None,
) -> list[dict[str, Any]]:
    return [it.as_dict() for it in catalogue.search(q, department, applicant_kind)]


@router.get("/items/{code}", summary="One service item with its form (JSON Schema) and materials (public)")
def get_item(code: ItemCode) -> dict[str, Any]:
    return catalogue.item(code).as_dict()


@router.get("/workflows/{shape}.bpmn", summary="A workflow shape as BPMN 2.0 XML (public)", response_class=Response)
def get_bpmn(shape: Annotated[str, Path(max_length=40, pattern="^[a-z_]+$")]) -> Response:
    if shape not in workflow.SHAPES:
        raise InvalidInput(f"no workflow {shape!r}; there are {list(workflow.SHAPES)}")
    return Response(workflow.bpmn_xml(shape), media_type="application/xml")


@router.get("/departments", summary="Departments that handle the items (public)")
def list_departments() -> list[dict[str, str]]:
    return [{"code": code, **dept} for code, dept in catalogue.departments().items()]


@router.get("/bundles", summary="Bundled life events (一件事), with their burden against one by one (public)")
def list_bundles() -> list[dict[str, Any]]:
    return [b.as_dict() for b in catalogue.bundles()]


@router.get("/performance", summary="Performance per item, department or district (public)")
def get_performance(
    session: SessionDep,
    by: Annotated[Literal["item", "department", "district"], Query()] = "department",
) -> list[dict[str, Any]]:
    return performance.figures(session, by)


@router.get("/ratings", summary="Ratings per department, with complaints and their follow-up (public)")
def get_ratings(session: SessionDep) -> list[dict[str, Any]]:
    return performance.ratings_by_department(session)


# -- cases -------------------------------------------------------------------------------------------


@router.post(
    "/cases",
    response_model=CasePublic,
    status_code=201,
    responses=IDEMPOTENT_RESPONSES,
    summary="Start a draft (online, by proxy, or at the counter), prefilled from the registries",
)
def create_case(
    body: CaseCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CasePublic | Response:
    def create() -> CasePublic:
        case = service.start_case(
            session,
            principal,
            body.item_code,
            id_number=body.id_number,
            uscc=body.uscc,
            identity_checked=body.identity_checked,
            proxy_relation=body.proxy_relation,
        )
        return _full(session, principal, case.id)

    return idempotent(request, session, principal, idempotency_key, body, create)


@router.get("/cases", response_model=list[CasePublic], summary="My cases (as applicant or proxy)")
def list_my_cases(session: SessionDep, principal: PrincipalDep) -> list[CasePublic]:
    return [case_public(c) for c in service.my_cases(session, principal)]


@router.get(
    "/counter/cases",
    response_model=list[CasePublic],
    summary="A person's cases, for the counter (continue a case started online)",
)
def counter_cases(
    session: SessionDep,
    principal: PrincipalDep,
    id_number: Annotated[str, Query(min_length=18, max_length=18)],
    identity_checked: Annotated[
        bool, Query(description="the person is at the counter, identity document checked: any district (全市通办)")
    ] = False,
) -> list[CasePublic]:
    return [
        case_public(c)
        for c in service.cases_of_person(session, principal, id_number, identity_checked=identity_checked)
    ]


@router.get("/cases/{case_id}", response_model=CasePublic, summary="One case with its whole history")
def get_case(case_id: CaseId, session: SessionDep, principal: PrincipalDep) -> CasePublic:
    return _full(session, principal, case_id)


@router.patch("/cases/{case_id}/form", response_model=CasePublic, summary="Change form fields of a draft")
def patch_form(case_id: CaseId, body: FormUpdate, session: SessionDep, principal: PrincipalDep) -> CasePublic:
    service.update_form(session, principal, case_id, body.values)
    return _full(session, principal, case_id)


@router.post(
    "/cases/{case_id}/documents", response_model=CasePublic, status_code=201, summary="Upload or scan one material"
)
def upload(case_id: CaseId, body: DocumentUpload, session: SessionDep, principal: PrincipalDep) -> CasePublic:
    service.attach_document(
        session,
        principal,
        case_id,
        body.material_code,
        filename=body.filename,
        content_type=body.content_type,
        content=_decode(body),
    )
    return _full(session, principal, case_id)


ConfirmFlagged = Annotated[
    bool,
    Query(
        description="submit even though the upload check flagged a material as wrong (each material's "
        "`check.status` is `flagged`): without it such a submission is refused with 422, naming them in "
        "`flagged`; an officer would ask for them again"
    ),
]


class FieldValues(BaseModel):
    values: dict[str, str] = Field(
        description="field name → the text typed so far (as a page sends it)", max_length=100
    )


class FieldProblem(BaseModel):
    zh: str
    en: str


@router.post(
    "/fields/check",
    response_model=dict[str, FieldProblem],
    summary="Check form fields as they are typed: what is wrong with each, in both languages (nothing stored)",
)
def check_fields(body: FieldValues) -> dict[str, FieldProblem]:
    from onecity.web.i18n import said

    out: dict[str, FieldProblem] = {}
    for name, raw in body.values.items():
        if not catalogue.has_field(name):
            raise InvalidInput(f"no form field {name!r}", words=Words("services.field.unknown"))
        _value, wrong = fields.parse(name, raw[: fields.MAX_TEXT + 1])
        if wrong is not None:
            out[name] = FieldProblem(zh=said("zh", wrong), en=said("en", wrong))
    return out


@router.post("/cases/{case_id}/submit", response_model=CasePublic, summary="Submit: the workflow starts")
def submit(
    case_id: CaseId, session: SessionDep, principal: PrincipalDep, confirm_flagged: ConfirmFlagged = False
) -> CasePublic:
    service.submit(session, principal, case_id, confirm_flagged=confirm_flagged)
    return _full(session, principal, case_id)


@router.post("/cases/{case_id}/resubmit", response_model=CasePublic, summary="Hand in the supplements")
def resubmit(case_id: CaseId, session: SessionDep, principal: PrincipalDep) -> CasePublic:
    service.resubmit(session, principal, case_id)
    return _full(session, principal, case_id)


@router.post("/cases/{case_id}/withdraw", response_model=CasePublic, summary="Withdraw a case not yet decided")
def withdraw(case_id: CaseId, body: Reason, session: SessionDep, principal: PrincipalDep) -> CasePublic:
    service.withdraw(session, principal, case_id, body.reason)
    return _full(session, principal, case_id)


@router.post(
    "/cases/{case_id}/rating",
    response_model=dict[str, Any],
    status_code=201,
    summary="Rate a decided case (好差评)",
    responses=IDEMPOTENT_RESPONSES,
)
def rate(
    case_id: CaseId,
    body: RatingCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> dict[str, Any] | Response:
    def create() -> dict[str, Any]:
        rating = service.rate(session, principal, case_id, body.stars, body.comment)
        return {"id": rating.id, "stars": rating.stars, "channel": rating.channel, "follow_up": rating.follow_up}

    return idempotent(request, session, principal, idempotency_key, body, create)


@router.post("/ratings/{rating_id}/follow-up", summary="Record how a complaint was followed up")
def follow_up(
    rating_id: Annotated[str, Path(max_length=36)], body: FollowUp, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    rating = service.close_follow_up(session, principal, rating_id, body.note)
    return {"id": rating.id, "follow_up": rating.follow_up, "follow_up_note": rating.follow_up_note}


# -- AI pre-review (智能预审) --------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/prereviews",
    response_model=list[PreReviewPublic],
    summary="Every AI pre-review round of a case, with its reasons (staff)",
)
def list_prereviews(case_id: CaseId, session: SessionDep, principal: PrincipalDep) -> list[PreReviewPublic]:
    policy.require(principal, "services.case.read")  # staff only: reasons may name third persons
    case = service.get_case(session, principal, case_id)
    rows = session.scalars(select(PreReview).where(PreReview.case_id == case.id).order_by(PreReview.round))
    return [prereview_public(r) for r in rows]


@router.post(
    "/cases/{case_id}/prereview/override",
    response_model=PreReviewPublic,
    summary="Say the latest pre-review is wrong, with a reason (audited)",
)
def override_prereview(
    case_id: CaseId, body: PreReviewOverride, session: SessionDep, principal: PrincipalDep
) -> PreReviewPublic:
    return prereview_public(prereview.override(session, principal, case_id, body.outcome, body.reason))


# -- work queues ---------------------------------------------------------------------------------


def _work_public(w: WorkItem, c: Case) -> WorkItemPublic:
    return WorkItemPublic(
        id=w.id,
        task_name=w.task_name,
        role=w.role,
        department=w.department,
        division_code=w.division_code,
        created_at=w.created_at,
        case=case_public(c),
    )


@router.get(
    "/work", response_model=list[WorkItemPublic], summary="My queue: open tasks for my roles, department and division"
)
def my_work(
    session: SessionDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(max_length=100, description="part of the applicant's name, case number or item")] = "",
    item: Annotated[str, Query(max_length=24, description="one item's code")] = "",
    status: Annotated[str, Query(max_length=12, description="the case's status: submitted or in_review")] = "",
    overdue: Annotated[bool, Query(description="only cases past their time limit")] = False,
    assigned: Annotated[str, Query(max_length=12, description="me, unassigned, or empty for all")] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[WorkItemPublic]:
    """The same queue and filters as the officers' page (``/services/work``), through the same function."""
    found = service.work_queue(
        session,
        principal,
        limit,
        offset=offset,
        query=q.strip(),
        item_code=item,
        status=status,
        overdue=overdue,
        assigned=assigned,
    )
    return [_work_public(w, c) for w, c in found]


def _entity_tag(value: str | None) -> str | None:
    """An ``If-Match`` value as the bare tag (``W/"abc"`` and ``"abc"`` both give ``abc``)."""
    if value is None or not value.strip():
        return None
    return value.strip().removeprefix("W/").strip('"')


@router.post(
    "/work/{work_item_id}/complete",
    response_model=CasePublic,
    summary="Do a task: accept or ask for supplements, review, approve or refuse",
    responses={
        412: {"description": "the case changed since the version in If-Match: read it again"},
        428: {"description": "approve and refuse need If-Match: the case's version (from the queue or the case)"},
    },
)
def complete(
    work_item_id: Annotated[str, Path(max_length=36)],
    body: TaskDone,
    session: SessionDep,
    principal: PrincipalDep,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=100,
            description="the case's `version` as read; required to approve or refuse, optional otherwise",
        ),
    ] = None,
) -> CasePublic:
    """A decision is an administrative act: it must rest on the case as the officer read it. Approving
    or refusing therefore needs ``If-Match`` with the case's ``version`` (428 without it); a case that
    changed since (a supplement, a withdrawal, another step) answers 412 with its current version."""
    expected = _entity_tag(if_match)
    if expected is None and body.outcome in service.OUTCOMES["decide"]:
        raise PreconditionRequired(
            "approve and refuse need If-Match: the case's version, from the queue or the case",
            words=Words("services.work.version_required"),
        )
    case = service.complete_task(
        session,
        principal,
        work_item_id,
        body.outcome,
        reason=body.reason,
        missing=body.missing,
        expected_version=expected,
    )
    return _full(session, principal, case.id)


# -- bundles ------------------------------------------------------------------------------------------


@router.post(
    "/bundles/{code}/applications",
    response_model=BundlePublic,
    status_code=201,
    responses=IDEMPOTENT_RESPONSES,
    summary="Start a bundle application: one merged, prefilled form for all its items",
)
def create_bundle(
    code: Annotated[str, Path(max_length=40)],
    body: BundleCreate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> BundlePublic | Response:
    def create() -> BundlePublic:
        app = bundles.start_bundle(
            session,
            principal,
            code,
            id_number=body.id_number,
            uscc=body.uscc,
            identity_checked=body.identity_checked,
            proxy_relation=body.proxy_relation,
        )
        return bundle_public(*bundles.get_bundle(session, principal, app.id))

    return idempotent(request, session, principal, idempotency_key, body, create)


BundleId = Annotated[str, Path(max_length=36)]


@router.get("/bundle-applications/{app_id}", response_model=BundlePublic, summary="A bundle application")
def get_bundle(app_id: BundleId, session: SessionDep, principal: PrincipalDep) -> BundlePublic:
    return bundle_public(*bundles.get_bundle(session, principal, app_id))


@router.patch("/bundle-applications/{app_id}/form", response_model=BundlePublic, summary="Fill the merged form")
def patch_bundle(app_id: BundleId, body: FormUpdate, session: SessionDep, principal: PrincipalDep) -> BundlePublic:
    bundles.update_form(session, principal, app_id, body.values)
    return bundle_public(*bundles.get_bundle(session, principal, app_id))


@router.post(
    "/bundle-applications/{app_id}/documents",
    response_model=BundlePublic,
    status_code=201,
    summary="Provide one material once for every item that needs it",
)
def upload_bundle(app_id: BundleId, body: DocumentUpload, session: SessionDep, principal: PrincipalDep) -> BundlePublic:
    bundles.attach_document(
        session,
        principal,
        app_id,
        body.material_code,
        filename=body.filename,
        content_type=body.content_type,
        content=_decode(body),
    )
    return bundle_public(*bundles.get_bundle(session, principal, app_id))


@router.post(
    "/bundle-applications/{app_id}/submit",
    response_model=BundlePublic,
    summary="Submit every item of the bundle (fan-out to their workflows)",
)
def submit_bundle(
    app_id: BundleId, session: SessionDep, principal: PrincipalDep, confirm_flagged: ConfirmFlagged = False
) -> BundlePublic:
    bundles.submit(session, principal, app_id, confirm_flagged=confirm_flagged)
    return bundle_public(*bundles.get_bundle(session, principal, app_id))


# -- powers of attorney (授权委托) --------------------------------------------------------------------------

PoaId = Annotated[str, Path(max_length=36)]


def _poa_view(session: Session, poa_id: str) -> relations.PoaView:
    from onecity.hub.registries.models import Person, PowerOfAttorney

    poa = session.get(PowerOfAttorney, poa_id)
    assert poa is not None
    names = dict(
        session.execute(select(Person.id, Person.name).where(Person.id.in_({poa.grantor_id, poa.agent_id}))).all()
    )
    return relations.PoaView(poa, names.get(poa.grantor_id, ""), names.get(poa.agent_id, ""), relations.is_live(poa))


@router.post(
    "/powers-of-attorney",
    response_model=PowerOfAttorneyPublic,
    status_code=201,
    summary="Grant a power of attorney from your own account, or record one at a counter (both identities checked)",
)
def grant_power(body: PowerOfAttorneyCreate, session: SessionDep, principal: PrincipalDep) -> PowerOfAttorneyPublic:
    poa = relations.grant_power_of_attorney(
        session,
        principal,
        agent_id_number=body.agent_id_number,
        agent_name=body.agent_name,
        items=body.items,
        valid_until=body.valid_until,
        grantor_id_number=body.grantor_id_number,
        identity_checked=body.identity_checked,
        known_items={it.code for it in catalogue.items()},
    )
    return poa_public(_poa_view(session, poa.id))


@router.get(
    "/powers-of-attorney",
    response_model=PowersOfAttorney,
    summary="My powers of attorney: those I granted and those granted to me",
)
def my_powers(session: SessionDep, principal: PrincipalDep) -> PowersOfAttorney:
    granted, received = relations.my_powers(session, principal)
    return PowersOfAttorney(granted=[poa_public(v) for v in granted], received=[poa_public(v) for v in received])


@router.post(
    "/powers-of-attorney/{poa_id}/revoke",
    response_model=PowerOfAttorneyPublic,
    summary="Revoke a power of attorney you granted (or, at a counter, one the grantor asks to end)",
)
def revoke_power(
    poa_id: PoaId, body: PowerOfAttorneyRevoke, session: SessionDep, principal: PrincipalDep
) -> PowerOfAttorneyPublic:
    poa = relations.revoke_power_of_attorney(
        session, principal, poa_id, reason=body.reason, identity_checked=body.identity_checked
    )
    return poa_public(_poa_view(session, poa.id))
