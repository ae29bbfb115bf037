"""Governed sharing: an agency asks for a dataset's fields, the owner decides, the grant is enforced.

Each state change is one function running the same steps — check the policy and the
state, lock the request row, save, audit (``hub.share.<verb>``), publish the event — and
its reverse sits beside it::

    pending ──approve──▶ approved ──revoke (owner)──▶ revoked
       │                    └──────withdraw (requester)──▶ withdrawn
       ├──refuse──▶ refused
       └──withdraw──▶ withdrawn

Who may do what: a *data steward* of the requesting agency asks and withdraws; a data
steward of the *owning* agency whose division covers the requested area approves, refuses
and revokes (a Xuhui steward of the public security bureau decides about Xuhui's
residents, not Pudong's). Approval creates a core :class:`AccessGrant` carrying the fields,
the fields granted in clear, the area, the purpose and the end date; withdrawing or
revoking an approved request revokes its grant at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import audit, audit_queries, clock, events, policy, transition
from onecity.core.divisions import Division, contains, scope_prefix, validate_code
from onecity.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from onecity.core.grants import AccessGrant
from onecity.core.identity.events import GRANT_CHANGED, GrantChanged
from onecity.core.identity.models import Agency, User
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.core.transition import Change
from onecity.hub.catalogue.models import Dataset
from onecity.hub.catalogue.service import dataset_by_code, fields_of
from onecity.hub.registries.identifiers import validate_resident_id
from onecity.hub.registries.models import Person
from onecity.hub.sharing.events import (
    RESIDENT_LINKED,
    SHARE_APPROVED,
    SHARE_REFUSED,
    SHARE_REQUESTED,
    SHARE_REVOKED,
    SHARE_WITHDRAWN,
    ResidentLinked,
    ShareChanged,
)
from onecity.hub.sharing.models import RequestStatus, ResidentLink, ShareRequest

R = Role
policy.register_actions(
    {
        "hub.share.request": frozenset({R.DATA_STEWARD}),
        "hub.share.withdraw": frozenset({R.DATA_STEWARD}),
        "hub.share.decide": frozenset({R.DATA_STEWARD}),
        "hub.share.list": frozenset({R.DATA_STEWARD, R.AUDITOR}),
        # staff who work cases read shared records; administrators and auditors do not need to
        "hub.dataset.read": frozenset(set(Role) - {R.ADMIN, R.AUDITOR}),
        "hub.resident.link": frozenset({R.ADMIN, R.COUNTER_CLERK}),
    }
)

#: PIPL: keep personal information no longer than the purpose needs. Three years is the
#: longest a grant may run; a longer need is a new request, decided again.
MAX_GRANT_DAYS = 3 * 366


# -- helpers ---------------------------------------------------------------------------------


def _payload(req: ShareRequest, ds: Dataset) -> ShareChanged:
    return ShareChanged(
        request_id=req.id,
        dataset_code=ds.code,
        requester_agency_id=req.requester_agency_id,
        status=str(req.status),
        grant_id=req.grant_id,
    )


def _scope_of(req: ShareRequest) -> str | None:
    return req.scope_division_code


#: A sharing request's states, for the transition helper (:mod:`onecity.core.transition`).
REQUESTS = transition.Machine(
    ShareRequest,
    object_type="share_request",
    noun="sharing.request.noun",
    states="status.",
    label="request",
    division=_scope_of,
)


def _dataset(session: Session, req: ShareRequest) -> Dataset:
    ds = session.get(Dataset, req.dataset_id)
    assert ds is not None  # foreign key
    return ds


def _owner_steward(session: Session, principal: Principal, req: ShareRequest) -> None:
    _require_owner_steward(principal, _dataset(session, req), req.scope_division_code)


def _requester_steward(session: Session, principal: Principal, req: ShareRequest) -> None:
    if principal.agency_id != req.requester_agency_id:
        raise PermissionDenied("only the requesting agency's data stewards may withdraw its request")


def _begin(
    session: Session, principal: Principal, request_id: str, *allowed: RequestStatus, doing: str, owner: bool = True
) -> tuple[Change[ShareRequest], Dataset]:
    """Policy → lock → the deciding (or requesting) agency's steward → state: a step of one request."""
    change = transition.begin(
        session,
        principal,
        REQUESTS,
        request_id,
        action="hub.share.decide" if owner else "hub.share.withdraw",
        guard=_owner_steward if owner else _requester_steward,
        allowed=allowed,
        missing=f"no sharing request {request_id}",
        doing=doing,
    )
    return change, _dataset(session, change.row)


