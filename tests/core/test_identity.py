"""Passwords, tokens and sign-in throttling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from onecity.core import clock
from onecity.core.errors import AuthenticationRequired, InvalidInput
from onecity.core.identity.passwords import check_strength, hash_password, verify_password
from onecity.core.identity.roles import Role
from onecity.core.identity.tokens import issue_access_token, read_access_token

SECRET = "s" * 48


def test_passwords_are_argon2id_and_verify() -> None:
    h = hash_password("Correct-horse-9")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "Correct-horse-9")
    assert not verify_password(h, "correct-horse-9")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")


@pytest.mark.parametrize("weak", ["short1!", "onlyletterslong", "1234567890123"])
def test_weak_passwords_are_refused(weak: str) -> None:
    with pytest.raises(InvalidInput):
        check_strength(weak)


def test_tokens_expire_and_cannot_be_forged() -> None:
    start = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    with clock.frozen(start) as advance:
        token, lifetime = issue_access_token(SECRET, "user-1", minutes=15)
        assert lifetime == 900
        assert read_access_token(SECRET, token) == "user-1"
        with pytest.raises(AuthenticationRequired):
            read_access_token("t" * 48, token)
        head, body, sig = token.split(".")
        with pytest.raises(AuthenticationRequired):
            read_access_token(SECRET, f"{head}.{body}x.{sig}")
        advance(15 * 60 + 10)
        with pytest.raises(AuthenticationRequired, match="expired"):
            read_access_token(SECRET, token)


def test_sign_in_is_throttled_after_repeated_failures(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> None:
    make_user("clerk.xh", Role.COUNTER_CLERK)
    for _ in range(5):
        r = client.post("/api/v1/auth/token", data={"username": "clerk.xh", "password": "wrong-password-1"})
        assert r.status_code == 401
    # even the right password is refused now, with a Retry-After
    r = client.post("/api/v1/auth/token", data={"username": "clerk.xh", "password": "Correct-horse-9"})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert r.headers["content-type"].startswith("application/problem+json")


def test_unknown_user_and_wrong_password_look_the_same(client: TestClient, make_user: Callable[..., Any]) -> None:
    make_user("clerk.xh", Role.COUNTER_CLERK)
    a = client.post("/api/v1/auth/token", data={"username": "clerk.xh", "password": "wrong-password-1"})
    b = client.post("/api/v1/auth/token", data={"username": "nobody.here", "password": "wrong-password-1"})
    assert a.status_code == b.status_code == 401
    assert a.json()["detail"] == b.json()["detail"]
