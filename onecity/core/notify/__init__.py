"""Notifications: a person's inbox, and e-mail or text messages sent after commit, never lost.

A service (or a part's event consumer) calls :func:`notify` inside its transaction: it adds an
inbox entry and, when the person gave an e-mail address, an :class:`OutgoingMessage`, and
publishes :data:`MESSAGE_QUEUED` through the outbox — all in that one transaction, so a
rollback leaves no message and a commit cannot lose one. :func:`notify_person` does the same for
a registry person, through the account linked to them (none: nothing). :func:`queue` does the
second half alone (a one-time code to an address that has no account yet).

Sending happens after commit, outside any transaction: the consumer ``core.notify.deliver``
(:mod:`onecity.core.notify.consumers`) reads the message, hands it to the channel's
:class:`~onecity.core.notify.senders.Sender` and marks it sent in a short transaction of its
own. A sender that fails raises, the bus redelivers, the message is tried again; a message
already marked sent is not sent again, so a redelivery after success sends nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from onecity.core import clock, parts, policy
from onecity.core import events as core_events  # (this package has an events module of its own)
from onecity.core.config import Settings, load_settings
from onecity.core.db import Database
from onecity.core.errors import NotFound
from onecity.core.identity.models import User
from onecity.core.identity.principal import Principal
from onecity.core.notify.events import MESSAGE_QUEUED, MessageQueued
from onecity.core.notify.models import Notification, OutgoingMessage
from onecity.core.notify.senders import Channel, DeliveryFailed, Message, Sender, senders_from

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")


_senders: dict[Channel, Sender] | None = None


def configure(settings: Settings | None = None, *, senders: dict[Channel, Sender] | None = None) -> None:
    """Choose the senders of this process: from ``settings`` (the app does this) or given (tests)."""
    global _senders
    _senders = senders if senders is not None else senders_from(settings or load_settings(need_secret=False))


def sender(channel: Channel) -> Sender:
    if _senders is None:
        configure()
    assert _senders is not None
    return _senders[channel]


def queue(
    session: Session,
    principal: Principal,
    *,
    channel: Channel,
    to: str,
    subject: str,
    body: str,
    secret: bool = False,
    user_id: str | None = None,
) -> OutgoingMessage:
    """Write a message to send after this transaction commits."""
    msg = OutgoingMessage(
        channel=str(channel),
        recipient=to,
        subject=subject[:200],
        body=body,
        secret=secret,
        user_id=user_id,
        created_at=clock.now(),
        attempts=0,
        last_error="",
        delivered=False,
    )
    session.add(msg)
    session.flush()
    core_events.publish(
        session,
        MESSAGE_QUEUED,
        MessageQueued(message_id=msg.id, channel=str(channel)),
        principal=principal,
        reason="message queued",
    )
    return msg


def both_languages(text: dict[str, dict[str, str]]) -> tuple[str, str]:
    """An e-mail's subject and body in Chinese and then English (the reader's choice of language is the site's)."""
    subject = " / ".join(dict.fromkeys(text[lang]["title"] for lang in LANGUAGES))
    body = "\n\n".join(f"{text[lang]['title']}\n{text[lang]['body']}" for lang in LANGUAGES)
    return subject, body


def notify(
    session: Session,
    principal: Principal,
    user_id: str,
    *,
    kind: str,
    text: dict[str, dict[str, str]],
    link: str = "",
    site_url: str = "",
) -> Notification:
    """Put a notification in ``user_id``'s inbox and, when they gave an e-mail address, e-mail it.

    ``text`` holds the title and body in every language (``{"zh": {"title", "body"}, "en": …}``).
    """
    missing = [lang for lang in LANGUAGES if not text.get(lang, {}).get("title")]
    if missing:
        raise ValueError(f"a notification needs a title in {', '.join(missing)}")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    note = Notification(user_id=user.id, kind=kind, text=text, link=link, created_at=clock.now(), read_at=None)
    session.add(note)
    if user.email:
        subject, body = both_languages(text)
        if link:
            body += f"\n\n{site_url.rstrip('/')}{link}"
        queue(session, principal, channel=Channel.EMAIL, to=user.email, subject=subject, body=body, user_id=user.id)
    return note


