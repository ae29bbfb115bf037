"""A resident who forgot their password sets a new one with a one-time code e-mailed to them.

:func:`ask_reset` takes a username; when it names an active resident's account with an e-mail
address, a code is sent there. The answer is the same ticket either way (no one learns which
usernames exist), and asking is limited per account and per client address
(:mod:`onecity.core.identity.codes`). :func:`reset_with_code` sets the new password and, as an
administrator's reset does, ends every browser session of the account; it is audited as
``core.user.password_reset`` with the account holder as actor.
"""

from __future__ import annotations

from sqlalchemy import select

from onecity.core import audit, notify
from onecity.core.audit import Outcome
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.errors import InvalidInput
from onecity.core.identity import codes
from onecity.core.identity.models import User
from onecity.core.identity.passwords import prehash
from onecity.core.identity.principal import ANONYMOUS, system_principal
from onecity.core.identity.roles import PrincipalKind
from onecity.core.identity.service import principal_for_user, set_password
from onecity.core.notify.senders import Channel

PURPOSE = "reset"
#: Who sends the code (the outbox's actor); the reset itself is the account holder's.
RESET = system_principal("password-reset")
#: Accounts that reset their own password: residents and firms' representatives (staff ask an administrator).
SELF_SERVICE = (PrincipalKind.CITIZEN, PrincipalKind.ENTERPRISE)


def ask_reset(db: Database, settings: Settings, *, username: str, client: str) -> str:
    """Send a code to the account's e-mail address if there is such a resident's account; the ticket either way."""
    username = username.strip().lower()[:64]
    if not username:
        raise InvalidInput("enter your username", words=codes.USERNAME_MISSING)
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        live = user is not None and user.active and user.kind in SELF_SERVICE and bool(user.email)
        row, code = codes.issue(
            session,
            settings,
            purpose=PURPOSE,
            subject=codes.subject_key(settings.secret_key, f"user:{username}"),
            client=client,
            payload={"user_id": user.id} if live and user is not None else {},
            live=live,
        )
        if live and user is not None and user.email:
            subject, body = codes.mail_text(PURPOSE, code, settings.code_minutes)
            notify.queue(session, RESET, channel=Channel.EMAIL, to=user.email, subject=subject, body=body, secret=True)
        audit.record(
            session,
            ANONYMOUS,
            "core.user.reset_code",
            object_type="user",
            object_id=user.id if live and user is not None else None,
            subject=f"user:{user.id}" if live and user is not None else None,
            division_code=user.division_code if live and user is not None else None,
            outcome=Outcome.SUCCESS if live else Outcome.DENIED,
            detail={"client": client[:64]},
        )
        return row.id


def reset_with_code(db: Database, settings: Settings, *, ticket: str, code: str, password: str, client: str) -> User:
    """Set the new password of the account the ticket was issued for; every session of it ends."""
    hashed = prehash(password)
    payload = codes.check(db, settings, purpose=PURPOSE, ticket=ticket, code=code)
    with db.transaction() as session:
        codes.spend(session, ticket)
        user = session.get(User, str(payload["user_id"]), with_for_update={"of": User})
        if user is None or not user.active:
            raise InvalidInput("the code is wrong or has expired; ask for a new one", words=codes.WRONG_CODE)
        # chosen by its holder: not an administrator's temporary one
        return set_password(
            session,
            principal_for_user(user),
            user,
            password=hashed,
            temporary=False,
            reason="forgotten password",
            detail={"client": client[:64], "proof": "one-time code by e-mail"},
        )
