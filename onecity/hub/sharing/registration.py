"""Residents register themselves: a real-name check against the population registry and a one-time code.

1. :func:`ask_code` — the resident gives their name, their ID number (its check character is
   checked) and an e-mail address. When a living person in the population registry has that
   ID number *and* that name, and no account is linked to them yet, a six-digit code is
   e-mailed; otherwise nothing is sent. The answer is the same ticket either way, so the form
   tells nobody whether an ID number is in the registry (:mod:`onecity.core.identity.codes`).
   Asking is limited per ID number and per client address.
2. :func:`register` — the code, a username and a password: the citizen's account is created,
   holding the e-mail address and the phone on record, and linked to the person
   (:func:`~onecity.hub.sharing.service.link_resident`), audited as the self-registration's.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from onecity.core import audit, notify
from onecity.core.audit import Outcome
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.errors import InvalidInput, Words
from onecity.core.identity import codes
from onecity.core.identity.models import User
from onecity.core.identity.passwords import prehash
from onecity.core.identity.principal import ANONYMOUS, system_principal
from onecity.core.identity.roles import PrincipalKind
from onecity.core.identity.service import create_user
from onecity.core.notify.senders import Channel
from onecity.hub.registries.identifiers import InvalidIdentifier, validate_resident_id
from onecity.hub.registries.models import Person, PersonStatus
from onecity.hub.sharing.models import ResidentLink
from onecity.hub.sharing.service import link_resident

#: Who creates a self-registered account (the audit log's actor).
REGISTRATION = system_principal("self-registration")

PURPOSE = "register"

#: An address with one ``@``, a dot in its domain and no spaces (RFC 5322 allows more; we do not need it).
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise InvalidInput("enter an e-mail address like name@example.cn", words=Words("register.email_invalid"))
    return email


def check_id_number(id_number: str) -> str:
    id_number = id_number.strip().upper()
    try:
        validate_resident_id(id_number)
    except InvalidIdentifier as err:
        raise InvalidInput(err.detail, words=Words("register.id_invalid")) from err
    return id_number


def ask_code(db: Database, settings: Settings, *, name: str, id_number: str, email: str, client: str) -> str:
    """Send a code when the name and ID number are a living resident's without an account; the ticket
    either way."""
    name = "".join(name.split())
    id_number = check_id_number(id_number)
    email = check_email(email)
    if not name:
        raise InvalidInput("enter your name as on your ID card", words=Words("register.name_missing"))
    with db.transaction() as session:
        person = session.scalar(select(Person).where(Person.id_number == id_number))
        live = (
            person is not None
            and person.status == PersonStatus.ALIVE
            and person.name == name
            and session.scalar(select(ResidentLink.user_id).where(ResidentLink.person_id == person.id)) is None
        )
        row, code = codes.issue(
            session,
            settings,
            purpose=PURPOSE,
            subject=codes.subject_key(settings.secret_key, f"id:{id_number}"),
            client=client,
            payload={"person_id": person.id, "email": email} if live and person is not None else {},
            live=live,
        )
        if live:
            subject, body = codes.mail_text(PURPOSE, code, settings.code_minutes)
            notify.queue(
                session, REGISTRATION, channel=Channel.EMAIL, to=email, subject=subject, body=body, secret=True
            )
        audit.record(
            session,
            ANONYMOUS,
            "hub.resident.registration_code",
            object_type="one_time_code",
            object_id=row.id,
            subject=f"person:{person.id}" if live and person is not None else None,
            division_code=person.division_code if live and person is not None else None,
            outcome=Outcome.SUCCESS if live else Outcome.DENIED,
            detail={"client": client[:64]},
        )
        return row.id


def register(
    db: Database, settings: Settings, *, ticket: str, code: str, username: str, password: str, client: str
) -> User:
    """The account of the person the ticket was issued for, once the code is right (then it is spent)."""
    hashed = prehash(password)  # Argon2 before any transaction: it takes a good part of a second
    payload = codes.check(db, settings, purpose=PURPOSE, ticket=ticket, code=code)
    with db.transaction() as session:
        codes.spend(session, ticket)
        person = session.get(Person, int(payload["person_id"]))
        if person is None or person.status != PersonStatus.ALIVE:
            raise InvalidInput("the code is wrong or has expired; ask for a new one", words=codes.WRONG_CODE)
        user = create_user(
            session,
            REGISTRATION,
            username=username,
            password=hashed,
            kind=PrincipalKind.CITIZEN,
            division_code=person.division_code,
            display_name=person.name,
        )
        user.email = str(payload["email"])
        user.phone = person.phone
        link_resident(session, REGISTRATION, username=user.username, id_number=person.id_number)
        audit.record(
            session,
            REGISTRATION,
            "hub.resident.registered",
            object_type="user",
            object_id=user.id,
            subject=f"person:{person.id}",
            division_code=person.division_code,
            detail={"client": client[:64], "proof": "one-time code by e-mail"},
        )
        return user
