"""The credential document (VC Data Model 2.0) and its verification.

A certificate becomes a ``VerifiableCredential`` whose JWT claims set *is* the credential
(VC-JOSE-COSE §3.1: no ``vc`` wrapper), with the registered JWT claims ``iss``, ``jti``,
``iat``, ``nbf`` and ``exp`` added where they restate the credential (they never conflict).
The JOSE header is ``{"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": <thumbprint>}``.

Terms beyond the base context (``certificate``, ``identifier``…) fall under the base
context's issuer-dependent vocabulary, as VC 2.0 allows; the GB/T 36903 names of the
certificate's metadata are kept as they are in the registry.

:func:`verify` is what the public check runs: structure, header, a known ``kid``, the
signature, the validity period, then each status entry through the published status list
credential, decoded as the Bitstring Status List specification says. Every failure is a
sentence a person at a counter can read out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.credentials import keys, statuslist
from onecity.credentials.issuer import issuer_url
from onecity.credentials.models import CredentialStatus, StatusList, StatusPurpose
from onecity.hub.registries.models import Certificate, CertificateType, HolderKind

V2_CONTEXT = statuslist.V2_CONTEXT
VC_TYPE = "VerifiableCredential"
CERT_VC_TYPE = "ElectronicCertificateCredential"
TYP = "vc+jwt"
MAX_TOKEN = 16 * 1024


def day_start(d: date) -> datetime:
    """Midnight in Shanghai at the start of ``d``, in UTC: certificates are dated in local days."""
    return datetime.combine(d, time(0), tzinfo=clock.SHANGHAI).astimezone(UTC)


def build(
    cert: Certificate,
    ctype: CertificateType,
    credential_id: str,
    issuer: str,
    entries: list[dict[str, Any]],
    issued_at: datetime,
) -> tuple[dict[str, Any], datetime, datetime | None]:
    """The credential's claims, its validFrom and validUntil (end of the last valid day)."""
    valid_from = day_start(cert.issued_on)
    valid_until = day_start(cert.valid_until + timedelta(days=1)) if cert.valid_until is not None else None
    scheme = "GB 11643" if cert.holder_kind == HolderKind.PERSON else "GB 32100"
    claims: dict[str, Any] = {
        "@context": [V2_CONTEXT],
        "id": f"urn:uuid:{credential_id}",
        "type": [VC_TYPE, CERT_VC_TYPE],
        "name": [{"@value": ctype.name, "@language": "zh"}, {"@value": ctype.name_en, "@language": "en"}],
        "issuer": {"id": issuer, "name": cert.issuer},
        "validFrom": statuslist.iso(valid_from),
        "credentialSubject": {
            "type": "CertificateHolder",
            "holderKind": str(cert.holder_kind),
            "name": cert.holder_name,
            "identifier": cert.holder_identifier,
            "identifierScheme": scheme,
            "certificate": {
                "typeCode": cert.type_code,
                "typeName": ctype.name,
                "typeNameEn": ctype.name_en,
                "number": cert.number,
                "issuedOn": cert.issued_on.isoformat(),
                "validUntil": cert.valid_until.isoformat() if cert.valid_until else None,
                "metadataStandard": "GB/T 36903-2018",
                "data": cert.data or {},
            },
        },
        "credentialStatus": entries,
        # registered JWT claims restating the credential (VC-JOSE-COSE allows them; they agree)
        "iss": issuer,
        "jti": f"urn:uuid:{credential_id}",
        "iat": int(issued_at.timestamp()),
        "nbf": int(valid_from.timestamp()),
    }
    if valid_until is not None:
        claims["validUntil"] = statuslist.iso(valid_until)
        claims["exp"] = int(valid_until.timestamp())
    return claims, valid_from, valid_until


def status_entry(issuer: str, lst: StatusList, index: int) -> dict[str, Any]:
    url = statuslist.list_url(issuer, lst.id)
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": str(lst.purpose),
        "statusListIndex": str(index),
        "statusListCredential": url,
    }


# -- verification ---------------------------------------------------------------------------------