def _require_owner_steward(principal: Principal, ds: Dataset, scope_division_code: str) -> None:
    policy.require(principal, "hub.share.decide")
    if principal.agency_id != ds.owner_agency_id:
        raise PermissionDenied(f"only the data stewards of {ds.code}'s owning agency decide who may read it")
    if principal.division_code is None or not contains(principal.division_code, scope_division_code):
        raise PermissionDenied(
            f"the request covers division {scope_division_code}, outside your area "
            f"({principal.division_code}); a steward of your agency there decides"
        )


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput("valid_until needs a time zone, e.g. 2027-06-30T23:59:59+08:00")
    return value


def is_live(grant: AccessGrant, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return grant.revoked_at is None and (grant.valid_until is None or grant.valid_until > now)


def _revoke_grant(session: Session, principal: Principal, req: ShareRequest, reason: str) -> None:
    if req.grant_id is None:
        return
    grant = session.get(AccessGrant, req.grant_id, with_for_update=True)
    if grant is not None and grant.revoked_at is None:
        grant.revoked_at = clock.now()
        events.publish(
            session,
            GRANT_CHANGED,
            GrantChanged(
                grant_id=grant.id, resource=grant.resource, scope_division_code=grant.scope_division_code, revoked=True
            ),
            principal=principal,
            reason=reason,
        )


# -- the transitions -------------------------------------------------------------------------


def request_share(
    session: Session,
    principal: Principal,
    *,
    dataset_code: str,
    fields: list[str],
    unmasked_fields: list[str],
    purpose: str,
    legal_basis: str,
    scope_division_code: str,
    valid_until: datetime,
) -> ShareRequest:
    """Ask for some of a dataset's fields, some of them in clear, for one purpose, area and period."""
    policy.require(principal, "hub.share.request")
    if principal.agency_id is None:
        raise PermissionDenied("sharing requests are made by an agency; your account belongs to none")
    ds = dataset_by_code(session, dataset_code)
    if ds.owner_agency_id == principal.agency_id:
        raise InvalidInput(f"your agency owns {ds.code}: its staff read it within their own area without a grant")
    known = {f.name for f in fields_of(session, [ds.id])[ds.id]}
    fields = list(dict.fromkeys(f.strip() for f in fields))
    unmasked_fields = list(dict.fromkeys(f.strip() for f in unmasked_fields))
    if not fields:
        raise InvalidInput("name the fields you need: PIPL allows only what the purpose needs")
    if unknown := [f for f in fields if f not in known]:
        raise InvalidInput(f"{ds.code} has no field(s) {unknown}; it has {sorted(known)}")
    if extra := [f for f in unmasked_fields if f not in fields]:
        raise InvalidInput(f"unmasked fields must be among the requested fields; {extra} are not")
    purpose, legal_basis = purpose.strip(), legal_basis.strip()
    if len(purpose) < 3 or len(purpose) > 200:
        raise InvalidInput("state the purpose in 3 to 200 characters, e.g. 'minimum living allowance review'")
    if len(legal_basis) < 3:
        raise InvalidInput("cite the legal basis, e.g. 'Social Assistance Interim Measures art. 11'")
    validate_code(scope_division_code)
    if session.get(Division, scope_division_code) is None:
        raise InvalidInput(f"division {scope_division_code} does not exist")
    if not contains(ds.division_code, scope_division_code):
        raise InvalidInput(f"{ds.code} covers {ds.division_code}; {scope_division_code} lies outside it")
    now = clock.now()
    valid_until = _aware(valid_until)
    if valid_until <= now:
        raise InvalidInput("valid_until must be in the future")
    if valid_until > now + timedelta(days=MAX_GRANT_DAYS):
        raise InvalidInput("a grant runs for at most three years; ask again when it ends")
    req = ShareRequest(
        dataset_id=ds.id,
        requester_agency_id=principal.agency_id,
        requested_by=principal.ref,
        scope_division_code=scope_division_code,
        fields=fields,
        unmasked_fields=unmasked_fields,
        purpose=purpose,
        legal_basis=legal_basis,
        valid_until=valid_until,
        status=RequestStatus.PENDING,
    )
    session.add(req)
    session.flush()
    audit.record(
        session,
        principal,
        "hub.share.requested",
        object_type="share_request",
        object_id=req.id,
        purpose=purpose,
        division_code=scope_division_code,
        detail={
            "dataset": ds.code,
            "fields": fields,
            "unmasked": unmasked_fields,
            "valid_until": valid_until.isoformat(),
        },
    )
    events.publish(session, SHARE_REQUESTED, _payload(req, ds), principal=principal, reason=purpose)
    return req


def approve_request(session: Session, principal: Principal, request_id: str, *, reason: str = "") -> ShareRequest:
    """Grant what was asked: a live :class:`AccessGrant` for the requester, enforced on every read."""
    change, ds = _begin(session, principal, request_id, RequestStatus.PENDING, doing="approved")
    req, now = change.row, clock.now()
    if req.valid_until <= now:
        raise InvalidInput("the period asked for has already ended; refuse the request instead")
    grant = AccessGrant(
        resource=ds.code,
        scope_division_code=req.scope_division_code,
        grantee_agency_id=req.requester_agency_id,
        grantee_division_code=None,
        fields=list(req.fields),
        unmasked_fields=list(req.unmasked_fields),
        purpose=req.purpose,
        granted_by=principal.ref,
        valid_until=req.valid_until,
        revoked_at=None,
    )
    session.add(grant)
    session.flush()
    req.status, req.grant_id = RequestStatus.APPROVED, grant.id
    req.decided_by, req.decided_at, req.decision_reason = principal.ref, now, reason.strip() or None
    change.done(
        "hub.share.approved",
        SHARE_APPROVED,
        _payload(req, ds),
        reason=reason or req.purpose,
        purpose=req.purpose,
        detail={
            "dataset": ds.code,
            "grant": grant.id,
            "fields": req.fields,
            "unmasked": req.unmasked_fields,
            "reason": req.decision_reason,
        },
    )
    events.publish(
        session,
        GRANT_CHANGED,
        GrantChanged(
            grant_id=grant.id, resource=grant.resource, scope_division_code=grant.scope_division_code, revoked=False
        ),
        principal=principal,
        reason=req.purpose,
    )
    return req


def refuse_request(session: Session, principal: Principal, request_id: str, *, reason: str) -> ShareRequest:
    """Say no, and why (the requester reads the reason)."""
    change, ds = _begin(session, principal, request_id, RequestStatus.PENDING, doing="refused")
    req = change.row
    if len(reason.strip()) < 3:
        raise InvalidInput("say why the request is refused, so the requester can act on it")
    req.status, req.decided_by, req.decided_at = RequestStatus.REFUSED, principal.ref, clock.now()
    req.decision_reason = reason.strip()
    change.done(
        "hub.share.refused",
        SHARE_REFUSED,
        _payload(req, ds),
        reason=req.decision_reason,
        purpose=req.purpose,
        detail={"dataset": ds.code, "reason": req.decision_reason},
    )
    return req


def withdraw_request(session: Session, principal: Principal, request_id: str, *, reason: str = "") -> ShareRequest:
    """The requester no longer needs it: a pending request ends, an approved one's grant is revoked."""
    change, ds = _begin(
        session, principal, request_id, RequestStatus.PENDING, RequestStatus.APPROVED, doing="withdrawn", owner=False
    )
    req = change.row
    why = reason.strip() or "withdrawn by the requester"
    _revoke_grant(session, principal, req, why)
    req.status = RequestStatus.WITHDRAWN
    change.done(
        "hub.share.withdrawn",
        SHARE_WITHDRAWN,
        _payload(req, ds),
        reason=why,
        purpose=req.purpose,
        detail={"dataset": ds.code, "grant": req.grant_id, "reason": why},
    )
    return req


def revoke_request(session: Session, principal: Principal, request_id: str, *, reason: str) -> ShareRequest:
    """The owner ends an approved grant before its end date (misuse, purpose fulfilled, law changed)."""
    change, ds = _begin(session, principal, request_id, RequestStatus.APPROVED, doing="revoked")
    req = change.row
    if len(reason.strip()) < 3:
        raise InvalidInput("say why the grant is revoked")
    _revoke_grant(session, principal, req, reason.strip())
    req.status, req.decision_reason = RequestStatus.REVOKED, reason.strip()
    change.done(
        "hub.share.revoked",
        SHARE_REVOKED,
        _payload(req, ds),
        reason=req.decision_reason,
        purpose=req.purpose,
        detail={"dataset": ds.code, "grant": req.grant_id, "reason": req.decision_reason},
    )
    return req


# -- reading requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    """A request with what a person needs to read it: dataset, agencies, and whether its grant is live."""

    request: ShareRequest
    dataset: Dataset
    requester: Agency
    owner: Agency
    grant: AccessGrant | None

    @property
    def live(self) -> bool:
        return self.grant is not None and is_live(self.grant)


def _views(session: Session, requests: list[ShareRequest]) -> list[RequestView]:
    if not requests:
        return []
    datasets = {
        d.id: d for d in session.scalars(select(Dataset).where(Dataset.id.in_({r.dataset_id for r in requests})))
    }
    agency_ids = {r.requester_agency_id for r in requests} | {d.owner_agency_id for d in datasets.values()}
    agencies = {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(agency_ids)))}
    grant_ids = {r.grant_id for r in requests if r.grant_id}
    grants = (
        {g.id: g for g in session.scalars(select(AccessGrant).where(AccessGrant.id.in_(grant_ids)))}
        if grant_ids
        else {}
    )
    return [
        RequestView(
            r,
            datasets[r.dataset_id],
            agencies[r.requester_agency_id],
            agencies[datasets[r.dataset_id].owner_agency_id],
            grants.get(r.grant_id or ""),
        )
        for r in requests
    ]


