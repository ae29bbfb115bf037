"""What the notifications piece tells the rest of the platform: a message waits to be sent."""

from __future__ import annotations

from pydantic import BaseModel

from onecity.core.events import event_type


class MessageQueued(BaseModel):
    message_id: str
    channel: str


#: Published in the transaction that queued the message; ``core.notify.deliver`` sends it after commit.
MESSAGE_QUEUED = event_type("core.message.queued", MessageQueued)
