"""Issue 12, hole 2: the city's signing key is withdrawn by two city administrators, never by a district's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.events import OutboxMessage
from onecity.core.identity import service as identity
from onecity.core.identity.roles import Role
from onecity.credentials import service
from onecity.credentials.models import SigningKey
from onecity.hub.registries.models import Certificate
from tests.conftest import SYSTEM, TIANPINGLU
from tests.credentials.conftest import Registry
from tests.credentials.test_api import _issue, _verify

CITY, XUHUI = "310000000000", "310104000000"


def _jwks_kids(client: TestClient) -> list[str]:
    return [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]


@pytest.fixture
def approver_headers(
    registry_db: Registry, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> dict[str, str]:
    make_user("xh.approver", Role.APPROVER, division_code=TIANPINGLU)
    return login("xh.approver")


@pytest.fixture
def admins(make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]) -> dict[str, dict[str, str]]:
    make_user("city.admin", Role.ADMIN, division_code=CITY)
    make_user("city.admin2", Role.ADMIN, division_code=CITY)
    make_user("xh.admin", Role.ADMIN, division_code=XUHUI)
    return {name: login(name) for name in ("city.admin", "city.admin2", "xh.admin")}


def test_a_district_administrator_cannot_touch_the_city_signing_key(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    approver_headers: dict[str, str],
    admins: dict[str, dict[str, str]],
) -> None:
    cred = _issue(client, approver_headers, make_certificate())
    xh = admins["xh.admin"]
    r = client.post(f"/api/v1/credentials/keys/{cred['kid']}/withdraw", headers=xh, json={"reason": "because"})
    assert r.status_code == 403 and "city-level" in r.json()["detail"]
    r = client.post("/api/v1/credentials/keys/rotate", headers=xh, json={"reason": "because"})
    assert r.status_code == 403 and "city-level" in r.json()["detail"]
    assert client.get("/api/v1/credentials/keys/withdrawals", headers=xh).status_code == 403
    assert cred["kid"] in _jwks_kids(client)
    assert _verify(client, cred["jwt"])["valid"] is True


def test_withdrawal_needs_a_second_city_administrator(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    approver_headers: dict[str, str],
    admins: dict[str, dict[str, str]],
) -> None:
    cred = _issue(client, approver_headers, make_certificate())
    kid = cred["kid"]
    first, second = admins["city.admin"], admins["city.admin2"]
    r = client.post(f"/api/v1/credentials/keys/{kid}/withdraw", headers=first, json={"reason": "key on a lost laptop"})
    assert r.status_code == 202, r.text
    request = r.json()
    assert (request["kid"], request["decision"], request["reason"]) == (kid, None, "key on a lost laptop")
    # asking again while one waits: 409; the one who asked cannot approve it
    r = client.post(f"/api/v1/credentials/keys/{kid}/withdraw", headers=second, json={"reason": "me too"})
    assert r.status_code == 409
    approve = f"/api/v1/credentials/keys/withdrawals/{request['id']}/approve"
    r = client.post(approve, headers=first, json={"reason": "approving my own"})
    assert r.status_code == 403 and "different city administrator" in r.json()["detail"]
    assert kid in _jwks_kids(client) and _verify(client, cred["jwt"])["valid"] is True
    listed = client.get("/api/v1/credentials/keys/withdrawals", headers=second).json()
    assert [(x["id"], x["decision"]) for x in listed] == [(request["id"], None)]
    r = client.post(approve, headers=second, json={"reason": "checked the laptop report"})
    assert r.status_code == 200, r.text
    assert kid not in _jwks_kids(client)
    assert _verify(client, cred["jwt"])["valid"] is False
    assert client.post(approve, headers=second, json={"reason": "again"}).status_code == 409
    with registry_db.db.sessions() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.object_id == kid).order_by(AuditEntry.seq)).all()
        events = set(session.scalars(select(OutboxMessage.event_type)))
    steps = [(e.action, e.actor, e.purpose) for e in entries]
    ids = {name: client.get("/api/v1/auth/me", headers=h).json()["id"] for name, h in admins.items()}
    assert steps == [
        ("credentials.key.withdrawal_requested", f"user:{ids['city.admin']}", "key on a lost laptop"),
        ("credentials.key.withdrawal_approved", f"user:{ids['city.admin2']}", "checked the laptop report"),
        ("credentials.key.withdrawn", f"user:{ids['city.admin2']}", "key on a lost laptop"),
    ]
    assert entries[-1].detail["requested_by"] == f"user:{ids['city.admin']}"
    assert {
        "credentials.key.withdrawal_requested",
        "credentials.key.withdrawal_approved",
        "credentials.key.withdrawn",
    } <= events
    assert (entries[1].detail["from"], entries[1].detail["to"]) == ("pending", "approved")


def test_a_refused_request_leaves_the_key_and_keys_are_no_second_person(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    approver_headers: dict[str, str],
    admins: dict[str, dict[str, str]],
) -> None:
    cred = _issue(client, approver_headers, make_certificate())
    kid = cred["kid"]
    r = client.post(
        f"/api/v1/credentials/keys/{kid}/withdraw", headers=admins["city.admin"], json={"reason": "suspicious log"}
    )
    request_id = r.json()["id"]
    # a city-level API key with the admin role is not a second person
    with registry_db.db.transaction() as session:
        _k, secret = identity.create_api_key(
            session, SYSTEM, name="city-ops", scopes=["admin"], agency_code="gov-310000", roles=[Role.ADMIN]
        )
    r = client.post(
        f"/api/v1/credentials/keys/withdrawals/{request_id}/approve",
        headers={"Authorization": f"Bearer {secret}"},
        json={"reason": "automated"},
    )
    assert r.status_code == 403 and "API keys" in r.json()["detail"]
    r = client.post(
        f"/api/v1/credentials/keys/withdrawals/{request_id}/refuse",
        headers=admins["city.admin2"],
        json={"reason": "the log was a test run"},
    )
    assert r.status_code == 200 and r.json()["decision"] == "refused"
    assert kid in _jwks_kids(client) and _verify(client, cred["jwt"])["valid"] is True
    with registry_db.db.sessions() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == kid)))
        assert "credentials.key.withdrawal_refused" in actions and "credentials.key.withdrawn" not in actions


def test_the_operator_at_the_server_withdraws_alone_and_people_cannot_skip_the_second(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    approver_headers: dict[str, str],
    admins: dict[str, dict[str, str]],
) -> None:
    from onecity.core.commands import cli_principal
    from onecity.core.errors import PermissionDenied
    from onecity.core.identity.models import User
    from onecity.core.identity.service import principal_for_user

    cred = _issue(client, approver_headers, make_certificate())
    with registry_db.db.sessions() as session:
        person = principal_for_user(session.scalars(select(User).where(User.username == "city.admin")).one())
    with registry_db.db.transaction() as session, pytest.raises(PermissionDenied, match="second city administrator"):
        service.withdraw_signing_key(session, person, cred["kid"], "alone")
    with registry_db.db.transaction() as session:
        service.withdraw_signing_key(session, cli_principal(), cred["kid"], "leaked: withdrawn at the console")
    assert cred["kid"] not in _jwks_kids(client)
    with registry_db.db.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "credentials.key.withdrawn")).one()
        assert entry.detail["four_eyes"].startswith("waived: operator at the server")
        assert session.get_one(SigningKey, cred["kid"]).withdrawn_at is not None
