"""Senders: one interface for every channel a message leaves by (e-mail, text message).

:class:`SmtpSender` delivers e-mail through a real mail server with the standard library's
``smtplib``. A text-message gateway implements the same :class:`Sender` interface; none is
built yet, and :class:`LogOnlySender` — which writes the message to the log and delivers
nothing — stands in for one (and for e-mail when no mail server is configured). Its ``real``
is False, so nothing reports such a message as delivered to a person.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from enum import StrEnum
from typing import Protocol

from onecity.core.config import Environment, Settings
from onecity.core.errors import Unavailable

log = logging.getLogger(__name__)


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


@dataclass(frozen=True)
class Message:
    channel: Channel
    to: str
    subject: str
    body: str
    #: The outgoing row's id: the e-mail's Message-ID, so a receiver can tell a resend from a second message.
    id: str = ""


class DeliveryFailed(Unavailable):
    """The channel refused or could not take the message now; it is tried again later."""


class Sender(Protocol):
    channel: Channel
    #: False for a stand-in that delivers nothing (:class:`LogOnlySender`).
    real: bool

    def send(self, message: Message) -> None:
        """Hand ``message`` over, or raise :class:`DeliveryFailed`."""


class SmtpSender:
    """E-mail through an SMTP server (RFC 5321), plain, with STARTTLS or over implicit TLS."""

    channel = Channel.EMAIL
    real = True

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        tls: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender, self.tls = host, port, sender, tls
        self.username, self.password, self.timeout = username, password, timeout

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        mail["Message-ID"] = f"<{message.id}@{domain}>" if message.id else make_msgid(domain=domain)
        mail.set_content(message.body)
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail)
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryFailed(f"the mail server {self.host}:{self.port} did not take the message: {err}") from err


class LogOnlySender:
    """Writes each message to the log and delivers nothing: development, and the place of the SMS gateway
    until one is built. Never a delivery to a person."""

    real = False

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def send(self, message: Message) -> None:
        log.warning(
            "NOT DELIVERED (no %s gateway configured; logged only) to %s: %s\n%s",
            self.channel,
            message.to,
            message.subject,
            message.body,
        )


def senders_from(settings: Settings) -> dict[Channel, Sender]:
    if not settings.smtp_host and settings.env == Environment.PRODUCTION:
        log.warning(
            "ONECITY_SMTP_HOST is not set: e-mail (notifications, registration and password-reset codes) is "
            "written to this log instead of being sent — set it in production"
        )
    email: Sender = (
        SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
        )
        if settings.smtp_host
        else LogOnlySender(Channel.EMAIL)
    )
    return {Channel.EMAIL: email, Channel.SMS: LogOnlySender(Channel.SMS)}