def list_requests(
    session: Session, principal: Principal, *, box: str, status: RequestStatus | None = None, limit: int = 100
) -> list[RequestView]:
    """``outgoing``: my agency's requests; ``incoming``: requests for my agency's datasets in my area."""
    policy.require(principal, "hub.share.list")
    if principal.agency_id is None or principal.division_code is None:
        return []
    stmt = select(ShareRequest)
    if box == "outgoing":
        stmt = stmt.where(ShareRequest.requester_agency_id == principal.agency_id)
    elif box == "incoming":
        stmt = stmt.join(Dataset, Dataset.id == ShareRequest.dataset_id).where(
            Dataset.owner_agency_id == principal.agency_id,
            ShareRequest.scope_division_code.startswith(scope_prefix(principal.division_code), autoescape=True),
        )
    else:
        raise InvalidInput("box is 'outgoing' (my agency's requests) or 'incoming' (requests to decide)")
    if status is not None:
        stmt = stmt.where(ShareRequest.status == status)
    stmt = stmt.order_by(ShareRequest.created_at.desc(), ShareRequest.id).limit(max(1, min(limit, 500)))
    return _views(session, list(session.scalars(stmt)))


def get_request(session: Session, principal: Principal, request_id: str) -> RequestView:
    """One request, for its requester's agency and the owner's stewards."""
    policy.require(principal, "hub.share.list")
    req = session.get(ShareRequest, request_id)
    if req is None:
        raise NotFound(f"no sharing request {request_id}")
    view = _views(session, [req])[0]
    if principal.agency_id not in (req.requester_agency_id, view.dataset.owner_agency_id):
        raise PermissionDenied("a sharing request is visible to the requesting and the owning agency only")
    return view