@dataclass
class Verification:
    valid: bool = False
    #: None when the credential could not be trusted at all (a bad signature has no status).
    status: CredentialStatus | None = None
    errors: list[str] = field(default_factory=list)
    #: Short codes of the errors, for pages that say them in the visitor's language.
    codes: list[str] = field(default_factory=list)
    claims: dict[str, Any] | None = None
    kid: str | None = None

    def fail(self, code: str, message: str) -> Verification:
        self.codes.append(code)
        self.errors.append(message)
        return self


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def check_signature(session: Session, token: str, result: Verification) -> keys.ParsedJws | None:
    """Structure, header and signature; None (with the reason in ``result``) when untrusted."""
    if not isinstance(token, str) or not token.strip():
        result.fail("malformed", "no credential was given")
        return None
    # a JWT has no whitespace: drop what copying from a wrapped page or a PDF puts in
    token = "".join(token.split())
    if len(token) > MAX_TOKEN:
        result.fail("malformed", f"the credential is longer than {MAX_TOKEN} characters; it is not one of ours")
        return None
    try:
        jws = keys.parse_compact(token)
    except keys.JwsError as err:
        result.fail("malformed", f"not a readable JWT: {err}")
        return None
    header = jws.header
    if header.get("alg") != keys.ALG:
        result.fail("header", f"the signature algorithm is {header.get('alg')!r}; this issuer signs with EdDSA")
    if header.get("typ") != TYP:
        result.fail("header", f"the JOSE header typ is {header.get('typ')!r}, not 'vc+jwt'")
    if "crit" in header:
        result.fail("header", "the header lists critical extensions this verifier does not support")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        result.fail("header", "the header names no key (kid)")
    if result.errors:
        return None
    assert isinstance(kid, str)
    result.kid = kid
    found = keys.verification_key(session, kid)
    if found.withdrawn_at is not None:
        result.fail(
            "withdrawn-key",
            f"the issuer withdrew the key {kid} on {statuslist.iso(found.withdrawn_at)}; "
            "ask the holder for a credential issued again",
        )
        return None
    if found.public is None:
        result.fail("unknown-key", f"the key {kid} is not in this issuer's JWKS (/.well-known/jwks.json)")
        return None
    if not keys.check_signature(found.public, jws):
        result.fail(
            "signature",
            "the signature does not match: the credential was altered after it was issued, "
            "or it was not signed by this issuer",
        )
        return None
    return jws


def verify(session: Session, token: str, *, at: datetime | None = None) -> Verification:
    """Check a credential JWT completely; ``valid`` only if every check passed and it is active."""
    result = Verification()
    jws = check_signature(session, token, result)
    if jws is None:
        return result
    claims = jws.payload
    result.claims = claims
    now = at or clock.now()
    context = claims.get("@context")
    if not isinstance(context, list) or not context or context[0] != V2_CONTEXT:
        result.fail("structure", f"@context must start with {V2_CONTEXT}")
    types = claims.get("type")
    if not isinstance(types, list) or VC_TYPE not in types:
        result.fail("structure", "type must include VerifiableCredential")
    if not isinstance(claims.get("credentialSubject"), dict):
        result.fail("structure", "the credential has no credentialSubject")
    valid_from = parse_time(claims.get("validFrom"))
    if valid_from is None:
        result.fail("structure", "validFrom is missing or not a date-time with a time zone")
    elif now < valid_from:
        result.fail("not-yet-valid", f"not valid before {claims['validFrom']}")
    if "validUntil" in claims:
        valid_until = parse_time(claims.get("validUntil"))
        if valid_until is None:
            result.fail("structure", "validUntil is not a date-time with a time zone")
        elif now >= valid_until:
            result.fail("expired", f"expired at {claims['validUntil']}")
    result.status = _status(session, claims.get("credentialStatus"), result)
    if result.status is CredentialStatus.REVOKED:
        result.fail("revoked", "the issuer has revoked this credential")
    elif result.status is CredentialStatus.SUSPENDED:
        result.fail("suspended", "the issuer has suspended this credential")
    result.valid = not result.errors
    return result


