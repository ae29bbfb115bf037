"""Access control: anonymous callers, the wrong role and the wrong district are refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.identity.roles import PrincipalKind, Role
from tests.conftest import HUANGPU, TIANPINGLU, WAITAN, XUHUI

#: Public by nature, and nothing else: liveness, signing in, descriptions of what the government
#: offers (the data catalogue's DCAT, the service catalogue with its workflows, departments and
#: bundles), public accountability figures (performance, ratings), and checking a certificate
#: (the verify call and the status lists verifiers fetch). None of them returns personal data.
PUBLIC = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/auth/token"),
    ("GET", "/api/v1/catalog/dcat"),
    ("POST", "/api/v1/credentials/verify"),
    ("GET", "/api/v1/credentials/status/{list_id}"),
    ("GET", "/api/v1/services/items"),
    ("GET", "/api/v1/services/items/{code}"),
    ("GET", "/api/v1/services/workflows/{shape}.bpmn"),
    ("GET", "/api/v1/services/departments"),
    ("GET", "/api/v1/services/bundles"),
    ("GET", "/api/v1/services/performance"),
    ("GET", "/api/v1/services/ratings"),
    ("POST", "/api/v1/services/fields/check"),
}


def _api_operations(client: TestClient) -> list[tuple[str, str, str]]:
    """(method, path template, concrete path) of every /api/v1 operation in the OpenAPI document."""
    spec = client.get("/openapi.json").json()
    ops = []
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method in item:
            concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
            ops.append((method.upper(), path, concrete))
    return ops


def test_every_api_endpoint_but_health_and_login_refuses_the_anonymous_caller(client: TestClient) -> None:
    ops = _api_operations(client)
    assert len(ops) >= 15
    for method, template, path in ops:
        if (method, template) in PUBLIC:
            continue
        r = client.request(method, path, json={})
        assert r.status_code == 401, f"{method} {path} answered {r.status_code}"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers.get("www-authenticate", "").startswith("Bearer")


def test_garbage_tokens_are_401(client: TestClient) -> None:
    for header in ("Bearer nonsense", "Bearer oc_1234_bad", "Basic !!!", "Basic YXBpa2V5Om9jX3h4eA==", "Digest x"):
        r = client.get("/api/v1/users", headers={"Authorization": header})
        assert r.status_code == 401, header


def test_district_admin_sees_only_own_district_and_gets_403_for_another(
    client: TestClient,
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
    db: Database,
) -> None:
    make_user("admin.xh", Role.ADMIN, division_code=XUHUI)
    make_user("clerk.xh", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    other = make_user("clerk.hp", Role.COUNTER_CLERK, division_code=WAITAN)
    h = login("admin.xh")
    listed = {u["username"] for u in client.get("/api/v1/users", headers=h).json()}
    assert listed == {"admin.xh", "clerk.xh"}
    r = client.get(f"/api/v1/users/{other.id}", headers={**h, "X-OneCity-Purpose": "staff review"})
    assert r.status_code == 403
    assert "outside your area" in r.json()["detail"]
    r = client.patch(f"/api/v1/users/{other.id}", headers=h, json={"active": False, "reason": "test"})
    assert r.status_code == 403
    with db.sessions() as session:
        denied = session.scalars(select(AuditEntry).where(AuditEntry.action == "core.access.denied")).all()
    assert len(denied) == 2 and denied[0].outcome == "denied"


def test_district_admin_cannot_create_users_elsewhere(
    client: TestClient,
    make_user: Callable[..., Any],
    make_agency: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
) -> None:
    make_user("admin.xh", Role.ADMIN, division_code=XUHUI)
    make_agency("hp-samr", HUANGPU)
    r = client.post(
        "/api/v1/users",
        headers=login("admin.xh"),
        json={
            "username": "sneaky",
            "password": "Pass-word-123",
            "kind": "staff",
            "roles": ["admin"],
            "agency_code": "hp-samr",
            "division_code": HUANGPU,
        },
    )
    assert r.status_code == 403


def test_wrong_role_is_403(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> None:
    make_user("clerk.xh", Role.COUNTER_CLERK, division_code=XUHUI)
    h = login("clerk.xh")
    assert client.get("/api/v1/users", headers=h).status_code == 403
    assert client.get("/api/v1/audit", headers=h).status_code == 403
    r = client.post(
        "/api/v1/agencies", headers=h, json={"code": "x1", "name": "x", "name_en": "x", "division_code": XUHUI}
    )
    assert r.status_code == 403
    assert "admin" in r.json()["detail"]


def test_citizen_is_not_staff(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> None:
    make_user("zhang.san", kind=PrincipalKind.CITIZEN, division_code=None)
    h = login("zhang.san")
    assert client.get("/api/v1/auth/me", headers=h).json()["kind"] == "citizen"
    assert client.get("/api/v1/agencies", headers=h).status_code == 403


def test_grant_opens_another_district_and_revocation_closes_it(
    client: TestClient,
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
) -> None:
    make_user("admin.xh", Role.ADMIN, division_code=XUHUI)
    make_user("admin.hp", Role.ADMIN, division_code=HUANGPU)
    target = make_user("clerk.hp", Role.COUNTER_CLERK, division_code=WAITAN)
    xh, hp = login("admin.xh"), login("admin.hp")
    read = {**xh, "X-OneCity-Purpose": "joint service window"}
    assert client.get(f"/api/v1/users/{target.id}", headers=read).status_code == 403
    # Xuhui cannot grant itself Huangpu's records: only the owner can
    r = client.post(
        "/api/v1/grants",
        headers=xh,
        json={
            "resource": "core.user",
            "scope_division_code": WAITAN,
            "grantee_division_code": XUHUI,
            "purpose": "joint service window",
        },
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/grants",
        headers=hp,
        json={
            "resource": "core.user",
            "scope_division_code": WAITAN,
            "grantee_division_code": XUHUI,
            "purpose": "joint service window",
        },
    )
    assert r.status_code == 201, r.text
    grant_id = r.json()["id"]
    assert client.get(f"/api/v1/users/{target.id}", headers=read).status_code == 200
    r = client.post(f"/api/v1/grants/{grant_id}/revoke", headers=hp, json={"reason": "window closed"})
    assert r.status_code == 200
    assert client.get(f"/api/v1/users/{target.id}", headers=read).status_code == 403


def test_reading_personal_data_needs_a_purpose_and_is_audited(
    client: TestClient,
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
    db: Database,
) -> None:
    make_user("admin.xh", Role.ADMIN, division_code=XUHUI)
    target = make_user("clerk.xh", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    h = login("admin.xh")
    r = client.get(f"/api/v1/users/{target.id}", headers=h)
    assert r.status_code == 422 and "purpose" in r.json()["detail"]
    r = client.get(f"/api/v1/users/{target.id}", headers={**h, "X-OneCity-Purpose": "annual appraisal"})
    assert r.status_code == 200
    with db.sessions() as session:
        reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "core.user.read")).all()
    assert [(e.subject, e.purpose) for e in reads] == [(f"user:{target.id}", "annual appraisal")]
    # the person sees who read their data
    log = client.get("/api/v1/me/access-log", headers=login("clerk.xh")).json()
    assert [(e["action"], e["purpose"]) for e in log if e["action"] == "core.user.read"] == [
        ("core.user.read", "annual appraisal")
    ]


def test_every_route_that_reads_personal_data_decodes_the_purpose_the_same_way(
    client: TestClient,
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
    db: Database,
) -> None:
    """Headers are Latin-1, so a Chinese purpose arrives percent-encoded; the user read once
    stored it still encoded, while the sharing and credential reads decoded it."""
    make_user("admin.xh", Role.ADMIN, division_code=XUHUI)
    target = make_user("clerk.xh", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    h = login("admin.xh")
    r = client.get(f"/api/v1/users/{target.id}", headers={**h, "X-OneCity-Purpose": quote("年度考核 annual appraisal")})
    assert r.status_code == 200, r.text
    with db.sessions() as session:
        reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "core.user.read")).all()
    assert [e.purpose for e in reads] == ["年度考核 annual appraisal"]
    # the limit is on the decoded text (the audit log keeps 200 characters), not on the header
    r = client.get(f"/api/v1/users/{target.id}", headers={**h, "X-OneCity-Purpose": quote("考" * 150)})
    assert r.status_code == 200, r.text
    r = client.get(f"/api/v1/users/{target.id}", headers={**h, "X-OneCity-Purpose": "x" * 201})
    assert r.status_code == 422 and "at most 200 characters" in r.json()["detail"]
    assert r.headers["content-type"].startswith("application/problem+json")


def test_api_key_scopes_and_revocation(
    client: TestClient,
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
) -> None:
    make_user("admin.city", Role.ADMIN, division_code="310000000000")
    h = login("admin.city")
    r = client.post("/api/v1/apikeys", headers=h, json={"name": "rain gauges", "scopes": ["sensing"]})
    assert r.status_code == 201, r.text
    key, key_id = r.json()["key"], r.json()["id"]
    assert key.startswith("oc_")
    listed = client.get("/api/v1/apikeys", headers=h).json()
    assert all("key" not in k for k in listed)
    # a sensing key is not an administrator
    assert client.get("/api/v1/users", headers={"Authorization": f"Bearer {key}"}).status_code == 403
    assert client.delete(f"/api/v1/apikeys/{key_id}", headers=h).status_code == 200
    assert client.get("/api/v1/users", headers={"Authorization": f"Bearer {key}"}).status_code == 401


@pytest.mark.parametrize("scope", ["sensing"])
def test_basic_auth_with_apikey_user(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]], scope: str
) -> None:
    import base64

    make_user("admin.city", Role.ADMIN, division_code="310000000000")
    key = client.post(
        "/api/v1/apikeys", headers=login("admin.city"), json={"name": "sta client", "scopes": [scope]}
    ).json()["key"]
    basic = base64.b64encode(f"apikey:{key}".encode()).decode()
    r = client.get("/api/v1/divisions?level=district", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200 and len(r.json()) == 16


def test_disabled_user_token_stops_working(
    client: TestClient,
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
) -> None:
    make_user("admin.xh", Role.ADMIN, division_code=XUHUI)
    u = make_user("clerk.xh", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    clerk = login("clerk.xh")
    assert client.get("/api/v1/auth/me", headers=clerk).status_code == 200
    r = client.patch(f"/api/v1/users/{u.id}", headers=login("admin.xh"), json={"active": False, "reason": "left"})
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/v1/auth/me", headers=clerk).status_code == 401
