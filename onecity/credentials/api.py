"""HTTP API of the credentials: the public check and status lists, the holder's list, staff actions.

Public by nature (no sign-in): ``POST /credentials/verify`` and
``GET /credentials/status/{list_id}``, budgeted per client address. The JWKS is served by
the pages router at ``/.well-known/jwks.json`` (outside ``/api/v1``, where verifiers look).

``POST /credentials/verify`` answers **200** for any credential text, valid or not, with
the reasons in ``errors`` (a verifier needs the why, not a status code); a body that is not
``{"credential": "<string>"}`` is a **422** problem.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.api.deps import PrincipalDep, PurposeDep, SessionDep
from onecity.api.schemas import Strict
from onecity.core.errors import NotFound
from onecity.credentials import service, statuslist
from onecity.credentials.issuer import issuer_url
from onecity.credentials.models import Credential, CredentialStatus, KeyChangeRequest, StatusList
from onecity.credentials.ratelimit import SlidingWindow
from onecity.hub.registries.models import CertificateType

router = APIRouter(tags=["credentials"])
CredentialId = Annotated[str, Path(max_length=36, description="the credential's UUID")]

#: Public checks allowed per client address and minute, per process.
PUBLIC_BUDGET = SlidingWindow(limit=600, window_seconds=60)


def _budget(request: Request) -> None:
    PUBLIC_BUDGET.hit(request.client.host if request.client else "-")


class VerifyRequest(Strict):
    credential: str = Field(
        min_length=1,
        max_length=64 * 1024,
        description="the credential as a compact JWT (vc+jwt), as the QR code or holder gives it",
    )


class VerifiedCredential(BaseModel):
    """What the check read from a credential whose signature held."""

    id: str | None
    type: list[str]
    issuer: str | None
    issuer_name: str | None
    valid_from: str | None
    valid_until: str | None
    kid: str | None


class VerifyResponse(BaseModel):
    valid: bool
    #: None when the credential could not be trusted (bad signature, unknown key, unreadable).
    status: Literal["active", "revoked", "suspended"] | None
    errors: list[str]
    credential: VerifiedCredential | None = None


class CredentialPublic(BaseModel):
    id: str
    certificate_id: int
    type_code: str
    type_name: str
    type_name_en: str
    holder_kind: str
    status: CredentialStatus
    status_reason: str | None
    status_changed_at: datetime | None
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    kid: str
    verify_url: str
    jwt: str


class IssueRequest(Strict):
    certificate_id: int = Field(ge=1, le=2**63 - 1, description="a valid certificate in the hub's registry")


class StatusChange(Strict):
    status: CredentialStatus = Field(description="revoked (final), suspended, or active to reinstate")
    reason: str = Field(min_length=1, max_length=300)


class RotateRequest(Strict):
    reason: str = Field(min_length=1, max_length=300)


class RotatedKey(BaseModel):
    kid: str
    created_at: datetime


class WithdrawalRequestPublic(BaseModel):
    """A four-eyes request to withdraw a signing key, and its decision once made."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    kid: str
    reason: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    decision: Literal["approved", "refused"] | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


RequestId = Annotated[str, Path(max_length=36, description="the withdrawal request's id")]


def verify_url(credential_id: str) -> str:
    return f"{issuer_url()}/verify/{credential_id}"


def public(session: Session, creds: list[Credential]) -> list[CredentialPublic]:
    codes = {c.type_code for c in creds}
    types = {t.code: t for t in session.scalars(select(CertificateType).where(CertificateType.code.in_(codes)))}
    out = []
    for c in creds:
        t = types.get(c.type_code)
        out.append(
            CredentialPublic(
                id=c.id,
                certificate_id=c.certificate_id,
                type_code=c.type_code,
                type_name=t.name if t else c.type_code,
                type_name_en=t.name_en if t else c.type_code,
                holder_kind=c.holder_kind,
                status=CredentialStatus(c.status),
                status_reason=c.status_reason,
                status_changed_at=c.status_changed_at,
                issued_at=c.issued_at,
                valid_from=c.valid_from,
                valid_until=c.valid_until,
                kid=c.kid,
                verify_url=verify_url(c.id),
                jwt=c.jwt,
            )
        )
    return out


def verify_response(result: Any) -> VerifyResponse:
    summary = None
    claims = result.claims
    if claims is not None:
        issuer = claims.get("issuer")
        types = claims.get("type")
        summary = VerifiedCredential(
            id=claims.get("id") if isinstance(claims.get("id"), str) else None,
            type=[t for t in types if isinstance(t, str)] if isinstance(types, list) else [],
            issuer=str(issuer.get("id")) if isinstance(issuer, dict) else issuer if isinstance(issuer, str) else None,
            issuer_name=str(issuer.get("name")) if isinstance(issuer, dict) and issuer.get("name") else None,
            valid_from=claims.get("validFrom") if isinstance(claims.get("validFrom"), str) else None,
            valid_until=claims.get("validUntil") if isinstance(claims.get("validUntil"), str) else None,
            kid=result.kid,
        )
    return VerifyResponse(
        valid=result.valid,
        status=result.status.value if result.status else None,
        errors=list(result.errors),
        credential=summary,
    )


