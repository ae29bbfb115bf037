"""The API answers, signs in, and refuses the anonymous caller."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from onecity.core.identity.roles import Role


def test_health_is_public_and_reports_components(client: TestClient) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["components"]["database"]["status"] == "ok"
    assert body["components"]["bus"]["status"] == "ok"


def test_token_then_me(
    client: TestClient, make_user: Callable[..., object], login: Callable[[str], dict[str, str]]
) -> None:
    make_user("clerk.xh", Role.COUNTER_CLERK)
    me = client.get("/api/v1/auth/me", headers=login("clerk.xh"))
    assert me.status_code == 200
    assert me.json()["roles"] == ["counter_clerk"]