# -- residents and their records -------------------------------------------------------------


def link_resident(session: Session, principal: Principal, *, username: str, id_number: str) -> ResidentLink:
    """Tie a citizen's account to their person record, once their identity was checked in person.

    A counter clerk (or an administrator) does this after seeing the ID card: from then on
    "who read my data" shows every read of the person's registry record too. Only
    citizens are linked, one account per person.
    """
    policy.require(principal, "hub.resident.link")
    id_number = id_number.strip().upper()
    validate_resident_id(id_number)  # says what is wrong: format, date or check character
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user {username!r}")
    if user.kind != PrincipalKind.CITIZEN:
        raise InvalidInput("only citizens' accounts are linked to a person record")
    person = session.scalar(select(Person).where(Person.id_number == id_number))
    if person is None:
        raise NotFound("no person with that ID number in the population registry")
    policy.require_in_scope(session, principal, "hub.person", person.division_code)
    if session.get(ResidentLink, user.id) is not None:
        raise Conflict(f"account {user.username} is already linked to a person record")
    if session.scalar(select(ResidentLink.user_id).where(ResidentLink.person_id == person.id)):
        raise Conflict("that person is already linked to another account")
    link = ResidentLink(user_id=user.id, person_id=person.id, linked_by=principal.ref)
    session.add(link)
    session.flush()
    audit.record(
        session,
        principal,
        "hub.resident.linked",
        object_type="user",
        object_id=user.id,
        subject=f"person:{person.id}",
        division_code=person.division_code,
        detail={"user": f"user:{user.id}"},
    )
    events.publish(
        session,
        RESIDENT_LINKED,
        ResidentLinked(user_id=user.id, person_id=person.id),
        principal=principal,
        reason="identity checked",
    )
    return link


def linked_account(session: Session, person_id: int) -> str | None:
    """The account linked to the registry person ``person_id`` (the manifest's ``accounts``), or None."""
    return session.scalar(select(ResidentLink.user_id).where(ResidentLink.person_id == person_id))


def person_subjects(session: Session, principal: Principal) -> list[str]:
    """The ``person:<id>`` a signed-in resident is, for "who read my data"."""
    if principal.kind is not PrincipalKind.CITIZEN:
        return []
    pid = session.scalar(select(ResidentLink.person_id).where(ResidentLink.user_id == principal.id))
    return [f"person:{pid}"] if pid is not None else []


audit_queries.register_subject_resolver(person_subjects)
