"""Governed sharing: requests and decisions, the records a grant opens, residents linked to their record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from onecity.api.deps import PrincipalDep, PurposeDep, SessionDep
from onecity.core.errors import InvalidInput
from onecity.core.identity.models import Agency
from onecity.hub.catalogue.schemas import AgencyRef
from onecity.hub.sharing import query, service
from onecity.hub.sharing.models import RequestStatus, ResidentLink
from onecity.hub.sharing.schemas import (
    Decision,
    ReasonRequired,
    RecordsPublic,
    ResidentLinkCreate,
    ResidentLinkPublic,
    ShareRequestCreate,
    ShareRequestPublic,
)
from onecity.hub.sharing.service import RequestView

router = APIRouter(prefix="/sharing", tags=["sharing"])
RequestId = Annotated[str, Path(max_length=36)]
Code = Annotated[str, Path(max_length=60, description="dataset code, e.g. hub.person")]


def _agency(a: Agency) -> AgencyRef:
    return AgencyRef(code=a.code, name=a.name, name_en=a.name_en)


def request_public(view: RequestView) -> ShareRequestPublic:
    r = view.request
    return ShareRequestPublic(
        id=r.id,
        dataset_code=view.dataset.code,
        dataset_title=view.dataset.title,
        dataset_title_en=view.dataset.title_en,
        requester=_agency(view.requester),
        owner=_agency(view.owner),
        requested_by=r.requested_by,
        scope_division_code=r.scope_division_code,
        fields=list(r.fields),
        unmasked_fields=list(r.unmasked_fields),
        purpose=r.purpose,
        legal_basis=r.legal_basis,
        valid_until=r.valid_until,
        status=RequestStatus(r.status),
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        decision_reason=r.decision_reason,
        grant_id=r.grant_id,
        grant_live=view.live,
        created_at=r.created_at,
    )


def _one(session: Session, principal: PrincipalDep, request_id: str) -> ShareRequestPublic:
    return request_public(service.get_request(session, principal, request_id))


@router.post(
    "/requests",
    response_model=ShareRequestPublic,
    status_code=201,
    summary="Ask for a dataset's fields for a purpose, area and period (data stewards)",
)
def create_request(body: ShareRequestCreate, session: SessionDep, principal: PrincipalDep) -> ShareRequestPublic:
    req = service.request_share(
        session,
        principal,
        dataset_code=body.dataset_code,
        fields=body.fields,
        unmasked_fields=body.unmasked_fields,
        purpose=body.purpose,
        legal_basis=body.legal_basis,
        scope_division_code=body.scope_division_code,
        valid_until=body.valid_until,
    )
    return _one(session, principal, req.id)


@router.get(
    "/requests",
    response_model=list[ShareRequestPublic],
    summary="My agency's requests (outgoing) or those awaiting my decision (incoming)",
)
def list_requests(
    session: SessionDep,
    principal: PrincipalDep,
    box: Annotated[str, Query(pattern="^(outgoing|incoming)$")] = "outgoing",
    status: RequestStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ShareRequestPublic]:
    return [request_public(v) for v in service.list_requests(session, principal, box=box, status=status, limit=limit)]


@router.get("/requests/{request_id}", response_model=ShareRequestPublic)
def get_request(request_id: RequestId, session: SessionDep, principal: PrincipalDep) -> ShareRequestPublic:
    return _one(session, principal, request_id)


@router.post(
    "/requests/{request_id}/approve",
    response_model=ShareRequestPublic,
    summary="Approve: creates the access grant (owning agency's stewards)",
)
def approve(request_id: RequestId, body: Decision, session: SessionDep, principal: PrincipalDep) -> ShareRequestPublic:
    service.approve_request(session, principal, request_id, reason=body.reason)
    return _one(session, principal, request_id)


@router.post(
    "/requests/{request_id}/refuse",
    response_model=ShareRequestPublic,
    summary="Refuse, with the reason (owning agency's stewards)",
)
def refuse(
    request_id: RequestId, body: ReasonRequired, session: SessionDep, principal: PrincipalDep
) -> ShareRequestPublic:
    service.refuse_request(session, principal, request_id, reason=body.reason)
    return _one(session, principal, request_id)


@router.post(
    "/requests/{request_id}/withdraw",
    response_model=ShareRequestPublic,
    summary="Withdraw a request, ending its grant if approved (requesting agency's stewards)",
)
def withdraw(request_id: RequestId, body: Decision, session: SessionDep, principal: PrincipalDep) -> ShareRequestPublic:
    service.withdraw_request(session, principal, request_id, reason=body.reason)
    return _one(session, principal, request_id)


@router.post(
    "/requests/{request_id}/revoke",
    response_model=ShareRequestPublic,
    summary="Revoke an approved request's grant (owning agency's stewards)",
)
def revoke(
    request_id: RequestId, body: ReasonRequired, session: SessionDep, principal: PrincipalDep
) -> ShareRequestPublic:
    service.revoke_request(session, principal, request_id, reason=body.reason)
    return _one(session, principal, request_id)


@router.get(
    "/datasets/{code}/records",
    response_model=RecordsPublic,
    summary="Read records under a grant (or as owner); every read is audited with X-OneCity-Purpose",
)
def read_records(
    code: Code,
    session: SessionDep,
    principal: PrincipalDep,
    purpose: PurposeDep,
    lookups: Annotated[
        list[str],
        Query(
            alias="filter",
            max_length=10,
            description="'field:value', exact match on a granted field, e.g. id_number:31010419900307123X",
        ),
    ] = [],  # noqa: B006
    division_code: Annotated[str | None, Query(pattern=r"^\d{12}$", description="narrow to this division")] = None,
    grant_id: Annotated[str | None, Query(max_length=36, description="which grant, when several match")] = None,
    limit: Annotated[int, Query(ge=1, le=query.MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RecordsPublic:
    filters: dict[str, str] = {}
    for item in lookups:
        name, sep, value = item.partition(":")
        if not sep or not name.strip() or not value.strip():
            raise InvalidInput(f"filter {item[:60]!r} must be 'field:value', e.g. id_number:31010419900307123X")
        if name.strip() in filters:
            raise InvalidInput(f"filter on {name.strip()!r} is given twice")
        filters[name.strip()] = value.strip()
    result = query.read_records(
        session,
        principal,
        code,
        purpose,
        filters=filters,
        division_code=division_code,
        grant_id=grant_id,
        limit=limit,
        offset=offset,
    )
    return RecordsPublic(
        dataset=result.dataset,
        basis=result.basis.value,
        grant_id=result.grant_id,
        purpose=result.purpose,
        scope_division_code=result.scope_division_code,
        fields=result.fields,
        masked=result.masked,
        count=len(result.records),
        limit=limit,
        offset=offset,
        records=result.records,
    )


@router.post(
    "/residents/links",
    response_model=ResidentLinkPublic,
    status_code=201,
    tags=["residents"],
    summary="Link a citizen's account to their person record after an identity check",
)
def link_resident(body: ResidentLinkCreate, session: SessionDep, principal: PrincipalDep) -> ResidentLink:
    return service.link_resident(session, principal, username=body.username, id_number=body.id_number)
