"""Notifications: written with the change, sent after commit through a real SMTP server, once, retried."""

from __future__ import annotations

import secrets
import smtplib
from collections.abc import Callable, Iterator

import pytest

from onecity.core import notify, parts
from onecity.core.bus.consumers import deliver_pending
from onecity.core.db import Database
from onecity.core.identity.models import User
from onecity.core.identity.principal import system_principal
from onecity.core.identity.roles import PrincipalKind
from onecity.core.notify.models import OutgoingMessage
from onecity.core.notify.senders import Channel, DeliveryFailed, LogOnlySender, SmtpSender
from tests.mail_support import Mailbox, smtp_server  # noqa: F401 (a fixture)

SYSTEM = system_principal("test")
TEXT = {
    "zh": {"title": "您的办件已办结", "body": "办件 SH-1 已准予许可。"},
    "en": {"title": "Your case is decided", "body": "Case SH-1 was approved."},
}


@pytest.fixture
def mail(smtp_server: tuple[Mailbox, int]) -> Iterator[Mailbox]:  # noqa: F811
    box, port = smtp_server
    notify.configure(
        senders={
            Channel.EMAIL: SmtpSender("127.0.0.1", port, "OneCity <noreply@city.test>", tls="none", timeout=5),
            Channel.SMS: LogOnlySender(Channel.SMS),
        }
    )
    try:
        yield box
    finally:
        notify.configure(senders={Channel.EMAIL: LogOnlySender(Channel.EMAIL), Channel.SMS: LogOnlySender(Channel.SMS)})


def _resident(db: Database, make_user: Callable[..., User], email: str | None) -> str:
    user = make_user("resident-a", kind=PrincipalKind.CITIZEN)
    with db.transaction() as session:
        row = session.get(User, user.id)
        assert row is not None
        row.email = email
    return str(user.id)


def test_a_notification_reaches_the_inbox_and_the_mail_server_once(
    db: Database, make_user: Callable[..., User], mail: Mailbox
) -> None:
    uid = _resident(db, make_user, "resident@example.cn")
    with db.transaction() as session:
        notify.notify(session, SYSTEM, uid, kind="services.case.decided", text=TEXT, link="/services/my")
        # nothing leaves while the transaction is open
        assert mail.messages == []
    deliver_pending(db)
    assert len(mail.to("resident@example.cn")) == 1
    msg = mail.to("resident@example.cn")[0]
    assert "您的办件已办结" in msg["Subject"] and "Your case is decided" in msg["Subject"]
    body = msg.get_content()
    assert "办件 SH-1 已准予许可。" in body and "Case SH-1 was approved." in body and "/services/my" in body
    # delivering again (a redelivery) sends nothing more
    with db.sessions() as session:
        row = session.query(OutgoingMessage).one()
        assert row.sent_at is not None and row.delivered and row.attempts == 1
    assert notify.deliver(db, row.id) is False
    assert len(mail.messages) == 1


def test_a_rolled_back_change_sends_nothing(db: Database, make_user: Callable[..., User], mail: Mailbox) -> None:
    uid = _resident(db, make_user, "resident@example.cn")
    with pytest.raises(RuntimeError), db.transaction() as session:
        notify.notify(session, SYSTEM, uid, kind="services.case.decided", text=TEXT)
        raise RuntimeError("the change failed")
    deliver_pending(db)
    assert mail.messages == []


def test_a_failing_mail_server_is_tried_again_and_the_mail_arrives_once(
    db: Database, make_user: Callable[..., User], mail: Mailbox
) -> None:
    uid = _resident(db, make_user, "resident@example.cn")
    with db.transaction() as session:
        notify.notify(session, SYSTEM, uid, kind="services.case.decided", text=TEXT)
    mail.refuse = 1
    with pytest.raises(DeliveryFailed):
        deliver_pending(db)
    with db.sessions() as session:
        row = session.query(OutgoingMessage).one()
        assert row.sent_at is None and row.attempts == 1 and "451" in row.last_error
    assert deliver_pending(db) >= 1  # the event is still pending: the consumer tries again
    assert len(mail.to("resident@example.cn")) == 1
    assert deliver_pending(db) == 0
    assert len(mail.messages) == 1


