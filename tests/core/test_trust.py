"""Issue 12's identity holes: paging, the production secret, forwarded addresses, the throttle."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.config import ConfigurationError, Environment, Settings
from onecity.core.db import Database
from onecity.core.identity.models import User
from onecity.core.identity.roles import Role
from tests.conftest import CITY, HUANGPU, PASSWORD, TIANPINGLU, XUHUI


@pytest.mark.parametrize("param", ["offset=100000000000000000000", "offset=9223372036854775808", "limit=100000"])
def test_a_huge_offset_or_limit_on_a_list_is_a_422_not_a_500(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]], param: str
) -> None:
    make_user("admin.xh", Role.ADMIN, division_code=XUHUI)
    h = login("admin.xh")
    for path in ("/api/v1/users", "/api/v1/apikeys", "/api/v1/grants"):
        r = client.get(f"{path}?{param}", headers=h)
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert client.get(f"{path}?offset=1000000", headers=h).json() == []


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("k" * 40, "distinct characters"),
        ("Xq7!pL2#mZ9@" * 4, "repeats a pattern"),
        ("onecity-production-key-2026-shanghai-xuhui", "well-known string 'onecity'"),
        ("my-Secret-Key-for-the-city-of-shanghai-2026", "well-known string 'secret'"),
        ("a" * 40 + "Xq7pL2mZ9w", "entropy"),
        ("short-but-random-Xq9", "shorter than 32"),
    ],
)
def test_a_low_entropy_production_secret_is_refused_with_the_reason(secret: str, why: str) -> None:
    with pytest.raises(ConfigurationError, match=why) as err:
        Settings(env=Environment.PRODUCTION, secret_key=secret)
    assert "secrets.token_urlsafe(48)" in str(err.value)
    # a development run does not care
    assert Settings(env=Environment.DEVELOPMENT, secret_key=secret).secret_key == secret


def test_a_generated_production_secret_is_accepted() -> None:
    import secrets

    for value in (secrets.token_urlsafe(48), secrets.token_urlsafe(24), secrets.token_hex(32)):
        assert Settings(env=Environment.PRODUCTION, secret_key=value).secret_key == value


# -- X-Forwarded-For ---------------------------------------------------------------------------


def _login_clients(db: Database) -> list[str]:
    with db.sessions() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "core.auth.login").order_by(AuditEntry.seq)
        ).all()
    return [e.detail["client"] for e in entries]


@pytest.fixture
def live(settings: Settings, db: Database) -> Iterator[Callable[[Settings], str]]:
    """A real uvicorn server configured as ``onecity serve`` configures it, on 127.0.0.1."""
    import socket

    import uvicorn

    from onecity.api.app import create_app
    from onecity.api.proxies import uvicorn_config

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(s: Settings) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn_config(create_app(s, db=db), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(1200):  # a loaded machine can take a while
            if server.started:
                break
            threading.Event().wait(0.05)
        assert server.started, "the test server did not start within 60 s"
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


def test_a_forwarded_for_header_from_an_untrusted_local_peer_is_ignored(
    live: Callable[[Settings], str], settings: Settings, db: Database, make_user: Callable[..., Any]
) -> None:
    make_user("clerk.xh", Role.COUNTER_CLERK)
    base = live(settings)  # ONECITY_TRUSTED_PROXIES unset: nobody is trusted, not even 127.0.0.1
    r = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": "clerk.xh", "password": "wrong-password-1"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert r.status_code == 401
    assert _login_clients(db) == ["127.0.0.1"]


def test_a_forwarded_for_header_from_a_configured_proxy_names_the_client(
    live: Callable[[Settings], str], settings: Settings, db: Database, make_user: Callable[..., Any]
) -> None:
    make_user("clerk.xh", Role.COUNTER_CLERK)
    base = live(settings.model_copy(update={"trusted_proxies": "127.0.0.1, 10.1.0.0/16"}))
    for chain in ("203.0.113.9", "198.51.100.7, 203.0.113.9", "198.51.100.7, 203.0.113.9, 10.1.2.3"):
        r = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "clerk.xh", "password": "wrong-password-1"},
            headers={"X-Forwarded-For": chain},
        )
        assert r.status_code == 401
    # the right-most address that is not one of our proxies: what a client prepends is not believed
    assert _login_clients(db) == ["203.0.113.9"] * 3


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(ConfigurationError, match="ONECITY_TRUSTED_PROXIES"):
        Settings(env=Environment.TEST, trusted_proxies="10.0.0.1, proxy.local")


# -- sign-in throttle ---------------------------------------------------------------------------


def _wrong(client: TestClient, username: str = "clerk.xh") -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": "wrong-password-1"})


def test_concurrent_wrong_passwords_cannot_beat_the_throttle(client: TestClient, make_user: Callable[..., Any]) -> None:
    make_user("clerk.xh", Role.COUNTER_CLERK)
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def guess() -> None:
        start.wait()
        r = _wrong(client)
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    # five guesses are checked (login_max_failures), every other one waits
    assert sorted(statuses) == [401] * 5 + [429] * 7, statuses


def test_the_wait_grows_per_address_and_stays_short_per_account(
    client: TestClient, app: Any, make_user: Callable[..., Any]
) -> None:
    make_user("clerk.xh", Role.COUNTER_CLERK)
    # in the future: housekeeping, started with the app on the real clock, must not forget these failures
    with clock.frozen(datetime(2036, 12, 4, 9, 0, tzinfo=UTC)) as advance:
        _grows(client, app, advance)


def _grows(client: TestClient, app: Any, advance: Callable[[float], None]) -> None:
    for _ in range(5):
        assert _wrong(client).status_code == 401
    r = _wrong(client)
    assert r.status_code == 429 and int(r.headers["retry-after"]) == 30
    advance(31)
    assert _wrong(client).status_code == 401  # the sixth failure: now 60 s
    r = _wrong(client)
    assert r.status_code == 429 and int(r.headers["retry-after"]) == 60
    advance(61)
    assert _wrong(client).status_code == 401  # the seventh: this address waits 120 s ...
    r = _wrong(client)
    assert r.status_code == 429 and int(r.headers["retry-after"]) == 120
    # ... but the account, which anyone can name, waits at most a minute: its owner signs in elsewhere
    elsewhere = TestClient(app, raise_server_exceptions=False, client=("192.0.2.44", 5000))
    assert elsewhere.post("/api/v1/auth/token", data={"username": "clerk.xh", "password": PASSWORD}).status_code == 429
    advance(61)
    r = elsewhere.post("/api/v1/auth/token", data={"username": "clerk.xh", "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert _wrong(client).status_code == 429  # the guessing address still waits
    # a success starts the account afresh: five more guesses before it waits again
    for _ in range(4):
        assert (
            elsewhere.post("/api/v1/auth/token", data={"username": "clerk.xh", "password": "nope-nope-1"}).status_code
            == 401
        )


def test_one_address_guessing_many_accounts_is_throttled(client: TestClient, app: Any) -> None:
    for i in range(app.state.settings.login_client_max_failures):
        assert _wrong(client, f"someone.{i}").status_code == 401
    r = _wrong(client, "someone.else")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.headers["content-type"].startswith("application/problem+json")


def test_one_person_mistyping_does_not_lock_out_everyone_behind_the_same_address(
    client: TestClient, make_user: Callable[..., Any]
) -> None:
    make_user("clerk.xh", Role.COUNTER_CLERK)
    make_user("clerk.next-desk", Role.COUNTER_CLERK)
    for _ in range(5):
        assert _wrong(client).status_code == 401
    assert _wrong(client).status_code == 429  # this account waits, from this address ...
    r = client.post("/api/v1/auth/token", data={"username": "clerk.next-desk", "password": PASSWORD})
    assert r.status_code == 200, r.text  # ... the colleague at the next desk signs in


# -- roles through the API ----------------------------------------------------------------------


def test_an_admin_changes_roles_within_their_area_and_never_beyond_their_own(
    client: TestClient, db: Database, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> None:
    make_user("admin.xh", Role.ADMIN, Role.COUNTER_CLERK, Role.REVIEWER, division_code=XUHUI)
    clerk = make_user("clerk.xh", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    other = make_user("clerk.hp", Role.COUNTER_CLERK, division_code=HUANGPU)
    city = make_user("steward.city", Role.DATA_STEWARD, division_code=CITY)
    h = login("admin.xh")
    r = client.patch(
        f"/api/v1/users/{clerk.id}", headers=h, json={"roles": ["counter_clerk", "reviewer"], "reason": "promoted"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["roles"] == ["counter_clerk", "reviewer"]
    with db.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "core.user.updated").order_by(AuditEntry.seq.desc())
        ).first()
    assert entry is not None and entry.purpose == "promoted"
    assert entry.detail["roles"] == {"from": ["counter_clerk"], "to": ["counter_clerk", "reviewer"]}
    # a role the admin does not hold
    r = client.patch(f"/api/v1/users/{clerk.id}", headers=h, json={"roles": ["approver"], "reason": "promoted"})
    assert r.status_code == 403 and "approver" in r.json()["detail"]
    # another district's staff, and city-level staff, are outside a district admin's area
    for target in (other, city):
        r = client.patch(f"/api/v1/users/{target.id}", headers=h, json={"roles": ["reviewer"], "reason": "help"})
        assert r.status_code == 403, r.text
    # nobody changes their own roles
    me = client.get("/api/v1/auth/me", headers=h).json()["id"]
    r = client.patch(f"/api/v1/users/{me}", headers=h, json={"roles": ["admin"], "reason": "tidy up"})
    assert r.status_code == 403 and "another administrator" in r.json()["detail"]
    with db.sessions() as session:
        assert [str(r) for r in session.get_one(User, clerk.id).roles] == ["counter_clerk", "reviewer"]
