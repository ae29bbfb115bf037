"""The audit log for auditors, and "who read my data" for everyone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from onecity.api.deps import PrincipalDep, SessionDep
from onecity.api.schemas import AccessLogEntry, AuditEntryPublic, AuditVerifyPublic, CheckpointsPublic
from onecity.core import audit_queries

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=list[AuditEntryPublic])
def list_entries(
    session: SessionDep,
    principal: PrincipalDep,
    action: Annotated[str | None, Query(max_length=80, description="prefix, e.g. 'core.user'")] = None,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    subject: Annotated[str | None, Query(max_length=120)] = None,
    since: datetime | None = None,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryPublic]:
    entries = audit_queries.search(
        session, principal, action=action, actor=actor, subject=subject, since=since, before_seq=before_seq, limit=limit
    )
    return [AuditEntryPublic.model_validate(e) for e in entries]


@router.get("/audit/verify", response_model=AuditVerifyPublic)
def verify(session: SessionDep, principal: PrincipalDep) -> AuditVerifyPublic:
    result = audit_queries.verify(session, principal)
    return AuditVerifyPublic(**result.__dict__)


@router.get(
    "/audit/checkpoints",
    response_model=CheckpointsPublic,
    summary="Signed checkpoints of the audit chain, with the public keys (auditors; keep a copy elsewhere)",
)
def list_checkpoints(
    session: SessionDep,
    principal: PrincipalDep,
    since_seq: Annotated[int, Query(ge=0, description="only checkpoints of later entries")] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> CheckpointsPublic:
    return CheckpointsPublic.model_validate(
        audit_queries.checkpoints(session, principal, since_seq=since_seq, limit=limit)
    )


@router.get("/me/access-log", response_model=list[AccessLogEntry], summary="Who read my personal data, and why")
def my_access_log(
    session: SessionDep, principal: PrincipalDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[AccessLogEntry]:
    return [
        AccessLogEntry(
            at=e.at,
            by=e.actor_name,
            action=e.action,
            purpose=e.purpose,
            agency=e.detail.get("agency_name"),
            agency_en=e.detail.get("agency_name_en"),
            dataset=e.detail.get("dataset"),
            fields=e.detail.get("fields") or [],
            masked=e.detail.get("masked") or [],
            on_behalf_of=e.detail.get("agent_name"),
            relation=e.detail.get("relation_zh"),
            relation_en=e.detail.get("relation_en"),
        )
        for e in audit_queries.my_access_log(session, principal, limit=limit)
    ]
