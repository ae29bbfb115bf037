"""The HTTP side: JWKS and status lists checked with PyJWT (not our code), the public check,
tampering, key rotation, the holder's access, the export command and the request budget."""

from __future__ import annotations

import base64
import gzip
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from fastapi.testclient import TestClient

from onecity.cli import main
from onecity.core.config import get_settings
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.credentials import api as credentials_api
from onecity.credentials import keys, service
from onecity.credentials.models import CredentialStatus
from onecity.hub.registries.models import Certificate
from onecity.hub.sharing.service import link_resident
from tests.conftest import SYSTEM, TIANPINGLU
from tests.credentials.conftest import HUANGPU, Registry

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def jwks_verify(client: TestClient, token: str) -> dict[str, Any]:
    """Verify a vc+jwt the way an outside verifier would: fetch the JWKS, check with PyJWT."""
    r = client.get("/.well-known/jwks.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/jwk-set+json")
    keyset = pyjwt.PyJWKSet.from_dict(r.json())
    header = pyjwt.get_unverified_header(token)
    assert header["typ"] == "vc+jwt" and header["alg"] == "EdDSA"
    key = next(k for k in keyset.keys if k.key_id == header["kid"])
    return pyjwt.decode(token, key=key, algorithms=["EdDSA"])


def status_bit(client: TestClient, entry: dict[str, Any]) -> bool:
    """Follow a BitstringStatusListEntry as the specification says: fetch the list credential,
    verify it, base64url-decode and GUNZIP ``encodedList``, read bit ``statusListIndex`` from the left."""
    url = entry["statusListCredential"]
    path = url[url.index("/api/v1/") :]
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vc+jwt")
    assert client.get(path, headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    claims = jwks_verify(client, r.text)
    assert claims["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    subject = claims["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == entry["statusPurpose"]
    encoded = subject["encodedList"]
    assert encoded[0] == "u"  # multibase base64url
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(bits) * 8 >= 131_072
    index = int(entry["statusListIndex"])
    return bool(bits[index // 8] >> (7 - index % 8) & 1)


@pytest.fixture
def approver_headers(
    registry_db: Registry, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> dict[str, str]:
    make_user("xh.approver", Role.APPROVER, division_code=TIANPINGLU)
    return login("xh.approver")


def _issue(client: TestClient, headers: dict[str, str], cert: Certificate) -> dict[str, Any]:
    r = client.post("/api/v1/credentials", json={"certificate_id": cert.id}, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _verify(client: TestClient, token: str) -> dict[str, Any]:
    r = client.post("/api/v1/credentials/verify", json={"credential": token})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_issue_verify_suspend_revoke_over_http(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    approver_headers: dict[str, str],
) -> None:
    cert = make_certificate()
    cred = _issue(client, approver_headers, cert)
    claims = jwks_verify(client, cred["jwt"])
    assert claims["credentialSubject"]["name"] == "上海小梅餐饮店"
    entries = {e["statusPurpose"]: e for e in claims["credentialStatus"]}
    assert not status_bit(client, entries["revocation"]) and not status_bit(client, entries["suspension"])
    assert _verify(client, cred["jwt"]) | {"credential": None} == {
        "valid": True,
        "status": "active",
        "errors": [],
        "credential": None,
    }

    r = client.post(
        f"/api/v1/credentials/{cred['id']}/status",
        headers=approver_headers,
        json={"status": "suspended", "reason": "hygiene inspection pending"},
    )
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    assert status_bit(client, entries["suspension"]) and not status_bit(client, entries["revocation"])
    answer = _verify(client, cred["jwt"])
    assert (answer["valid"], answer["status"]) == (False, "suspended") and "suspended" in answer["errors"][0]

    r = client.post(
        f"/api/v1/credentials/{cred['id']}/status",
        headers=approver_headers,
        json={"status": "revoked", "reason": "premises closed for good"},
    )
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert status_bit(client, entries["revocation"])
    assert _verify(client, cred["jwt"])["status"] == "revoked"
    # the JWT itself is untouched: it still verifies cryptographically; only its status says no
    jwks_verify(client, cred["jwt"])

    r = client.post(
        f"/api/v1/credentials/{cred['id']}/status",
        headers=approver_headers,
        json={"status": "active", "reason": "oops"},
    )
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"


def test_any_changed_byte_fails_verification(
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    client: TestClient,
    approver_headers: dict[str, str],
) -> None:
    token = _issue(client, approver_headers, make_certificate())["jwt"]
    header_end, payload_end = token.index("."), token.rindex(".")
    with registry_db.db.sessions() as s:
        assert service.verify(s, token).valid
        for i, ch in enumerate(token):
            # the next character of the alphabet: for the last character of a part this is the
            # one a lenient base64 decoder would read as the same bytes
            other = "A" if ch == "." else B64URL[(B64URL.index(ch) + 1) % 64]
            changed = token[:i] + other + token[i + 1 :]
            result = service.verify(s, changed)
            part = "header" if i < header_end else "payload" if i < payload_end else "signature"
            assert not result.valid and result.errors, (i, part)
            assert result.status is None, (i, part)  # an untrusted credential has no status
        # and an attacker who edits the decoded JSON and re-encodes it properly: every byte, one bit flipped
        head_b64, body_b64, sig_b64 = token.split(".")
        for edited in (0, 1):
            raw = bytearray(keys.b64url_decode((head_b64, body_b64)[edited]))
            for i in range(len(raw)):
                raw[i] ^= 0x01
                parts = [head_b64, body_b64, sig_b64]
                parts[edited] = keys.b64url(bytes(raw))
                assert not service.verify(s, ".".join(parts)).valid, (edited, i)
                raw[i] ^= 0x01
    # and through the API, one position in each part
    for i in (5, header_end + 40, len(token) - 1):
        changed = token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1 :]
        answer = _verify(client, changed)
        assert answer["valid"] is False and answer["status"] is None and answer["errors"]


def test_garbage_and_malformed_bodies(client: TestClient, registry_db: Registry) -> None:
    for garbage in ("hello", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 20_000):
        answer = _verify(client, garbage)
        assert answer["valid"] is False and answer["status"] is None and answer["errors"], garbage
    unsigned = (
        ".".join(
            base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=").decode()
            for p in ({"alg": "none", "typ": "vc+jwt"}, {"iss": "x"})
        )
        + "."
    )
    assert "EdDSA" in _verify(client, unsigned)["errors"][0]
    for body in ({}, {"credential": 5}, {"credential": "x", "extra": 1}, {"credential": ""}):
        r = client.post("/api/v1/credentials/verify", json=body)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", body
    r = client.post("/api/v1/credentials/verify", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert client.get("/api/v1/credentials/status/999").status_code == 404


def test_key_rotation_keeps_old_credentials_verifiable(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    approver_headers: dict[str, str],
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
) -> None:
    old = _issue(client, approver_headers, make_certificate())
    assert (
        client.post(
            "/api/v1/credentials/keys/rotate", headers=approver_headers, json={"reason": "yearly rotation"}
        ).status_code
        == 403
    )
    make_user("city.admin", Role.ADMIN, division_code="310000000000")
    r = client.post("/api/v1/credentials/keys/rotate", headers=login("city.admin"), json={"reason": "yearly rotation"})
    assert r.status_code == 200, r.text
    new_kid = r.json()["kid"]
    new = _issue(client, approver_headers, make_certificate())
    assert new["kid"] == new_kid != old["kid"]
    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
    assert kids[0] == new_kid and old["kid"] in kids
    for cred in (old, new):
        jwks_verify(client, cred["jwt"])
        assert _verify(client, cred["jwt"])["valid"] is True
    # status lists are now signed by the new key and still verify with the JWKS
    claims = jwks_verify(client, old["jwt"])
    assert status_bit(client, claims["credentialStatus"][0]) is False


def test_holder_and_staff_access(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    approver_headers: dict[str, str],
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
) -> None:
    firm_cred = _issue(client, approver_headers, make_certificate())
    own_cred = _issue(client, approver_headers, make_certificate("driving_licence", holder="person"))
    make_user("xiaomei", kind=PrincipalKind.CITIZEN, division_code=None)
    make_user("stranger", kind=PrincipalKind.CITIZEN, division_code=None)
    with registry_db.db.transaction() as s:
        link_resident(s, SYSTEM, username="xiaomei", id_number=registry_db.person.id_number)
    holder = login("xiaomei")
    r = client.get("/api/v1/me/credentials", headers=holder)
    assert r.status_code == 200 and {c["id"] for c in r.json()} == {firm_cred["id"], own_cred["id"]}
    assert client.get(f"/api/v1/credentials/{own_cred['id']}", headers=holder).status_code == 200
    assert client.get("/api/v1/me/credentials", headers=login("stranger")).json() == []
    assert client.get(f"/api/v1/credentials/{own_cred['id']}", headers=login("stranger")).status_code == 403
    assert client.get(f"/api/v1/credentials/{own_cred['id']}").status_code == 401
    make_user("xh.clerk", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    make_user("hp.clerk", Role.COUNTER_CLERK, division_code=HUANGPU)
    clerk = login("xh.clerk")
    assert client.get(f"/api/v1/credentials/{own_cred['id']}", headers=clerk).status_code == 422  # no purpose
    r = client.get(f"/api/v1/credentials/{own_cred['id']}", headers=clerk | {"X-OneCity-Purpose": "case 42"})
    assert r.status_code == 200
    assert (
        client.get(
            f"/api/v1/credentials/{own_cred['id']}", headers=login("hp.clerk") | {"X-OneCity-Purpose": "case 42"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/credentials/{own_cred['id']}/status", headers=clerk, json={"status": "revoked", "reason": "x"}
        ).status_code
        == 403
    )


def test_export_credentials_jsonl(
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    client: TestClient,
    approver_headers: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issued = {_issue(client, approver_headers, make_certificate())["id"] for _ in range(3)}
    out = tmp_path / "credentials.jsonl"
    monkeypatch.setenv("ONECITY_ENV", "test")
    monkeypatch.setenv("ONECITY_SECRET_KEY", secrets.token_urlsafe(48))
    get_settings.cache_clear()
    try:
        assert (
            main(["export", "credentials", "--format", "jsonl", "--output", str(out), "--database", registry_db.db.url])
            == 0
        )
        assert main(["export", "credentials", "--format", "csv", "--database", registry_db.db.url]) == 2
    finally:
        get_settings.cache_clear()
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["id"] for r in rows} == issued
    for row in rows:
        assert jwks_verify(client, row["jwt"])["id"] == f"urn:uuid:{row['id']}"
        assert row["status"] == CredentialStatus.ACTIVE


def test_public_checks_are_budgeted(client: TestClient, registry_db: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials_api.PUBLIC_BUDGET, "limit", 3)
    monkeypatch.setattr(credentials_api.PUBLIC_BUDGET, "_hits", {})
    codes = [client.post("/api/v1/credentials/verify", json={"credential": "x"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.post("/api/v1/credentials/verify", json={"credential": "x"})
    assert int(r.headers["retry-after"]) >= 1 and r.headers["content-type"] == "application/problem+json"


def test_a_withdrawn_key_leaves_the_jwks_and_its_credentials_stop_verifying(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    approver_headers: dict[str, str],
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
) -> None:
    leaked = _issue(client, approver_headers, make_certificate())
    make_user("city.admin", Role.ADMIN, division_code="310000000000")
    make_user("city.admin2", Role.ADMIN, division_code="310000000000")
    admin = login("city.admin")
    r = client.post(
        f"/api/v1/credentials/keys/{leaked['kid']}/withdraw",
        headers=admin,
        json={"reason": "private key found on a lost laptop"},
    )
    assert r.status_code == 202, r.text
    assert _verify(client, leaked["jwt"])["valid"] is True  # asked, not yet approved: nothing changed
    r = client.post(
        f"/api/v1/credentials/keys/withdrawals/{r.json()['id']}/approve",
        headers=login("city.admin2"),
        json={"reason": "laptop report checked"},
    )
    assert r.status_code == 200, r.text
    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
    assert leaked["kid"] not in kids and len(kids) == 1  # a new key took over
    answer = _verify(client, leaked["jwt"])
    assert answer["valid"] is False and answer["status"] is None and "withdrew" in answer["errors"][0]
    with pytest.raises(StopIteration):
        jwks_verify(client, leaked["jwt"])  # an outside verifier finds no such key either
    fresh = _issue(client, approver_headers, make_certificate())
    assert fresh["kid"] == kids[0]
    claims = jwks_verify(client, fresh["jwt"])
    assert _verify(client, fresh["jwt"])["valid"] is True
    assert status_bit(client, claims["credentialStatus"][0]) is False  # lists re-signed by the new key
    again = client.post(f"/api/v1/credentials/keys/{leaked['kid']}/withdraw", headers=admin, json={"reason": "x"})
    assert again.status_code == 409