def account_of(session: Session, person_id: int) -> str | None:
    """The account linked to the registry person ``person_id``, or None (they have none: the counter).

    The part that keeps the links finds it (:attr:`onecity.core.parts.Part.accounts`); the core
    names no part.
    """
    finders = parts.account_finders()
    if not finders:
        raise RuntimeError("no installed part finds a person's linked account (Part.accounts)")
    for find in finders:
        user_id: str | None = find(session, person_id)
        if user_id is not None:
            return user_id
    return None


def notify_person(
    session: Session,
    principal: Principal,
    person_id: int | None,
    *,
    kind: str,
    text: dict[str, dict[str, str]],
    link: str = "",
) -> Notification | None:
    """:func:`notify` the account linked to the registry person ``person_id`` (a firm's: its legal
    representative's); nothing, and None, when there is no person or they have no account.
    """
    user_id = None if person_id is None else account_of(session, person_id)
    if user_id is None:
        return None
    return notify(session, principal, user_id, kind=kind, text=text, link=link)


def text_from(
    catalogue: dict[str, dict[str, str]], title: str, body: str, values: dict[str, dict[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """A notification's text from a part's words catalogue (``MESSAGES``), filled per language with ``values``."""
    return {
        lang: {
            "title": catalogue[lang][title].format(**(values or {}).get(lang, {})),
            "body": catalogue[lang][body].format(**(values or {}).get(lang, {})),
        }
        for lang in LANGUAGES
    }


def deliver(db: Database, message_id: str) -> bool:
    """Send one queued message unless it was sent; True when it was sent now.

    Runs outside any transaction: the channel may take seconds, and no write lock is held while
    it does. A failure is counted on the message and raised, for the bus to deliver it again.
    """
    with db.reading() as session:
        row = session.get(OutgoingMessage, message_id)
        if row is None or row.sent_at is not None:
            return False
        channel = Channel(row.channel)
        message = Message(channel, row.recipient, row.subject, row.body, id=row.id)
    out = sender(channel)
    try:
        out.send(message)
    except DeliveryFailed as err:
        with db.transaction() as session:
            session.execute(
                update(OutgoingMessage)
                .where(OutgoingMessage.id == message_id)
                .values(attempts=OutgoingMessage.attempts + 1, last_error=str(err)[:300])
            )
        raise
    with db.transaction() as session:
        values: dict[str, Any] = {
            "sent_at": clock.now(),
            "attempts": OutgoingMessage.attempts + 1,
            "delivered": out.real,
            "last_error": "",
        }
        row = session.get(OutgoingMessage, message_id)
        if row is not None and row.secret:
            values["body"] = ""  # a one-time code is kept only as its hash (identity.codes)
        session.execute(
            update(OutgoingMessage)
            .where(OutgoingMessage.id == message_id, OutgoingMessage.sent_at.is_(None))
            .values(**values)
        )
    return True


# -- the inbox ------------------------------------------------------------------------------


def inbox(session: Session, principal: Principal, *, limit: int = 100, offset: int = 0) -> list[Notification]:
    """My notifications, newest first."""
    policy.require(principal, "core.me.read")
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == principal.id)
            .order_by(Notification.created_at.desc(), Notification.id)
            .limit(limit)
            .offset(offset)
        )
    )


def unread_count(session: Session, principal: Principal) -> int:
    policy.require(principal, "core.me.read")
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == principal.id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, principal: Principal, notification_id: str | None = None) -> int:
    """Mark one of my notifications read (or all of them, without an id); how many changed."""
    policy.require(principal, "core.me.read")
    stmt = update(Notification).where(Notification.user_id == principal.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = session.execute(stmt.values(read_at=clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)


def get(session: Session, principal: Principal, notification_id: str) -> Notification:
    """One of my notifications (another's is not found)."""
    policy.require(principal, "core.me.read")
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != principal.id:
        raise NotFound(f"no notification {notification_id}")
    return note


__all__ = [
    "MESSAGE_QUEUED",
    "Channel",
    "DeliveryFailed",
    "Message",
    "Notification",
    "OutgoingMessage",
    "Sender",
    "account_of",
    "configure",
    "deliver",
    "inbox",
    "mark_read",
    "notify",
    "notify_person",
    "queue",
    "text_from",
    "unread_count",
]
