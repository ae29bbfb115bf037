"""Signing in: password checks with throttling, access tokens, browser sessions with CSRF.

Throttling counts failed attempts per username, per username from one client address, and
per client address in the database, so it holds across API workers, and counts them
atomically, so concurrent guesses cannot slip past it: after ``login_max_failures`` failures
inside the window each further attempt must wait, first ``login_first_delay_seconds`` and then
twice as long each time, answered with 429 and a ``Retry-After`` before the password is even
checked. The wait of a username is capped low (``login_account_max_delay_seconds``): anyone
can type a username, and a lock-out would let anyone lock anyone out. The long wait is keyed
per username *and* address: one person mistyping in an office does not lock out every
colleague behind the same address; the address alone waits only after
``login_client_max_failures`` failures, which is guessing many accounts.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import timedelta

from sqlalchemy import ColumnElement, case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from onecity.core import audit, clock
from onecity.core.audit import Outcome
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.errors import AuthenticationRequired, TooManyAttempts
from onecity.core.identity.models import LoginAttempt, LoginThrottle, User, WebSession
from onecity.core.identity.passwords import hash_password, needs_rehash, verify_password
from onecity.core.identity.principal import ANONYMOUS, Principal
from onecity.core.identity.service import principal_for_user
from onecity.core.identity.tokens import issue_access_token


def _delay(settings: Settings, failures: ColumnElement[int], limit: int, cap: int) -> ColumnElement[float]:
    """Seconds to wait after ``failures``: none below ``limit``, then doubling up to ``cap``."""
    whens: list[tuple[ColumnElement[bool], float]] = [(failures < limit, 0.0)]
    step, wait = 0, float(settings.login_first_delay_seconds)
    while wait < cap and step < 32:
        whens.append((failures == limit + step, wait))
        step, wait = step + 1, wait * 2
    return case(*whens, else_=float(cap))


def _pair(username: str, client: str) -> str:
    """The throttle key of one username from one address (hashed: both together may be longer than a key)."""
    return "pair:" + hashlib.sha256(f"{username}@{client}".encode()).hexdigest()[:40]


def _insert_missing(session: Session, key: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, last_at=0.0, blocked_until=0.0)
        .on_conflict_do_nothing(index_elements=["key"])
    )


def _reserve(session: Session, settings: Settings, username: str, client: str) -> None:
    """Count this attempt as a failure before the password is checked, or refuse it with 429.

    One conditional ``UPDATE … RETURNING`` per key: it only succeeds while the key is not
    waiting, and it sets the next wait in the same statement, so concurrent attempts are
    counted one after the other (row lock on PostgreSQL, the write lock on SQLite) and none
    slips through between a check and a write. A refused attempt rolls the transaction back,
    so knocking on a waiting address does not push the account's wait further.
    A success gives the reservation back (:func:`_settle`).
    """
    now = clock.now().timestamp()
    forget_before = now - settings.login_window_minutes * 60
    keys = (
        (f"account:{username}", settings.login_max_failures, settings.login_account_max_delay_seconds),
        (_pair(username, client), settings.login_max_failures, settings.login_client_max_delay_seconds),
        (f"client:{client}", settings.login_client_max_failures, settings.login_client_max_delay_seconds),
    )
    for key, _limit, _cap in keys:
        _insert_missing(session, key)
    t = LoginThrottle
    sqlite = session.get_bind().dialect.name == "sqlite"
    for key, limit, cap in keys:
        failures = case((t.last_at < forget_before, 1), else_=t.failures + 1)
        counted = session.execute(
            update(t)
            .where(t.key == key, t.blocked_until <= now)
            .values(
                failures=failures,
                last_at=func.max(t.last_at, now) if sqlite else func.greatest(t.last_at, now),
                # no wait yet: 0, not "now", or a concurrent attempt stamped a moment earlier would wait
                blocked_until=case((failures < limit, 0.0), else_=now + _delay(settings, failures, limit, cap)),
            )
            .returning(t.failures)
        ).first()
        if counted is None:
            until = session.scalar(select(func.max(t.blocked_until)).where(t.key.in_([k for k, *_ in keys]))) or now
            wait = max(1, math.ceil(until - now))
            raise TooManyAttempts(
                f"too many failed sign-ins; try again in {wait} second(s)"
                if wait < 120
                else f"too many failed sign-ins; try again in {math.ceil(wait / 60)} minute(s)",
                retry_after=wait,
            )


def _settle(session: Session, username: str, client: str) -> None:
    """A right password: the account starts afresh (from this address too); the address gets back the attempt
    it was charged."""
    t = LoginThrottle
    session.execute(
        update(t)
        .where(t.key.in_([f"account:{username}", _pair(username, client)]))
        .values(failures=0, blocked_until=0.0)
    )
    session.execute(update(t).where(t.key == f"client:{client}", t.failures > 0).values(failures=t.failures - 1))


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
        _reserve(session, settings, username, client)
        user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password) and user is not None and user.active
    with db.transaction() as session:
        session.add(LoginAttempt(username=username, client=client, at=clock.now(), success=ok))
        if ok:
            _settle(session, username, client)
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


def session_principal(session: Session, token: str) -> tuple[Principal, WebSession, User] | None:
    row = session.get(WebSession, _hash(token))
    if row is None or row.expires_at <= clock.now():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return principal_for_user(user), row, user


def close_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def check_csrf(row: WebSession, submitted: str | None) -> bool:
    return submitted is not None and secrets.compare_digest(row.csrf_token, submitted)
