"""Keys sealed with the platform secret, random status-list indices, list roll-over, expiry, events."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.errors import Unavailable
from onecity.core.events import OutboxMessage
from onecity.credentials import keys, service, statuslist
from onecity.credentials.models import Credential, CredentialStatus, SigningKey, StatusList, StatusPurpose
from onecity.hub.registries.models import Certificate
from tests.credentials.conftest import APPROVER, Registry


def _issue(reg: Registry, cert: Certificate) -> Credential:
    with reg.db.transaction() as s:
        return service.issue_for_certificate(s, APPROVER, cert.id)


def test_private_keys_are_sealed_and_never_published(
    registry_db: Registry, make_certificate: Callable[..., Certificate]
) -> None:
    _issue(registry_db, make_certificate())
    with registry_db.db.sessions() as s:
        row = s.scalars(select(SigningKey)).one()
        published = keys.jwks(s)["keys"]
    assert [set(k) for k in published] == [{"kty", "crv", "x", "kid", "alg", "use"}]  # no "d"
    assert published[0]["kid"] == keys.thumbprint(published[0])
    sealed = keys.b64url_decode(row.sealed_private_key)
    assert len(sealed) == 12 + 32 + 16  # nonce, the 32-byte key encrypted, the GCM tag
    # another secret cannot unseal it: signing stops with a message that says what to do
    keys.use_secret(registry_db.db, "a-different-secret-of-enough-length-000000")
    keys._private_cache.clear()
    with registry_db.db.transaction() as s, pytest.raises(Unavailable, match="ONECITY_SECRET_KEY"):
        service.issue_for_certificate(s, APPROVER, make_certificate().id)


def test_indices_are_random_and_full_lists_roll_over(
    registry_db: Registry, make_certificate: Callable[..., Certificate]
) -> None:
    creds = [_issue(registry_db, make_certificate()) for _ in range(6)]
    indices = [c.revocation_index for c in creds]
    assert len(set(indices)) == 6
    assert max(indices) - min(indices) > 1000  # spread over the 131,072 entries, not 0, 1, 2…
    ordered = sorted(indices)  # (random indices come out in order one time in 720: not a test)
    assert len({b - a for a, b in zip(ordered, ordered[1:], strict=False)}) > 1  # nor a fixed stride
    with registry_db.db.transaction() as s:  # pretend the lists are nearly full
        s.execute(update(StatusList).values(capacity=StatusList.allocated + 1))
    last = _issue(registry_db, make_certificate())
    after = _issue(registry_db, make_certificate())
    assert after.revocation_list_id != last.revocation_list_id
    assert after.suspension_list_id != last.suspension_list_id
    with registry_db.db.sessions() as s:
        lists = list(s.scalars(select(StatusList).order_by(StatusList.id)))
        assert [(x.purpose, x.full) for x in lists] == [
            (StatusPurpose.REVOCATION, True),
            (StatusPurpose.SUSPENSION, True),
            (StatusPurpose.REVOCATION, False),
            (StatusPurpose.SUSPENSION, False),
        ]
        assert all(len(x.bits) == statuslist.LIST_SIZE // 8 for x in lists)
        assert service.verify(s, after.jwt).valid and service.verify(s, creds[0].jwt).valid


def test_encoded_list_follows_the_specification() -> None:
    bits = statuslist.with_bit(bytes(statuslist.LIST_SIZE // 8), 0, True)
    bits = statuslist.with_bit(bits, 131_071, True)
    encoded = statuslist.encode_list(bits)
    raw = base64.urlsafe_b64decode(encoded[1:] + "==")
    assert encoded[0] == "u" and raw[:2] == b"\x1f\x8b"  # multibase base64url of a GZIP stream
    decoded = statuslist.decode_list(encoded)
    assert decoded[0] == 0b1000_0000 and decoded[-1] == 0b0000_0001  # index 0 is the left-most bit
    with pytest.raises(ValueError, match="'u'"):
        statuslist.decode_list(encoded[1:])


def test_expiry_and_not_yet_valid(registry_db: Registry, make_certificate: Callable[..., Certificate]) -> None:
    cred = _issue(registry_db, make_certificate(issued_on=date(2026, 3, 2), valid_until=date(2027, 3, 1)))
    with registry_db.db.sessions() as s:
        with clock.frozen(datetime(2027, 3, 1, 15, 59, tzinfo=UTC)):  # 23:59 on the last day in Shanghai
            assert service.verify(s, cred.jwt).valid
        with clock.frozen(datetime(2027, 3, 1, 16, 0, tzinfo=UTC)):  # midnight: expired
            result = service.verify(s, cred.jwt)
            assert (result.valid, result.status, result.codes) == (False, CredentialStatus.ACTIVE, ["expired"])
        with clock.frozen(datetime(2026, 3, 1, 12, 0, tzinfo=UTC)):
            assert service.verify(s, cred.jwt).codes == ["not-yet-valid"]


def test_events_and_audit(registry_db: Registry, make_certificate: Callable[..., Certificate]) -> None:
    from onecity.core.identity.principal import ANONYMOUS

    cred = _issue(registry_db, make_certificate())
    with registry_db.db.transaction() as s:
        service.change_status(s, APPROVER, cred.id, "suspended", "inspection")
    with registry_db.db.transaction() as s:
        check = service.check_by_id(s, ANONYMOUS, cred.id)
        assert check.facts is not None and check.facts.holder_name == "上海小梅餐饮店"
        assert check.verification.status is CredentialStatus.SUSPENDED
    with registry_db.db.sessions() as s:
        types = list(
            s.scalars(
                select(OutboxMessage.event_type)
                .where(OutboxMessage.event_type.startswith("cred"))
                .order_by(OutboxMessage.occurred_at)
            )
        )
        checked = s.scalars(select(AuditEntry).where(AuditEntry.action == "credentials.credential.checked")).one()
    assert types == ["credentials.credential.issued", "credentials.credential.status_changed"]
    assert checked.actor == "anonymous:-" and checked.detail == {"valid": False, "status": "suspended"}


def test_masking_for_verifiers() -> None:
    assert service.mask_name("王小梅", "person") == "王**"
    assert service.mask_identifier("310104198803140276", "person") == "310104********0276"
    assert service.mask_name("上海小梅餐饮店", "legal_person") == "上海小梅餐饮店"


def test_concurrent_first_issues_share_one_key_and_distinct_entries(
    registry_db: Registry, make_certificate: Callable[..., Certificate]
) -> None:
    import threading

    certs = [make_certificate() for _ in range(4)]
    barrier = threading.Barrier(len(certs))
    issued: list[str] = []
    failures: list[BaseException] = []

    def issue(cert: Certificate) -> None:
        try:
            barrier.wait(timeout=10)
            with registry_db.db.transaction() as s:
                issued.append(service.issue_for_certificate(s, APPROVER, cert.id).id)
        except BaseException as err:  # reported below, with the others
            failures.append(err)

    threads = [threading.Thread(target=issue, args=(c,)) for c in certs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures and len(issued) == 4
    with registry_db.db.sessions() as s:
        assert len(s.scalars(select(SigningKey)).all()) == 1
        rows = s.scalars(select(Credential)).all()
        assert len({(r.revocation_list_id, r.revocation_index) for r in rows}) == 4
        assert all(service.verify(s, r.jwt).valid for r in rows)


def test_forgeries_and_malformed_credentials_are_refused_with_reasons(
    registry_db: Registry, make_certificate: Callable[..., Certificate]
) -> None:
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    cred = _issue(registry_db, make_certificate())
    claims = keys.parse_compact(cred.jwt).payload
    foreign = Ed25519PrivateKey.generate()
    foreign_kid = keys.thumbprint(keys.public_jwk(foreign.public_key()))
    with registry_db.db.sessions() as s:

        def check(token: str) -> tuple[list[str], CredentialStatus | None]:
            result = service.verify(s, token)
            assert not result.valid
            return result.codes, result.status

        # a stranger's key, named as itself or as ours
        for kid, code in ((foreign_kid, "unknown-key"), (cred.kid, "signature")):
            token = pyjwt.encode(claims, foreign, algorithm="EdDSA", headers={"typ": "vc+jwt", "kid": kid})
            assert check(token) == ([code], None)
        # our key, but the wrong media type, or content that is not a credential we can check
        signer = keys.current_signer(s, "tests")
        assert check(keys.sign_compact(signer, {"typ": "JWT"}, claims))[0] == ["header"]
        assert check(keys.sign_compact(signer, {"typ": "vc+jwt"}, {**claims, "credentialStatus": []})) == (
            ["status"],
            None,
        )
        elsewhere = [
            {**e, "statusListCredential": "https://status.example.org/lists/1"} for e in claims["credentialStatus"]
        ]
        assert check(keys.sign_compact(signer, {"typ": "vc+jwt"}, {**claims, "credentialStatus": elsewhere}))[0] == [
            "status"
        ]
        swapped = [
            {**e, "statusPurpose": "suspension" if e["statusPurpose"] == "revocation" else "revocation"}
            for e in claims["credentialStatus"]
        ]
        codes, _ = check(keys.sign_compact(signer, {"typ": "vc+jwt"}, {**claims, "credentialStatus": swapped}))
        assert codes == ["status"]
        assert check(keys.sign_compact(signer, {"typ": "vc+jwt"}, {**claims, "@context": ["x"]}))[0] == ["structure"]
