"""Signing in: password checks with throttling, access tokens, browser sessions with CSRF.

Throttling counts failed attempts per username and per client address in the database, so
it holds across API workers: after ``login_max_failures`` failures inside the window the
next attempt is refused with 429 and a ``Retry-After`` before the password is even checked.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from onecity.core import audit, clock
from onecity.core.audit import Outcome
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.errors import AuthenticationRequired, TooManyAttempts
from onecity.core.identity.models import LoginAttempt, User, WebSession
from onecity.core.identity.passwords import hash_password, needs_rehash, verify_password
from onecity.core.identity.principal import ANONYMOUS, Principal
from onecity.core.identity.service import principal_for_user
from onecity.core.identity.tokens import issue_access_token


def _check_throttle(session: Session, settings: Settings, username: str, client: str) -> None:
    since = clock.now() - timedelta(minutes=settings.login_window_minutes)
    for column, value in ((LoginAttempt.username, username), (LoginAttempt.client, client)):
        failures = (
            session.scalar(
                select(func.count())
                .select_from(LoginAttempt)
                .where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at > since)
            )
            or 0
        )
        if failures >= settings.login_max_failures:
            oldest = session.scalar(
                select(func.min(LoginAttempt.at)).where(
                    column == value, LoginAttempt.success.is_(False), LoginAttempt.at > since
                )
            )
            wait = settings.login_window_minutes * 60
            if oldest is not None:
                wait = max(
                    1, int((oldest + timedelta(minutes=settings.login_window_minutes) - clock.now()).total_seconds())
                )
            raise TooManyAttempts(
                f"too many failed sign-ins; try again in {max(1, wait // 60)} minute(s)", retry_after=wait
            )


def authenticate(db: Database, settings: Settings, username: str, password: str, client: str) -> User | None:
    """The active user with these credentials, or None; 429 when throttled.

    Runs its own short transactions around the password check instead of one long one:
    Argon2 takes ~0.2 s by design, and holding a transaction (on SQLite, the write lock)
    across it would stall every other request. The attempt is recorded whatever the
    outcome, so failures count towards the throttle.
    """
    username = username.strip().lower()[:64]
    client = client[:64]
    with db.transaction() as session:
        _check_throttle(session, settings, username, client)
        user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password) and user is not None and user.active
    with db.transaction() as session:
        session.add(LoginAttempt(username=username, client=client, at=clock.now(), success=ok))
        if not ok or user is None:
            audit.record(
                session,
                ANONYMOUS,
                "core.auth.login",
                object_type="user",
                object_id=None,
                outcome=Outcome.DENIED,
                detail={"username": username, "client": client},
            )
            return None
        if needs_rehash(user.password_hash):
            session.get(User, user.id).password_hash = hash_password(password)  # type: ignore[union-attr]
        audit.record(
            session,
            principal_for_user(user),
            "core.auth.login",
            object_type="user",
            object_id=user.id,
            division_code=user.division_code,
            detail={"client": client},
        )
    return user


BAD_CREDENTIALS = "wrong username or password, or the account is disabled"


def issue_token(settings: Settings, user: User) -> tuple[str, int]:
    return issue_access_token(settings.secret_key, user.id, settings.access_token_minutes)


def active_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise AuthenticationRequired("the account no longer exists or is disabled")
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, settings: Settings, user: User) -> tuple[str, WebSession]:
    """A new browser session; returns the cookie value (shown once) and the row."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=clock.now() + timedelta(hours=settings.session_hours),
    )
    session.add(row)
    return token, row


def session_principal(session: Session, token: str) -> tuple[Principal, WebSession] | None:
    row = session.get(WebSession, _hash(token))
    if row is None or row.expires_at <= clock.now():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return principal_for_user(user), row


def close_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def check_csrf(row: WebSession, submitted: str | None) -> bool:
    return submitted is not None and secrets.compare_digest(row.csrf_token, submitted)
