"""Reading the audit log: auditors search their area; everyone sees who read their data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import audit, policy
from onecity.core.audit import AuditEntry, VerifyResult
from onecity.core.errors import PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind


def search(
    session: Session, principal: Principal, *, action: str | None = None, actor: str | None = None,
    subject: str | None = None, since: datetime | None = None, before_seq: int | None = None, limit: int = 100,
) -> list[AuditEntry]:
    """Entries in the auditor's area, newest first; municipal auditors also see area-less entries."""
    policy.require(principal, "core.audit.read")
    stmt = select(AuditEntry)
    if not policy.in_scope(session, principal, "core.audit", None):
        stmt = stmt.where(policy.scope_clause(session, principal, "core.audit", AuditEntry.division_code))
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if subject:
        stmt = stmt.where(AuditEntry.subject == subject)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if before_seq:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    return list(session.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(limit)))


def verify(session: Session, principal: Principal) -> VerifyResult:
    """Verifying reads every entry: municipal auditors only."""
    policy.require(principal, "core.audit.verify")
    if not policy.in_scope(session, principal, "core.audit", None):
        raise PermissionDenied("verifying the whole chain is for municipal auditors")
    return audit.verify(session)


def my_access_log(session: Session, principal: Principal, *, limit: int = 100) -> list[AuditEntry]:
    policy.require(principal, "core.me.access_log")
    if principal.kind is PrincipalKind.SYSTEM:
        raise PermissionDenied("API keys have no personal data")
    return list(session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject == f"user:{principal.id}", AuditEntry.actor != principal.ref)
        .order_by(AuditEntry.seq.desc()).limit(limit)
    ))
