"""One-time codes: six digits sent to a person to prove they hold an address (registration, password reset).

A code is kept only as an HMAC (keyed with the platform's secret, salted with its ticket), lives
``code_minutes``, allows ``code_max_attempts`` tries and is good once. Asking for codes is
limited per subject (an ID number or an account, hashed) and per client address within an hour.

Asking never tells whether the details matched: a request that matches nobody gets a ticket
too (``live=False``), whose code was never sent and never matches, so the answer to a guess is
the same "wrong or expired code" either way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from onecity.core import clock
from onecity.core.config import Settings
from onecity.core.db import Base, Database, new_id
from onecity.core.errors import InvalidInput, TooManyAttempts, Words


class OneTimeCode(Base):
    __tablename__ = "one_time_codes"

    #: The ticket: random, carried by the form between asking and answering.
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    purpose: Mapped[str] = mapped_column(String(16))
    #: HMAC of what the code is about (an ID number, an account): counted for the limit, never shown.
    subject: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(index=True)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]


WRONG_CODE = Words("codes.wrong")
USERNAME_MISSING = Words("reset.username_missing")


def subject_key(secret_key: str, value: str) -> str:
    return hmac.new(secret_key.encode(), f"subject:{value}".encode(), hashlib.sha256).hexdigest()


def _code_hash(secret_key: str, ticket: str, code: str) -> str:
    return hmac.new(secret_key.encode(), f"code:{ticket}:{code}".encode(), hashlib.sha256).hexdigest()


def check_rate(session: Session, settings: Settings, *, purpose: str, subject: str, client: str) -> None:
    """Refuse with 429 once this subject or this address asked for too many codes within the hour."""
    since = clock.now() - timedelta(hours=1)
    c = OneTimeCode
    per_subject = session.scalar(
        select(func.count()).where(c.purpose == purpose, c.subject == subject, c.created_at > since)
    )
    per_client = session.scalar(select(func.count()).where(c.client == client[:64], c.created_at > since))
    if (per_subject or 0) >= settings.code_max_per_subject or (per_client or 0) >= settings.code_max_per_client:
        raise TooManyAttempts("too many codes asked for; try again in an hour", retry_after=3600)


def issue(
    session: Session,
    settings: Settings,
    *,
    purpose: str,
    subject: str,
    client: str,
    payload: dict[str, Any],
    live: bool,
) -> tuple[OneTimeCode, str]:
    """A new ticket and its code (send the code only when ``live``; a ticket that is not live never matches)."""
    check_rate(session, settings, purpose=purpose, subject=subject, client=client)
    now = clock.now()
    row = OneTimeCode(
        id=new_id(),
        purpose=purpose,
        subject=subject,
        client=client[:64],
        payload=payload if live else {},
        created_at=now,
        expires_at=now + timedelta(minutes=settings.code_minutes),
        attempts=0,
        used_at=None,
    )
    code = f"{secrets.randbelow(10**6):06d}"
    # a ticket that is not live keeps the hash of a code nobody was told
    row.code_hash = _code_hash(settings.secret_key, row.id, code if live else secrets.token_hex(16))
    session.add(row)
    session.flush()
    return row, code


def check(db: Database, settings: Settings, *, purpose: str, ticket: str, code: str) -> dict[str, Any]:
    """Count one try of ``code`` for ``ticket`` (committed whatever the outcome) and return the ticket's
    payload when it is right; :class:`InvalidInput` ("wrong or expired") otherwise.

    The code is not spent here: :func:`spend` does that in the transaction that acts on it, so a
    failure there (a username taken) leaves the code good for another try.
    """
    code = code.strip()
    with db.transaction() as session:
        row = session.get(OneTimeCode, ticket[:36], with_for_update=True)
        if (
            row is None
            or row.purpose != purpose
            or row.used_at is not None
            or row.expires_at <= clock.now()
            or row.attempts >= settings.code_max_attempts
        ):
            raise InvalidInput("the code is wrong or has expired; ask for a new one", words=WRONG_CODE)
        row.attempts += 1
        right = hmac.compare_digest(row.code_hash, _code_hash(settings.secret_key, row.id, code))
        payload = dict(row.payload)
    if not right or not payload:
        raise InvalidInput("the code is wrong or has expired; ask for a new one", words=WRONG_CODE)
    return payload


def spend(session: Session, ticket: str) -> None:
    """Use the (checked) code up, in the caller's transaction; refused if it was used meanwhile."""
    row = session.get(OneTimeCode, ticket[:36], with_for_update=True)
    if row is None or row.used_at is not None or row.expires_at <= clock.now():
        raise InvalidInput("the code is wrong or has expired; ask for a new one", words=WRONG_CODE)
    row.used_at = clock.now()


#: What the code is for, as the message says it.
_PURPOSES = {
    "register": ("注册 OneCity 账号", "registering your OneCity account"),
    "reset": ("重设 OneCity 密码", "resetting your OneCity password"),
}


def mail_text(purpose: str, code: str, minutes: int) -> tuple[str, str]:
    """The subject and body of a code's message, in Chinese and English."""
    zh, en = _PURPOSES[purpose]
    subject = f"OneCity 验证码 / verification code: {code}"
    body = (
        f"您正在{zh}。验证码：{code}，{minutes} 分钟内有效，只能使用一次。"
        "如非本人操作，请忽略本邮件；工作人员不会向您索要验证码。\n\n"
        f"Your code for {en} is {code}. It is good for {minutes} minutes, once. "
        "If this was not you, ignore this message; no member of staff will ever ask you for it."
    )
    return subject, body
