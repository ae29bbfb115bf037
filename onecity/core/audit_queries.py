"""Reading the audit log: auditors search their area; everyone sees who read their data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from onecity.core import audit, audit_checkpoints, policy
from onecity.core.audit import AuditEntry, VerifyResult
from onecity.core.errors import PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind


class Filters(TypedDict, total=False):
    """What a search narrows by; every one optional (``None`` or absent: no condition)."""

    action: str | None  #: a prefix: ``core.user`` finds every user action
    actor: str | None
    subject: str | None
    since: datetime | None  #: inclusive
    until: datetime | None  #: exclusive
    actor_name: str | None  #: a part of the name the actor had
    object_type: str | None
    object_id: str | None


#: The most entries one export holds (a larger one is cut here; narrow the search).
EXPORT_LIMIT = 200_000


def search(
    session: Session,
    principal: Principal,
    *,
    before_seq: int | None = None,
    limit: int = 100,
    **filters: Unpack[Filters],
) -> list[AuditEntry]:
    """Entries in the auditor's area, newest first; municipal auditors also see area-less entries.

    ``action`` is a prefix (``core.user`` finds every user action), ``actor_name`` a part of
    the name the actor had, ``since`` inclusive and ``until`` exclusive."""
    policy.require(principal, "core.audit.read")
    stmt = _filtered(session, principal, **filters)
    if before_seq:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    return list(session.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(limit)))


def export(
    session: Session, principal: Principal, *, limit: int = EXPORT_LIMIT, **filters: Unpack[Filters]
) -> Iterator[AuditEntry]:
    """The entries a search finds (newest first, at most ``limit``), for a CSV; the export is audited.

    Filters are :func:`search`'s. Rows are read in batches, so a large export does not sit in
    memory; the caller's transaction stays a read (the audit entry of the export is written
    first, in it)."""
    policy.require(principal, "core.audit.export")
    audit.record(
        session,
        principal,
        "core.audit.exported",
        object_type="audit",
        detail={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in filters.items() if v},
    )
    stmt = _filtered(session, principal, **filters).order_by(AuditEntry.seq.desc()).limit(limit)
    return iter(session.scalars(stmt.execution_options(yield_per=1000)))


def _filtered(session: Session, principal: Principal, **filters: Unpack[Filters]) -> Select[AuditEntry]:
    action, actor, subject = filters.get("action"), filters.get("actor"), filters.get("subject")
    since, until, actor_name = filters.get("since"), filters.get("until"), filters.get("actor_name")
    object_type, object_id = filters.get("object_type"), filters.get("object_id")
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
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    if actor_name:
        stmt = stmt.where(AuditEntry.actor_name.contains(actor_name, autoescape=True))
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    return stmt


def may_verify(session: Session, principal: Principal) -> None:
    """Verifying reads every entry: municipal auditors only."""
    policy.require(principal, "core.audit.verify")
    if not policy.in_scope(session, principal, "core.audit", None):
        raise PermissionDenied("verifying the whole chain is for municipal auditors")


def verify(session: Session, principal: Principal, progress: audit.Progress | None = None) -> VerifyResult:
    """Walk the whole chain (municipal auditors only); ``progress(done, total)`` after each batch."""
    may_verify(session, principal)
    return audit.verify(session, progress=progress)


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
