"""Issuing, status changes and the hub staying consistent, through the service functions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import jwt as pyjwt
import pytest
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.bus import consumers
from onecity.core.errors import Conflict, InvalidInput, PermissionDenied
from onecity.core.identity.roles import Role
from onecity.credentials import keys, service, statuslist
from onecity.credentials.models import Credential, CredentialStatus, StatusList
from onecity.hub.registries import service as registry
from onecity.hub.registries.models import Certificate, CertificateStatus
from tests.conftest import XUHUI
from tests.credentials.conftest import APPROVER, HUANGPU, Registry, staff


def _issue(reg: Registry, cert: Certificate) -> Credential:
    with reg.db.transaction() as s:
        return service.issue_for_certificate(s, APPROVER, cert.id)


def test_issue_signs_a_vc_jwt_that_pyjwt_verifies_with_the_jwks(
    registry_db: Registry, make_certificate: Callable[..., Certificate]
) -> None:
    cert = make_certificate()
    cred = _issue(registry_db, cert)
    assert cred.certificate_id == cert.id and cred.status == CredentialStatus.ACTIVE
    with registry_db.db.sessions() as s:
        jwks = keys.jwks(s)
    header = pyjwt.get_unverified_header(cred.jwt)
    assert header["typ"] == "vc+jwt" and header["alg"] == "EdDSA" and header["kid"] == cred.kid
    key = pyjwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"]))
    claims = pyjwt.decode(cred.jwt, key=key, algorithms=["EdDSA"], options={"verify_aud": False})
    assert claims["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert claims["type"] == ["VerifiableCredential", "ElectronicCertificateCredential"]
    assert claims["id"] == f"urn:uuid:{cred.id}" and claims["iss"] == claims["issuer"]["id"]
    assert claims["credentialSubject"]["certificate"]["number"] == cert.number
    entries = {e["statusPurpose"]: e for e in claims["credentialStatus"]}
    assert set(entries) == {"revocation", "suspension"}
    assert entries["revocation"]["type"] == "BitstringStatusListEntry"
    assert int(entries["revocation"]["statusListIndex"]) == cred.revocation_index
    with registry_db.db.sessions() as s:
        assert service.verify(s, cred.jwt).valid


def test_revoke_suspend_reinstate_show_in_the_status_lists(
    registry_db: Registry, make_certificate: Callable[..., Certificate]
) -> None:
    a, b = _issue(registry_db, make_certificate()), _issue(registry_db, make_certificate())
    with registry_db.db.transaction() as s:
        service.change_status(s, APPROVER, b.id, "suspended", "licence under inspection")
    with registry_db.db.sessions() as s:
        result = service.verify(s, b.jwt)
        assert (result.valid, result.status) == (False, CredentialStatus.SUSPENDED)
        assert service.verify(s, a.jwt).status == CredentialStatus.ACTIVE
        susp = s.get(StatusList, b.suspension_list_id)
        assert susp is not None and statuslist.bit(susp.bits, b.suspension_index)
    with registry_db.db.transaction() as s:
        service.change_status(s, APPROVER, b.id, "active", "inspection passed")
    with registry_db.db.sessions() as s:
        assert service.verify(s, b.jwt).status == CredentialStatus.ACTIVE
    with registry_db.db.transaction() as s:
        service.change_status(s, APPROVER, b.id, "revoked", "premises closed")
    with registry_db.db.sessions() as s:
        result = service.verify(s, b.jwt)
        assert (result.valid, result.status) == (False, CredentialStatus.REVOKED)
        assert "revoked" in result.errors[0]
        cert = s.get(Certificate, b.certificate_id)
        assert cert is not None and cert.status == CertificateStatus.REVOKED  # the hub follows
        assert service.verify(s, a.jwt).valid
    with registry_db.db.transaction() as s, pytest.raises(Conflict, match="is revoked; only a credential that is sus"):
        service.change_status(s, APPROVER, b.id, "active", "undo")
    # the registry's revocation event reaches our consumer, which finds nothing left to do
    consumers.deliver_pending(registry_db.db)
    with registry_db.db.sessions() as s:
        actions = list(
            s.scalars(select(AuditEntry.action).where(AuditEntry.object_id == b.id).order_by(AuditEntry.seq))
        )
    assert actions == [
        "credentials.credential.issued",
        "credentials.credential.suspended",
        "credentials.credential.reinstated",
        "credentials.credential.revoked",
    ]


def test_a_certificate_revoked_in_the_hub_revokes_its_credential(
    registry_db: Registry, make_certificate: Callable[..., Certificate]
) -> None:
    cert = make_certificate()
    cred = _issue(registry_db, cert)
    with registry_db.db.transaction() as s:
        registry.revoke_certificate(s, APPROVER, cert.id, "licence withdrawn by court ruling")
    assert consumers.deliver_pending(registry_db.db) >= 1
    with registry_db.db.sessions() as s:
        row = s.get(Credential, cred.id)
        assert row is not None and row.status == CredentialStatus.REVOKED
        assert service.verify(s, cred.jwt).status == CredentialStatus.REVOKED


def test_policy_state_and_input_are_checked(
    registry_db: Registry, make_certificate: Callable[..., Certificate]
) -> None:
    cert = make_certificate()
    db = registry_db.db
    with db.transaction() as s, pytest.raises(PermissionDenied, match="roles"):
        service.issue_for_certificate(s, staff(XUHUI, Role.COUNTER_CLERK), cert.id)
    with db.transaction() as s, pytest.raises(PermissionDenied, match="outside your area"):
        service.issue_for_certificate(s, staff(HUANGPU, Role.APPROVER), cert.id)
    cred = _issue(registry_db, cert)
    with db.transaction() as s, pytest.raises(Conflict, match="already has credential"):
        service.issue_for_certificate(s, APPROVER, cert.id)
    with db.transaction() as s, pytest.raises(InvalidInput, match="reason"):
        service.change_status(s, APPROVER, cred.id, "revoked", "  ")
    with db.transaction() as s, pytest.raises(InvalidInput, match="status must be"):
        service.change_status(s, APPROVER, cred.id, "deleted", "x")
    with db.transaction() as s, pytest.raises(PermissionDenied, match="outside your area"):
        service.change_status(s, staff(HUANGPU, Role.APPROVER), cred.id, "suspended", "x")
    with db.transaction() as s, pytest.raises(Conflict, match="is active; only a credential that is suspended can be"):
        service.change_status(s, APPROVER, cred.id, "active", "x")
    expired = make_certificate(issued_on=date(2019, 1, 1), valid_until=date(2020, 1, 1))
    with db.transaction() as s, pytest.raises(Conflict, match="expired"):
        service.issue_for_certificate(s, APPROVER, expired.id)