def test_no_address_means_inbox_only(db: Database, make_user: Callable[..., User], mail: Mailbox) -> None:
    uid = _resident(db, make_user, None)
    with db.transaction() as session:
        notify.notify(session, SYSTEM, uid, kind="services.case.decided", text=TEXT)
    deliver_pending(db)
    assert mail.messages == []
    with db.sessions() as session:
        from onecity.core.identity.models import User
        from onecity.core.identity.service import principal_for_user

        me = principal_for_user(session.get_one(User, uid))
        assert notify.unread_count(session, me) == 1
        [note] = notify.inbox(session, me)
        assert note.text["en"]["title"] == "Your case is decided"


#: A part's account finder (:attr:`onecity.core.parts.Part.accounts`) for the test below: person 7 has one.
LINKED: dict[int, str] = {}


def linked(session: object, person_id: int) -> str | None:
    return LINKED.get(person_id)


def test_a_person_is_told_through_their_linked_account_and_no_account_is_told_nothing(
    db: Database, make_user: Callable[..., User], mail: Mailbox
) -> None:
    uid = _resident(db, make_user, "resident@example.cn")
    LINKED[7] = uid
    finder = parts.Part(name="links", package="tests.core", accounts=f"{__name__}:linked")
    try:
        with parts.using([finder]), db.transaction() as session:
            note = notify.notify_person(session, SYSTEM, 7, kind="services.case.decided", text=TEXT, link="/x")
            assert note is not None and note.user_id == uid
            assert notify.notify_person(session, SYSTEM, 8, kind="services.case.decided", text=TEXT) is None
            assert notify.notify_person(session, SYSTEM, None, kind="services.case.decided", text=TEXT) is None
        with parts.using([]), db.transaction() as session, pytest.raises(RuntimeError, match="linked account"):
            notify.notify_person(session, SYSTEM, 7, kind="services.case.decided", text=TEXT)
    finally:
        LINKED.clear()
    deliver_pending(db)
    assert len(mail.messages) == 1 and len(mail.to("resident@example.cn")) == 1


def test_a_secret_body_is_blanked_once_sent(db: Database, mail: Mailbox) -> None:
    with db.transaction() as session:
        notify.queue(
            session, SYSTEM, channel=Channel.EMAIL, to="new@example.cn", subject="code", body="123456", secret=True
        )
    deliver_pending(db)
    assert "123456" in mail.to("new@example.cn")[0].get_content()
    with db.sessions() as session:
        assert session.query(OutgoingMessage).one().body == ""


def test_the_smtp_sender_maps_a_dead_server_to_delivery_failed() -> None:
    sender = SmtpSender("127.0.0.1", 1, "OneCity <noreply@city.test>", tls="none", timeout=2)
    with pytest.raises(DeliveryFailed) as err:
        sender.send(notify.Message(Channel.EMAIL, "x@example.cn", "s", "b"))
    assert isinstance(err.value.__cause__, (OSError, smtplib.SMTPException))


def test_production_without_a_mail_server_says_so(caplog: pytest.LogCaptureFixture) -> None:
    from onecity.core.config import Environment, Settings
    from onecity.core.notify.senders import senders_from

    settings = Settings(env=Environment.PRODUCTION, secret_key=secrets.token_urlsafe(48), database_url="sqlite://")
    with caplog.at_level("WARNING", logger="onecity.core.notify.senders"):
        chosen = senders_from(settings)
    assert not chosen[Channel.EMAIL].real and not chosen[Channel.SMS].real
    assert "ONECITY_SMTP_HOST is not set" in caplog.text
    assert senders_from(settings.model_copy(update={"smtp_host": "mail.example.cn"}))[Channel.EMAIL].real
