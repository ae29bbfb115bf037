"""Service functions for verifiable e-certificates: what other parts (government services) call.

* :func:`issue_for_certificate` — sign a credential for a certificate already in the hub's
  registry (the services part issues the certificate with
  :func:`onecity.hub.registries.service.issue_certificate`, then calls this);
* :func:`change_status` — revoke (which revokes the registry certificate too), suspend,
  reinstate;
* :func:`revoke_for_certificate` — what the consumer of the hub's ``CertificateRevoked`` runs,
  so a certificate revoked in the registry never keeps a credential that checks as active;
* :func:`verify` — the public check; :func:`rotate_signing_key`, reads and the export.

Every state change runs the platform's sequence in the caller's transaction: policy → lock →
area → state check → save → audit from/to → event (outbox); a credential's status changes
through the transition helper (:mod:`onecity.core.transition`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from pydantic import BaseModel
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from onecity.core import audit, clock, events, policy, transition
from onecity.core.divisions import MUNICIPALITY_CODE
from onecity.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.core.transition import Change
from onecity.credentials import keys, statuslist, vc
from onecity.credentials.events import (
    CREDENTIAL_ISSUED,
    CREDENTIAL_STATUS_CHANGED,
    KEY_ROTATED,
    KEY_WITHDRAWAL_APPROVED,
    KEY_WITHDRAWAL_REFUSED,
    KEY_WITHDRAWAL_REQUESTED,
    KEY_WITHDRAWN,
    CredentialIssued,
    CredentialStatusChanged,
    SigningKeyChanged,
)
from onecity.credentials.issuer import issuer_url
from onecity.credentials.models import Credential, CredentialStatus, KeyChangeRequest, SigningKey, StatusPurpose
from onecity.hub.registries import relations
from onecity.hub.registries.models import (
    Certificate,
    CertificateStatus,
    CertificateType,
    HolderKind,
    LegalPerson,
    Person,
)
from onecity.hub.registries.service import revoke_certificate
from onecity.hub.sharing.models import ResidentLink

R = Role
_STAFF_READERS = frozenset(
    {R.COUNTER_CLERK, R.REVIEWER, R.APPROVER, R.INSPECTOR, R.DATA_STEWARD, R.DISPATCHER, R.OPERATOR}
)
_ISSUERS = frozenset({R.APPROVER, R.DATA_STEWARD})

policy.register_actions(
    {
        "credentials.credential.issue": _ISSUERS,
        "credentials.credential.revoke": _ISSUERS,
        "credentials.credential.suspend": _ISSUERS,
        "credentials.credential.reinstate": _ISSUERS,
        "credentials.credential.read": _STAFF_READERS,
        "credentials.key.rotate": frozenset({R.ADMIN}),
        "credentials.key.withdraw": frozenset({R.ADMIN}),
        "credentials.key.withdraw.approve": frozenset({R.ADMIN}),
        "credentials.key.withdraw.refuse": frozenset({R.ADMIN}),
        "credentials.key.withdraw.list": frozenset({R.ADMIN}),
        "credentials.export": frozenset({R.ADMIN}),
    }
)

#: What each target status asks of the principal, and the audit action it writes.
_TRANSITIONS: dict[CredentialStatus, tuple[str, str]] = {
    CredentialStatus.REVOKED: ("credentials.credential.revoke", "credentials.credential.revoked"),
    CredentialStatus.SUSPENDED: ("credentials.credential.suspend", "credentials.credential.suspended"),
    CredentialStatus.ACTIVE: ("credentials.credential.reinstate", "credentials.credential.reinstated"),
}


def _subject(holder_kind: str, holder_id: int) -> str | None:
    return f"person:{holder_id}" if holder_kind == HolderKind.PERSON else None


def _reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("say why (reason): it is kept in the audit log and shown to the holder")
    return reason.strip()[:300]


# -- issuing ---------------------------------------------------------------------------------------


def issue_for_certificate(session: Session, principal: Principal, certificate_id: int) -> Credential:
    """Sign a W3C VC 2.0 ``vc+jwt`` for a valid registry certificate and keep it.

    One live credential per certificate: a second call while one is active or suspended is
    a :class:`Conflict` naming it (revoke it first to reissue).
    """
    policy.require(principal, "credentials.credential.issue")
    cert = session.scalar(select(Certificate).where(Certificate.id == certificate_id).with_for_update())
    if cert is None:
        raise NotFound(f"certificate {certificate_id} is not in the registry")
    policy.require_in_scope(session, principal, "hub.certificate", cert.division_code)
    if cert.status != CertificateStatus.VALID:
        raise Conflict(f"certificate {cert.number} is {cert.status}; only a valid certificate gets a credential")
    today = clock.local(clock.now()).date()
    if cert.valid_until is not None and cert.valid_until < today:
        raise Conflict(f"certificate {cert.number} expired on {cert.valid_until}; renew it first")
    live = session.scalar(
        select(Credential.id).where(Credential.certificate_id == cert.id, Credential.status != CredentialStatus.REVOKED)
    )
    if live is not None:
        raise Conflict(f"certificate {cert.number} already has credential {live}; revoke it first to reissue")
    ctype = session.get(CertificateType, cert.type_code)
    if ctype is None:  # the foreign key makes this a data fault
        raise Conflict(f"certificate type {cert.type_code} is missing from the registry")

    issuer = issuer_url()
    credential_id = str(uuid.uuid4())
    revocation_list, revocation_index = statuslist.allocate(session, StatusPurpose.REVOCATION)
    suspension_list, suspension_index = statuslist.allocate(session, StatusPurpose.SUSPENSION)
    entries = [
        vc.status_entry(issuer, revocation_list, revocation_index),
        vc.status_entry(issuer, suspension_list, suspension_index),
    ]
    now = clock.now()
    claims, valid_from, valid_until = vc.build(cert, ctype, credential_id, issuer, entries, now)
    signer = keys.current_signer(session, principal.ref)
    token = keys.sign_compact(signer, {"typ": vc.TYP, "cty": "vc"}, claims)
    credential = Credential(
        id=credential_id,
        certificate_id=cert.id,
        type_code=cert.type_code,
        holder_kind=str(cert.holder_kind),
        holder_id=cert.holder_id,
        division_code=cert.division_code,
        kid=signer.kid,
        jwt=token,
        status=CredentialStatus.ACTIVE,
        revocation_list_id=revocation_list.id,
        revocation_index=revocation_index,
        suspension_list_id=suspension_list.id,
        suspension_index=suspension_index,
        valid_from=valid_from,
        valid_until=valid_until,
        issued_at=now,
        issued_by=principal.ref,
        status_changed_at=None,
        status_reason=None,
    )
    session.add(credential)
    session.flush()
    audit.record(
        session,
        principal,
        "credentials.credential.issued",
        object_type="credential",
        object_id=credential_id,
        subject=_subject(cert.holder_kind, cert.holder_id),
        division_code=cert.division_code,
        detail={"certificate": cert.id, "number": cert.number, "type": cert.type_code, "kid": signer.kid},
    )
    events.publish(
        session,
        CREDENTIAL_ISSUED,
        CredentialIssued(
            credential_id=credential_id,
            certificate_id=cert.id,
            type_code=cert.type_code,
            holder_kind=str(cert.holder_kind),
            holder_id=cert.holder_id,
            division_code=cert.division_code,
            kid=signer.kid,
        ),
        principal=principal,
        reason="credential issued",
    )
    return credential


# -- status ----------------------------------------------------------------------------------------


def _holder(cred: Credential) -> str | None:
    return _subject(cred.holder_kind, cred.holder_id)


CREDENTIALS = transition.Machine(
    Credential,
    object_type="credential",
    noun="credentials.credential.noun",
    states="credentials.status.",
    label="credential",
    subject=_holder,
)
#: The statuses each target status may be reached from: revocation is final, suspension reversible.
_FROM: dict[CredentialStatus, tuple[CredentialStatus, ...]] = {
    CredentialStatus.REVOKED: (CredentialStatus.ACTIVE, CredentialStatus.SUSPENDED),
    CredentialStatus.SUSPENDED: (CredentialStatus.ACTIVE,),
    CredentialStatus.ACTIVE: (CredentialStatus.SUSPENDED,),
}
_in_area = transition.in_area("hub.certificate")


def _apply(change: Change[Credential], target: CredentialStatus, reason: str) -> None:
    """Flip the status-list bits and the row, audit and announce (the caller checked the policy)."""
    session, cred = change.session, change.row
    previous = CredentialStatus(cred.status)
    if target is CredentialStatus.REVOKED:
        statuslist.set_bit(session, cred.revocation_list_id, cred.revocation_index, True)
        # a revoked credential is no longer suspended: revocation is the final word
        statuslist.set_bit(session, cred.suspension_list_id, cred.suspension_index, False)
    else:
        statuslist.set_bit(
            session, cred.suspension_list_id, cred.suspension_index, target is CredentialStatus.SUSPENDED
        )
    cred.status = target
    cred.status_changed_at = clock.now()
    cred.status_reason = reason
    change.done(
        _TRANSITIONS[target][1],
        CREDENTIAL_STATUS_CHANGED,
        CredentialStatusChanged(
            credential_id=cred.id,
            certificate_id=cred.certificate_id,
            status=target.value,
            previous=previous.value,
            division_code=cred.division_code,
            reason=reason,
        ),
        reason=reason,
        detail={"certificate": cred.certificate_id, "reason": reason},
    )


def change_status(
    session: Session, principal: Principal, credential_id: str, status: CredentialStatus | str, reason: str
) -> Credential:
    """Revoke, suspend or reinstate (status ``active``) a credential.

    Revocation is final and also revokes the registry certificate (if it is not already), so
    the next application no longer finds it. Suspension is reversible; reinstating applies
    to a suspended credential only.
    """
    try:
        target = CredentialStatus(status)
    except ValueError as err:
        raise InvalidInput(f"status must be one of {', '.join(s.value for s in CredentialStatus)}") from err
    action = _TRANSITIONS[target][0]
    policy.require(principal, action)
    why = _reason(reason)
    change = transition.begin(
        session,
        principal,
        CREDENTIALS,
        credential_id,
        action=action,
        guard=_in_area,
        allowed=_FROM[target],
        missing=f"no credential {credential_id}",
        doing=_TRANSITIONS[target][1].rsplit(".", 1)[1]
        + (" (revocation is final)" if target is CredentialStatus.REVOKED else ""),
    )
    cred = change.row
    _apply(change, target, why)
    if target is CredentialStatus.REVOKED:
        cert = session.get(Certificate, cred.certificate_id)
        if cert is not None and cert.status != CertificateStatus.REVOKED:
            revoke_certificate(session, principal, cert.id, f"credential revoked: {why}")
    return cred


def revoke_for_certificate(session: Session, principal: Principal, certificate_id: int, reason: str) -> list[str]:
    """Revoke every live credential of a certificate the registry has revoked; returns their ids.

    Idempotent: credentials already revoked (say, by :func:`change_status`, whose registry
    revocation is what brings us here) are left alone.
    """
    policy.require(principal, "credentials.credential.revoke")
    why = _reason(reason)
    creds = list(
        session.scalars(
            select(Credential)
            .where(Credential.certificate_id == certificate_id, Credential.status != CredentialStatus.REVOKED)
            .order_by(Credential.issued_at)
            .with_for_update()
        )
    )
    for cred in creds:
        _in_area(session, principal, cred)
        _apply(transition.locked(session, principal, CREDENTIALS, cred), CredentialStatus.REVOKED, why)
    return [c.id for c in creds]


# -- keys ------------------------------------------------------------------------------------------


#: How long a withdrawal request waits for the second administrator.
WITHDRAWAL_REQUEST_HOURS = 24


def _require_city_admin(principal: Principal, action: str) -> None:
    """The city's signing keys belong to people who administer the city, not a district or a key.

    One key signs every credential in the city: a district administrator's reach is their
    district, and an API key is no person who can be held to a four-eyes decision.
    """
    policy.require(principal, action)
    if principal.api_key:
        raise PermissionDenied("the city's signing keys are changed by people, not by API keys")
    if principal.division_code != MUNICIPALITY_CODE:
        raise PermissionDenied(
            f"the city's signing keys belong to city-level administrators; you administer {principal.division_code}"
        )


def _key_event(session: Session, principal: Principal, kind: Any, payload: SigningKeyChanged) -> None:
    events.publish(session, kind, payload, principal=principal, reason=payload.reason)


def rotate_signing_key(session: Session, principal: Principal, reason: str) -> SigningKey:
    """Start signing with a new key; the old one stays in the JWKS so what it signed still verifies.

    A city administrator's decision alone (no second person): nothing stops verifying, so a
    rotation cannot hurt the holders, and it is the first thing to do when a leak is suspected,
    before a colleague can be reached to approve the withdrawal.
    """
    _require_city_admin(principal, "credentials.key.rotate")
    why = _reason(reason)
    new, old = keys.rotate(session, principal.ref)
    audit.record(
        session,
        principal,
        "credentials.key.rotated",
        object_type="signing_key",
        object_id=new.kid,
        purpose=why,
        detail={"retired": old.kid if old else None, "reason": why},
    )
    _key_event(
        session,
        principal,
        KEY_ROTATED,
        SigningKeyChanged(kid=new.kid, step="rotated", request_id=None, by=principal.ref, reason=why),
    )
    return new


def _withdraw_now(
    session: Session, principal: Principal, kid: str, why: str, request: KeyChangeRequest | None
) -> SigningKey:
    withdrawn, new = keys.withdraw(session, kid, why, principal.ref)
    affected = session.scalar(select(func.count()).select_from(Credential).where(Credential.kid == kid)) or 0
    detail: dict[str, Any] = {
        "reason": why,
        "credentials_signed": int(affected),
        "new_key": new.kid if new else None,
    }
    if request is not None:
        detail |= {"request": request.id, "requested_by": request.requested_by, "approved_by": principal.ref}
    else:
        detail["four_eyes"] = "waived: operator at the server (onecity credentials withdraw-key)"
    audit.record(
        session,
        principal,
        "credentials.key.withdrawn",
        object_type="signing_key",
        object_id=kid,
        purpose=why,
        detail=detail,
    )
    _key_event(
        session,
        principal,
        KEY_WITHDRAWN,
        SigningKeyChanged(
            kid=kid, step="withdrawn", request_id=request.id if request else None, by=principal.ref, reason=why
        ),
    )
    return withdrawn


def withdraw_signing_key(session: Session, principal: Principal, kid: str, reason: str) -> SigningKey:
    """Withdraw a leaked key at once: only the operator at the server (``onecity credentials withdraw-key``).

    Whoever runs commands on the server already holds the platform secret and the database,
    so a second person's approval could not stop them; people signed in to the platform go
    through :func:`request_key_withdrawal` and :func:`approve_key_withdrawal` instead.
    The holders of the credentials it signed need them issued again (revoke and issue): list
    them with ``select(Credential).where(Credential.kid == kid)``. If the key was signing, a
    new one takes over.
    """
    _require_city_admin(principal, "credentials.key.withdraw")
    if not principal.is_machine:
        raise PermissionDenied(
            "withdrawing a signing key needs a second city administrator's approval: "
            "ask for it (POST /api/v1/credentials/keys/{kid}/withdraw) and have a colleague approve it"
        )
    return _withdraw_now(session, principal, kid, _reason(reason), None)


def request_key_withdrawal(session: Session, principal: Principal, kid: str, reason: str) -> KeyChangeRequest:
    """Ask to withdraw a signing key; nothing changes until a different city administrator approves."""
    _require_city_admin(principal, "credentials.key.withdraw")
    why = _reason(reason)
    row = session.get(SigningKey, kid)
    if row is None:
        raise NotFound(f"no signing key {kid}")
    if row.withdrawn_at is not None:
        raise Conflict(f"key {kid} was already withdrawn at {row.withdrawn_at}")
    now = clock.now()
    pending = session.scalar(
        select(KeyChangeRequest).where(
            KeyChangeRequest.kid == kid,
            KeyChangeRequest.decision.is_(None),
            KeyChangeRequest.expires_at > now,
        )
    )
    if pending is not None:
        raise Conflict(
            f"a withdrawal of key {kid} is already waiting for approval (request {pending.id}, "
            f"asked by {pending.requested_by}); approve or refuse that one"
        )
    request = KeyChangeRequest(
        action="withdraw",
        kid=kid,
        reason=why,
        requested_by=principal.ref,
        requested_at=now,
        expires_at=now + timedelta(hours=WITHDRAWAL_REQUEST_HOURS),
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        principal,
        "credentials.key.withdrawal_requested",
        object_type="signing_key",
        object_id=kid,
        purpose=why,
        detail={"request": request.id, "reason": why},
    )
    _key_event(
        session,
        principal,
        KEY_WITHDRAWAL_REQUESTED,
        SigningKeyChanged(kid=kid, step="requested", request_id=request.id, by=principal.ref, reason=why),
    )
    return request


def _request_state(request: KeyChangeRequest) -> str:
    if request.decision is not None:
        return request.decision
    return "expired" if request.expires_at <= clock.now() else "pending"


def _request_kid(request: KeyChangeRequest) -> str:
    return request.kid


def _no_division(request: KeyChangeRequest) -> str | None:
    return None  # the city's keys: no division of their own


#: A withdrawal request's states, for the transition helper; audited against the key it is about.
KEY_REQUESTS = transition.Machine(
    KeyChangeRequest,
    object_type="signing_key",
    noun="credentials.key_request.noun",
    states="credentials.key_request.",
    label="request",
    state=_request_state,
    ident=_request_kid,
    division=_no_division,
)


def _pending(session: Session, principal: Principal, request_id: str) -> Change[KeyChangeRequest]:
    """Lock a request still waiting for its second pair of eyes (the caller checked the policy first)."""
    return transition.begin(
        session,
        principal,
        KEY_REQUESTS,
        request_id,
        action=None,
        allowed=("pending",),
        missing=f"no key withdrawal request {request_id}",
        doing="decided",
    )


def approve_key_withdrawal(session: Session, principal: Principal, request_id: str, reason: str) -> SigningKey:
    """The second pair of eyes: a different city administrator approves, and the key is withdrawn."""
    _require_city_admin(principal, "credentials.key.withdraw.approve")
    why = _reason(reason)
    change = _pending(session, principal, request_id)
    request = change.row
    if request.requested_by == principal.ref:
        raise PermissionDenied("four eyes: a different city administrator must approve a withdrawal you asked for")
    request.decision, request.decided_by, request.decided_at = "approved", principal.ref, clock.now()
    request.decision_reason = why
    change.done(
        "credentials.key.withdrawal_approved",
        KEY_WITHDRAWAL_APPROVED,
        SigningKeyChanged(kid=request.kid, step="approved", request_id=request.id, by=principal.ref, reason=why),
        reason=why,
        purpose=why,
        detail={"request": request.id, "requested_by": request.requested_by, "request_reason": request.reason},
    )
    return _withdraw_now(session, principal, request.kid, request.reason, request)


def refuse_key_withdrawal(session: Session, principal: Principal, request_id: str, reason: str) -> KeyChangeRequest:
    """Turn a withdrawal request down (or, by the one who asked, take it back); the key stays."""
    _require_city_admin(principal, "credentials.key.withdraw.refuse")
    why = _reason(reason)
    change = _pending(session, principal, request_id)
    request = change.row
    request.decision, request.decided_by, request.decided_at = "refused", principal.ref, clock.now()
    request.decision_reason = why
    change.done(
        "credentials.key.withdrawal_refused",
        KEY_WITHDRAWAL_REFUSED,
        SigningKeyChanged(kid=request.kid, step="refused", request_id=request.id, by=principal.ref, reason=why),
        reason=why,
        purpose=why,
        detail={"request": request.id, "requested_by": request.requested_by},
    )
    return request


def key_withdrawal_requests(session: Session, principal: Principal) -> list[KeyChangeRequest]:
    """Withdrawal requests, newest first: the pending ones are what a colleague is asked to look at."""
    _require_city_admin(principal, "credentials.key.withdraw.list")
    return list(session.scalars(select(KeyChangeRequest).order_by(KeyChangeRequest.requested_at.desc()).limit(200)))


# -- reads -----------------------------------------------------------------------------------------


def _holder_filter(session: Session, principal: Principal) -> Any:
    """Credentials a signed-in resident holds: their own, and their firms' (as legal representative)."""
    if principal.kind is not PrincipalKind.CITIZEN:
        return None
    person_id = session.scalar(select(ResidentLink.person_id).where(ResidentLink.user_id == principal.id))
    if person_id is None:
        return None
    firms = select(LegalPerson.id).where(LegalPerson.legal_rep_id == person_id)
    return or_(
        (Credential.holder_kind == HolderKind.PERSON) & (Credential.holder_id == person_id),
        (Credential.holder_kind == HolderKind.LEGAL_PERSON) & Credential.holder_id.in_(firms),
    )


