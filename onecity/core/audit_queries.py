"""Reading the audit log: auditors search their area; everyone sees who read their data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import audit, audit_checkpoints, policy
from onecity.core.audit import AuditEntry, VerifyResult
from onecity.core.errors import PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind


def search(
    session: Session,
    principal: Principal,
    *,
    action: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    before_seq: int | None = None,
    limit: int = 100,
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


def checkpoints(session: Session, principal: Principal, *, since_seq: int = 0, limit: int = 1000) -> dict[str, Any]:
    """The signed checkpoints and their public keys: for auditors, to copy somewhere the database is not."""
    policy.require(principal, "core.audit.checkpoints")
    return audit_checkpoints.published(session, since_seq=since_seq, limit=limit)


#: Other names a signed-in person's data goes by in the audit log (e.g. the data hub's
#: ``person:<id>`` for a resident linked to their registry record). Parts register a resolver
#: here, so the core stays ignorant of them.
SubjectResolver = Callable[[Session, Principal], list[str]]
SUBJECT_RESOLVERS: list[SubjectResolver] = []


def register_subject_resolver(resolver: SubjectResolver) -> None:
    if resolver not in SUBJECT_RESOLVERS:
        SUBJECT_RESOLVERS.append(resolver)


def my_subjects(session: Session, principal: Principal) -> list[str]:
    """Every audit subject that names this person: their account and any registered alias."""
    subjects = [f"user:{principal.id}"]
    for resolve in SUBJECT_RESOLVERS:
        subjects.extend(s for s in resolve(session, principal) if s not in subjects)
    return subjects


def my_access_log(session: Session, principal: Principal, *, limit: int = 100) -> list[AuditEntry]:
    policy.require(principal, "core.me.access_log")
    if principal.kind is PrincipalKind.SYSTEM:
        raise PermissionDenied("API keys have no personal data")
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject.in_(my_subjects(session, principal)), AuditEntry.actor != principal.ref)
            .order_by(AuditEntry.seq.desc())
            .limit(limit)
        )
    )
