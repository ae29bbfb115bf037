"""The API answers, signs in, and refuses the anonymous caller."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from onecity.core.identity.roles import Role
from tests.web_support import app_of


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


def test_every_documented_path_still_routes_past_the_prefix_guards(client: TestClient) -> None:
    """The top-level routers with a prefix refuse other paths without walking their routes; no
    documented path may become unreachable by it, and a guard must refuse what is not its own."""
    import re

    from starlette.routing import Match

    from onecity.api.app import _PrefixGuard

    app = app_of(client)
    routes = app.router.routes
    guards = [r for r in routes if isinstance(r, _PrefixGuard)]
    assert {g.prefix_guard for g in guards} >= {"/api/v1", "/open311/v2", "/sta/v1.1"}
    paths = app.openapi()["paths"]
    assert len(paths) > 50
    for path, operations in paths.items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in operations:
            scope = {"type": "http", "path": concrete, "root_path": "", "method": method.upper(), "headers": []}
            assert any(r.matches(scope)[0] == Match.FULL for r in routes), (method, path)
    outside = {"type": "http", "path": "/open311/v2/requests.json", "root_path": "", "method": "POST", "headers": []}
    api = next(g for g in guards if g.prefix_guard == "/api/v1")
    assert api.matches(outside)[0] == Match.NONE
    assert client.post("/open311/v2/requests.json", data={}).status_code in (400, 401, 403, 422)