def my_credentials(session: Session, principal: Principal) -> list[Credential]:
    """The signed-in resident's credentials, newest first (empty until their account is linked)."""
    policy.require(principal, "core.me.read")
    clause = _holder_filter(session, principal)
    if clause is None:
        return []
    return list(session.scalars(select(Credential).where(clause).order_by(Credential.issued_at.desc())))


def holds(session: Session, principal: Principal, cred: Credential) -> bool:
    clause = _holder_filter(session, principal)
    return (
        clause is not None and session.scalar(select(Credential.id).where(Credential.id == cred.id, clause)) is not None
    )


def get_credential(session: Session, principal: Principal, credential_id: str, purpose: str | None) -> Credential:
    """One credential, for its holder or for staff in its area (whose read is audited with a purpose)."""
    policy.require(principal, "core.me.read")
    cred = session.get(Credential, credential_id)
    if cred is None:
        raise NotFound(f"no credential {credential_id}")
    if holds(session, principal, cred):
        return cred
    if principal.kind is PrincipalKind.CITIZEN:
        raise PermissionDenied("this credential belongs to someone else")
    policy.require(principal, "credentials.credential.read")
    policy.require_in_scope(session, principal, "hub.certificate", cred.division_code)
    subject = _subject(cred.holder_kind, cred.holder_id)
    if subject is not None:
        if not purpose or not purpose.strip():
            raise InvalidInput("say why you read this person's credential (X-OneCity-Purpose header)")
        audit.personal_read(
            session,
            principal,
            "credentials.credential.read",
            subject,
            purpose.strip()[:200],
            object_type="credential",
            object_id=cred.id,
            division_code=cred.division_code,
        )
    return cred