# -- public ----------------------------------------------------------------------------------------


@router.post(
    "/credentials/verify",
    response_model=VerifyResponse,
    summary="Check a credential: signature, key, dates and status list (public)",
)
def verify(body: VerifyRequest, request: Request, session: SessionDep) -> VerifyResponse:
    _budget(request)
    return verify_response(service.verify(session, body.credential))


@router.get(
    "/credentials/status/{list_id}",
    response_class=Response,
    summary="A Bitstring Status List credential, as a signed vc+jwt (public)",
    responses={200: {"content": {"application/vc+jwt": {}}}},
)
def status_list(list_id: Annotated[int, Path(ge=1, le=10**12)], request: Request, session: SessionDep) -> Response:
    _budget(request)
    lst = session.get(StatusList, list_id)
    if lst is None:
        raise NotFound(f"no status list {list_id}")
    token = statuslist.signed_status_list(session, issuer_url(), lst, "system:credentials")
    etag = '"' + hashlib.sha256(token.encode("ascii")).hexdigest()[:32] + '"'
    headers = {"Cache-Control": f"public, max-age={statuslist.TTL_MS // 1000}", "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)  # verifiers polling a list that has not changed
    return Response(token, media_type="application/vc+jwt", headers=headers)


# -- the holder --------------------------------------------------------------------------------------


@router.get(
    "/me/credentials",
    response_model=list[CredentialPublic],
    summary="My credentials and my firms' (a resident whose account is linked to their record)",
)
def my_credentials(session: SessionDep, principal: PrincipalDep) -> list[CredentialPublic]:
    return public(session, service.my_credentials(session, principal))


@router.get(
    "/credentials/{credential_id}",
    response_model=CredentialPublic,
    summary="One credential: its holder, or staff in its area (send X-OneCity-Purpose)",
)
def get_credential(
    credential_id: CredentialId, session: SessionDep, principal: PrincipalDep, purpose: PurposeDep
) -> CredentialPublic:
    return public(session, [service.get_credential(session, principal, credential_id, purpose)])[0]


# -- staff -----------------------------------------------------------------------------------------


@router.post(
    "/credentials",
    response_model=CredentialPublic,
    status_code=201,
    summary="Issue the credential of a valid registry certificate (approvers, data stewards)",
)
def issue(body: IssueRequest, session: SessionDep, principal: PrincipalDep) -> CredentialPublic:
    return public(session, [service.issue_for_certificate(session, principal, body.certificate_id)])[0]


@router.post(
    "/credentials/{credential_id}/status",
    response_model=CredentialPublic,
    summary="Revoke (final; revokes the registry certificate too), suspend or reinstate",
)
def change_status(
    credential_id: CredentialId, body: StatusChange, session: SessionDep, principal: PrincipalDep
) -> CredentialPublic:
    return public(session, [service.change_status(session, principal, credential_id, body.status, body.reason)])[0]


@router.post(
    "/credentials/keys/{kid}/withdraw",
    response_model=WithdrawalRequestPublic,
    status_code=202,
    summary="Ask to withdraw a leaked key (city administrators); a second one must approve it (four eyes)",
)
def withdraw(
    kid: Annotated[str, Path(max_length=64)], body: RotateRequest, session: SessionDep, principal: PrincipalDep
) -> KeyChangeRequest:
    return service.request_key_withdrawal(session, principal, kid, body.reason)


@router.get(
    "/credentials/keys/withdrawals",
    response_model=list[WithdrawalRequestPublic],
    summary="Key withdrawal requests, newest first (city administrators)",
)
def withdrawal_requests(session: SessionDep, principal: PrincipalDep) -> list[KeyChangeRequest]:
    return service.key_withdrawal_requests(session, principal)


@router.post(
    "/credentials/keys/withdrawals/{request_id}/approve",
    response_model=RotatedKey,
    summary="Approve another administrator's request: the key leaves the JWKS and what it signed stops verifying",
)
def approve_withdrawal(
    request_id: RequestId, body: RotateRequest, session: SessionDep, principal: PrincipalDep
) -> RotatedKey:
    key = service.approve_key_withdrawal(session, principal, request_id, body.reason)
    return RotatedKey(kid=key.kid, created_at=key.created_at)


@router.post(
    "/credentials/keys/withdrawals/{request_id}/refuse",
    response_model=WithdrawalRequestPublic,
    summary="Refuse (or, as the one who asked, take back) a key withdrawal request; the key stays",
)
def refuse_withdrawal(
    request_id: RequestId, body: RotateRequest, session: SessionDep, principal: PrincipalDep
) -> KeyChangeRequest:
    return service.refuse_key_withdrawal(session, principal, request_id, body.reason)


@router.post(
    "/credentials/keys/rotate",
    response_model=RotatedKey,
    summary="Sign with a new Ed25519 key from now on; old keys stay in the JWKS (city administrators)",
)
def rotate(body: RotateRequest, session: SessionDep, principal: PrincipalDep) -> RotatedKey:
    key = service.rotate_signing_key(session, principal, body.reason)
    return RotatedKey(kid=key.kid, created_at=key.created_at)