def _status(session: Session, raw: Any, result: Verification) -> CredentialStatus | None:
    entries = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else None
    if not entries:
        result.fail("status", "the credential has no credentialStatus entry to check")
        return None
    wanted: list[tuple[str, int, int]] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
            result.fail("status", "a credentialStatus entry is not a BitstringStatusListEntry")
            return None
        purpose, index = entry.get("statusPurpose"), entry.get("statusListIndex")
        if purpose not in (StatusPurpose.REVOCATION, StatusPurpose.SUSPENSION):
            result.fail("status", f"unknown statusPurpose {purpose!r}")
            return None
        if not isinstance(index, str) or not index.isdigit() or len(index) > 12:
            result.fail("status", "statusListIndex must be a decimal string")
            return None
        url = entry.get("statusListCredential")
        list_id = statuslist.list_id_of(url) if isinstance(url, str) else None
        if list_id is None:
            result.fail("status", f"the status list {url!r} is not one this issuer publishes")
            return None
        wanted.append((str(purpose), list_id, int(index)))
    # one light query for the lists' versions; their bitstrings come from the cache when unchanged
    versions = {
        row.id: row
        for row in session.execute(
            select(StatusList.id, StatusList.version, StatusList.created_at).where(
                StatusList.id.in_({w[1] for w in wanted})
            )
        )
    }
    flags: dict[str, bool] = {}
    try:
        for purpose, list_id, index in wanted:
            row = versions.get(list_id)
            if row is None:
                raise StatusListError(f"status list {list_id} does not exist")
            flags[purpose] = flags.get(purpose, False) or _list_bit(session, row, purpose, index)
    except StatusListError as err:
        result.fail("status", str(err))
        return None
    if flags.get(StatusPurpose.REVOCATION):
        return CredentialStatus.REVOKED
    if flags.get(StatusPurpose.SUSPENSION):
        return CredentialStatus.SUSPENDED
    return CredentialStatus.ACTIVE


class StatusListError(ValueError):
    pass


#: Decoded status lists by (database, list id, created, version): a list's bits change only
#: with its version, so a check reads the database's version alone until the list changes.
_decoded: dict[tuple[str, int, str, int], tuple[str, bytes]] = {}
_decoded_lock = threading.Lock()


def _list_bit(session: Session, row: Any, purpose: str, index: int) -> bool:
    """Read the bit through the published status list credential, as any verifier would."""
    bind = session.get_bind()
    cache_key = (
        str(bind.engine.url if isinstance(bind, Connection) else bind.url),
        row.id,
        row.created_at.isoformat(),
        row.version,
    )
    cached = _decoded.get(cache_key)
    if cached is None:
        cached = _fetch_list(session, row.id)
        with _decoded_lock:
            if len(_decoded) > 256:
                _decoded.clear()
            _decoded[cache_key] = cached
    list_purpose, bits = cached
    if list_purpose != purpose:
        raise StatusListError(f"the entry says {purpose} but the list it points to is for {list_purpose}")
    if len(bits) * 8 < statuslist.LIST_SIZE:
        raise StatusListError("the status list is shorter than the 131,072 entries the specification requires")
    if index >= len(bits) * 8:
        raise StatusListError(f"statusListIndex {index} is beyond the end of the list")
    return statuslist.bit(bits, index)


def _fetch_list(session: Session, list_id: int) -> tuple[str, bytes]:
    """The status list credential as published, verified and decoded: (statusPurpose, bitstring)."""
    lst = session.get(StatusList, list_id)
    if lst is None:
        raise StatusListError(f"status list {list_id} does not exist")
    token = statuslist.signed_status_list(session, issuer_url(), lst, "system:credentials")
    inner = Verification()
    jws = check_signature(session, token, inner)
    if jws is None:
        raise StatusListError("the status list credential does not verify: " + "; ".join(inner.errors))
    subject = jws.payload.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != "BitstringStatusList":
        raise StatusListError("the status list credential has no BitstringStatusList subject")
    try:
        bits = statuslist.decode_list(str(subject.get("encodedList", "")))
    except (ValueError, OSError, EOFError) as err:
        raise StatusListError(f"the status list cannot be decoded: {err}") from err
    return str(subject.get("statusPurpose")), bits