# -- the public check --------------------------------------------------------------------------------


def verify(session: Session, token: str) -> vc.Verification:
    """Check any credential JWT; needs no principal (anyone may check a certificate shown to them)."""
    return vc.verify(session, token)


@dataclass(frozen=True)
class Facts:
    """What a verifier is shown of a credential: the holder masked, the rest as issued."""

    holder_name: str
    holder_identifier: str
    type_name: str
    type_name_en: str
    number: str
    issuer: str
    valid_from: datetime | None
    valid_until: datetime | None
    credential_id: str


def mask_name(name: str, holder_kind: str) -> str:
    """A person's name with all but the surname hidden (张**); a firm's name is public (企业信息公示)."""
    if holder_kind != HolderKind.PERSON or not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_identifier(identifier: str, holder_kind: str) -> str:
    """A resident ID number shows its region and last four characters; a credit code is public."""
    if holder_kind != HolderKind.PERSON or len(identifier) < 10:
        return identifier
    return identifier[:6] + "*" * (len(identifier) - 10) + identifier[-4:]


#: A resident ID number standing alone inside a longer text (a certificate number, say).
_RESIDENT_ID_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def mask_number(number: str, identifier: str, holder_kind: str) -> str:
    """A certificate number as a verifier may see it.

    Many of a person's certificates are numbered with the holder's ID number (the ID card, the
    driving licence, the social security card), so a page that masked the identifier and then
    printed the number whole would give it away. The holder's identifier, and any resident-ID
    shaped run, is masked here exactly as :func:`mask_identifier` masks it; a firm's numbers are public.
    """
    if holder_kind != HolderKind.PERSON or not number:
        return number
    if len(identifier) >= 10:
        number = number.replace(identifier, mask_identifier(identifier, holder_kind))
    return _RESIDENT_ID_RUN.sub(lambda m: mask_identifier(m.group(0), holder_kind), number)


