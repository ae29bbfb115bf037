"""The caller cache: a bearer credential is remembered for seconds, and a revocation still bites.

The worker that makes a change (revoking a key, disabling a user, removing a role) must refuse
the credential on the very next request; another worker within the cache's lifetime. The
second case is simulated by writing the change with plain SQL, which the ORM's session events
of this process do not see, and moving the cache's own clock past its lifetime.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.identity.callers import CallerCache
from onecity.core.identity.roles import Role
from tests.conftest import TIANPINGLU, XUHUI
from tests.web_support import app_of

CITY = "310000000000"


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _fake_clocked(client: TestClient, ttl: float = 5.0) -> Ticker:
    ticker = Ticker()
    app_of(client).state.callers = CallerCache(ttl, monotonic=ticker)
    return ticker


def _new_key(client: TestClient, admin: dict[str, str], **extra: Any) -> tuple[str, str]:
    r = client.post("/api/v1/apikeys", headers=admin, json={"name": "rain gauges", "scopes": ["admin"], **extra})
    assert r.status_code == 201, r.text
    return r.json()["key"], r.json()["id"]


def test_a_revoked_key_is_refused_on_the_next_request_in_the_same_worker(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> None:
    make_user("admin.city", Role.ADMIN, division_code=CITY)
    admin = login("admin.city")
    key, key_id = _new_key(client, admin)
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/users", headers=bearer).status_code == 200
    cache: CallerCache = app_of(client).state.callers
    assert cache._keys, "the key's answer was remembered"
    assert client.delete(f"/api/v1/apikeys/{key_id}", headers=admin).status_code == 200
    r = client.get("/api/v1/users", headers=bearer)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_a_removed_role_and_a_disabled_user_take_effect_at_once(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> None:
    make_user("admin.xh", Role.ADMIN, division_code=XUHUI)
    clerk = make_user("clerk.xh", Role.COUNTER_CLERK, Role.REVIEWER, division_code=TIANPINGLU)
    admin, h = login("admin.xh"), login("clerk.xh")
    assert client.get("/api/v1/auth/me", headers=h).json()["roles"] == ["counter_clerk", "reviewer"]
    r = client.patch(f"/api/v1/users/{clerk.id}", headers=admin, json={"roles": ["counter_clerk"], "reason": "moved"})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/auth/me", headers=h).json()["roles"] == ["counter_clerk"]
    client.patch(f"/api/v1/users/{clerk.id}", headers=admin, json={"active": False, "reason": "left"})
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_a_change_made_by_another_worker_is_seen_within_the_lifetime(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]], db: Database
) -> None:
    make_user("admin.city", Role.ADMIN, division_code=CITY)
    clerk = make_user("clerk.xh", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    admin, h = login("admin.city"), login("clerk.xh")
    key, _ = _new_key(client, admin)
    bearer = {"Authorization": f"Bearer {key}"}
    ticker = _fake_clocked(client, ttl=5.0)
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    assert client.get("/api/v1/users", headers=bearer).status_code == 200
    # "another worker": plain SQL, unseen by this process's session events
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = :f WHERE id = :id"), {"f": False, "id": clerk.id})
        conn.execute(text("UPDATE api_keys SET revoked_at = :now"), {"now": clock.now()})
    ticker.t += 4.0  # within the lifetime: this worker still answers from memory
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    assert client.get("/api/v1/users", headers=bearer).status_code == 200
    ticker.t += 1.5  # past it: read again, refused
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
    assert client.get("/api/v1/users", headers=bearer).status_code == 401


def test_a_key_that_expires_is_refused_even_while_remembered(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> None:
    make_user("admin.city", Role.ADMIN, division_code=CITY)
    admin = login("admin.city")
    ends = datetime.now(UTC) + timedelta(hours=1)
    key, _ = _new_key(client, admin, expires_at=ends.isoformat())
    bearer = {"Authorization": f"Bearer {key}"}
    _fake_clocked(client, ttl=60.0)
    assert client.get("/api/v1/users", headers=bearer).status_code == 200
    with clock.frozen(ends + timedelta(seconds=1)):
        assert client.get("/api/v1/users", headers=bearer).status_code == 401


def test_a_lifetime_of_zero_reads_every_time(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]], db: Database
) -> None:
    clerk = make_user("clerk.xh", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    h = login("clerk.xh")
    _fake_clocked(client, ttl=0)
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = :f WHERE id = :id"), {"f": False, "id": clerk.id})
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
