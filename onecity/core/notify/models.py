"""A resident's inbox and the messages waiting to leave (e-mail, text)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core.db import Base, new_id


class Notification(Base):
    """One entry of a person's inbox (站内信), in both languages as it was written."""

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: What it is about, namespaced like an event (``services.case.decided``).
    kind: Mapped[str] = mapped_column(String(80))
    #: ``{"zh": {"title": …, "body": …}, "en": {…}}``
    text: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The page it is about (a path on this site), or empty.
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    read_at: Mapped[datetime | None]


class OutgoingMessage(Base):
    """A message written in the transaction that caused it and sent after commit (``core.notify``).

    ``secret`` bodies (one-time codes) are blanked once sent: the code is kept at rest only as a hash.
    """

    __tablename__ = "outgoing_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    #: False when the channel had only a log-only stand-in: written to the log, delivered to nobody.
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