def facts(claims: dict[str, Any] | None, *, masked: bool = True) -> Facts | None:
    """The facts of a credential whose signature held (None for an untrusted one), masked for verifiers."""
    if not claims:
        return None
    subject = claims.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    cert = subject.get("certificate")
    cert = cert if isinstance(cert, dict) else {}
    issuer = claims.get("issuer")
    kind = str(subject.get("holderKind", HolderKind.PERSON))
    cid = str(claims.get("id", ""))
    return Facts(
        holder_name=mask_name(str(subject.get("name", "")), kind) if masked else str(subject.get("name", "")),
        holder_identifier=(
            mask_identifier(str(subject.get("identifier", "")), kind) if masked else str(subject.get("identifier", ""))
        ),
        type_name=str(cert.get("typeName", "")),
        type_name_en=str(cert.get("typeNameEn", "")),
        number=(
            mask_number(str(cert.get("number", "")), str(subject.get("identifier", "")), kind)
            if masked
            else str(cert.get("number", ""))
        ),
        issuer=str(issuer.get("name", "")) if isinstance(issuer, dict) else str(issuer or ""),
        valid_from=vc.parse_time(claims.get("validFrom")),
        valid_until=vc.parse_time(claims.get("validUntil")),
        credential_id=cid.removeprefix("urn:uuid:"),
    )


