"""Administration: agencies, users, API keys and access grants."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from onecity.api.deps import PageDep, PrincipalDep, PurposeDep, SessionDep
from onecity.api.schemas import (
    AgencyCreate,
    AgencyPublic,
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyPublic,
    GrantCreate,
    GrantPublic,
    GrantRevoke,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from onecity.api.users_view import user_public, user_record_public
from onecity.core import audit
from onecity.core.grants import AccessGrant
from onecity.core.identity import service
from onecity.core.identity.models import Agency, ApiKey
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind

router = APIRouter()
Id = Annotated[str, "path id"]


@router.get("/agencies", response_model=list[AgencyPublic], tags=["agencies"])
def list_agencies(session: SessionDep, principal: PrincipalDep) -> list[Agency]:
    return service.list_agencies(session, principal)


@router.post("/agencies", response_model=AgencyPublic, status_code=201, tags=["agencies"])
def create_agency(body: AgencyCreate, session: SessionDep, principal: PrincipalDep) -> Agency:
    return service.create_agency(
        session,
        principal,
        code=body.code,
        name=body.name,
        name_en=body.name_en,
        division_code=body.division_code,
        parent_code=body.parent_code,
    )


@router.get("/users", response_model=list[UserPublic], tags=["users"])
def list_users(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    division_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
) -> list[UserPublic]:
    users = service.list_users(session, principal, division_code=division_code, limit=page.limit, offset=page.offset)
    return [user_public(u) for u in users]


@router.post("/users", response_model=UserPublic, status_code=201, tags=["users"])
def create_user(body: UserCreate, session: SessionDep, principal: PrincipalDep) -> UserPublic:
    user = service.create_user(
        session,
        principal,
        username=body.username,
        password=body.password,
        kind=PrincipalKind(body.kind),
        roles=body.roles,
        agency_code=body.agency_code,
        division_code=body.division_code,
        display_name=body.display_name,
    )
    return user_public(user)


@router.get(
    "/users/{user_id}",
    response_model=UserPublic,
    tags=["users"],
    summary="One user (personal data: the read is audited with X-OneCity-Purpose)",
)
async def get_user(user_id: Id, session: SessionDep, principal: PrincipalDep, purpose: PurposeDep) -> UserPublic:
    # ``async`` with one hop to the thread pool for the read, its audit entry and the commit
    # (a plain ``def`` route costs a hop for the route and another for the commit after it)
    return await run_in_threadpool(_read_user, session, principal, user_id, purpose)


def _read_user(session: Session, principal: Principal, user_id: str, purpose: str | None) -> UserPublic:
    audit.statement_at_a_time(session)  # PostgreSQL: the read, then the entry committed as it is written
    record = service.read_user(session, principal, user_id, purpose=purpose)
    session.commit()  # the entry is durable before the answer is sent
    return user_record_public(record)


@router.patch("/users/{user_id}", response_model=UserPublic, tags=["users"])
def update_user(user_id: Id, body: UserUpdate, session: SessionDep, principal: PrincipalDep) -> UserPublic:
    user = service.update_user(session, principal, user_id, active=body.active, roles=body.roles, reason=body.reason)
    return user_public(user)


@router.get("/apikeys", response_model=list[ApiKeyPublic], tags=["api keys"])
def list_api_keys(session: SessionDep, principal: PrincipalDep, page: PageDep) -> list[ApiKey]:
    return service.list_api_keys(session, principal, limit=page.limit, offset=page.offset)


@router.post("/apikeys", response_model=ApiKeyIssued, status_code=201, tags=["api keys"])
def create_api_key(body: ApiKeyCreate, session: SessionDep, principal: PrincipalDep) -> ApiKeyIssued:
    key, secret = service.create_api_key(
        session,
        principal,
        name=body.name,
        scopes=[s.value for s in body.scopes],
        agency_code=body.agency_code,
        division_code=body.division_code,
        expires_at=body.expires_at,
        roles=body.roles,
    )
    return ApiKeyIssued.model_validate({**ApiKeyPublic.model_validate(key).model_dump(), "key": secret})


@router.delete("/apikeys/{key_id}", response_model=ApiKeyPublic, tags=["api keys"])
def revoke_api_key(key_id: Id, session: SessionDep, principal: PrincipalDep) -> ApiKey:
    return service.revoke_api_key(session, principal, key_id)


@router.get("/grants", response_model=list[GrantPublic], tags=["grants"])
def list_grants(session: SessionDep, principal: PrincipalDep, page: PageDep) -> list[AccessGrant]:
    return service.list_grants(session, principal, limit=page.limit, offset=page.offset)


@router.post("/grants", response_model=GrantPublic, status_code=201, tags=["grants"])
def create_grant(body: GrantCreate, session: SessionDep, principal: PrincipalDep) -> AccessGrant:
    return service.create_grant(
        session,
        principal,
        resource=body.resource,
        scope_division_code=body.scope_division_code,
        purpose=body.purpose,
        grantee_agency_code=body.grantee_agency_code,
        grantee_division_code=body.grantee_division_code,
        fields=body.fields,
        valid_until=body.valid_until,
    )


@router.post("/grants/{grant_id}/revoke", response_model=GrantPublic, tags=["grants"])
def revoke_grant(grant_id: Id, body: GrantRevoke, session: SessionDep, principal: PrincipalDep) -> AccessGrant:
    return service.revoke_grant(session, principal, grant_id, reason=body.reason)