@dataclass(frozen=True)
class PublicCheck:
    """What ``/verify/<id>`` shows: the full check of the stored JWT and the masked facts."""

    credential: Credential
    verification: vc.Verification
    facts: Facts | None


def check_by_id(session: Session, principal: Principal, credential_id: str) -> PublicCheck:
    """Verify a stored credential by its id, as the QR link asks; recorded for the holder to see."""
    try:
        uuid.UUID(credential_id)
    except ValueError as err:
        raise NotFound("no credential with that id: check the link or scan the QR code again") from err
    cred = session.get(Credential, credential_id)
    if cred is None:
        raise NotFound("no credential with that id: check the link or scan the QR code again")
    result = vc.verify(session, cred.jwt)
    audit.record(
        session,
        principal,
        "credentials.credential.checked",
        object_type="credential",
        object_id=cred.id,
        subject=_subject(cred.holder_kind, cred.holder_id),
        division_code=cred.division_code,
        detail={"valid": result.valid, "status": result.status.value if result.status else None},
    )
    return PublicCheck(credential=cred, verification=result, facts=facts(result.claims))


# -- the printout ----------------------------------------------------------------------------------


def _proxy_relation(session: Session, principal: Principal, cred: Credential) -> str | None:
    """The proven relation by which a signed-in resident acts for a person holding ``cred``, or None.

    A relation the registries record (parent of a minor, guardian, household member) or a power
    of attorney covering every item (a certificate is no single item's); a firm's certificates
    go to its legal representative, who *holds* them."""
    if principal.kind is not PrincipalKind.CITIZEN or cred.holder_kind != HolderKind.PERSON:
        return None
    agent = session.scalar(
        select(Person)
        .join(ResidentLink, ResidentLink.person_id == Person.id)
        .where(ResidentLink.user_id == principal.id)
    )
    if agent is None or agent.id == cred.holder_id:
        return None
    return "proxy" if relations.represents(session, agent, cred.holder_id, ()) else None


def credential_for_print(session: Session, principal: Principal, credential_id: str, purpose: str | None) -> Credential:
    """A credential to print, for its holder, a resident proven to act for the holder, or staff of
    the issuing area (:func:`get_credential`'s rule); every printout is audited."""
    policy.require(principal, "core.me.read")
    cred = session.get(Credential, credential_id)
    if cred is None:
        raise NotFound(f"no credential {credential_id}")
    if holds(session, principal, cred):
        basis = "holder"
    elif _proxy_relation(session, principal, cred) is not None:
        basis = "proxy"
    else:
        cred = get_credential(session, principal, credential_id, purpose)
        basis = "staff"
    audit.record(
        session,
        principal,
        "credentials.credential.printed",
        object_type="credential",
        object_id=cred.id,
        subject=_subject(cred.holder_kind, cred.holder_id),
        purpose=(purpose or "").strip()[:200] or None,
        division_code=cred.division_code,
        detail={"as": basis, "status": cred.status},
    )
    return cred


# -- export ----------------------------------------------------------------------------------------


class ExportedCredential(BaseModel):
    id: str
    certificate_id: int
    type_code: str
    holder_kind: str
    holder_id: int
    division_code: str
    status: str
    kid: str
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    jwt: str


def iter_export(session: Session) -> Iterator[Credential]:
    stmt = select(Credential).order_by(Credential.issued_at, Credential.id)
    yield from session.scalars(stmt.execution_options(stream_results=True, yield_per=1000))


def export_jsonl(session: Session, principal: Principal, out: TextIO, *, destination: str) -> int:
    """Every issued credential, one JSON object a line with its ``jwt``; audited like a registry export."""
    policy.require(principal, "credentials.export")
    rows = 0
    for cred in iter_export(session):
        row = ExportedCredential(
            id=cred.id,
            certificate_id=cred.certificate_id,
            type_code=cred.type_code,
            holder_kind=cred.holder_kind,
            holder_id=cred.holder_id,
            division_code=cred.division_code,
            status=str(cred.status),
            kid=cred.kid,
            issued_at=cred.issued_at,
            valid_from=cred.valid_from,
            valid_until=cred.valid_until,
            jwt=cred.jwt,
        )
        out.write(json.dumps(row.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")) + "\n")
        rows += 1
    audit.record(
        session,
        principal,
        "credentials.credential.exported",
        object_type="credential",
        detail={"format": "jsonl", "rows": rows, "destination": destination},
    )
    return rows
