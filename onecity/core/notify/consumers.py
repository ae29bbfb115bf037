"""The consumer that sends queued messages (``core.notify.deliver``).

The sending is the consumer's ``prepare`` step, which runs before — outside — the consumer's
transaction; the transaction itself only records the message id in the consumer's inbox.
A sender that fails raises before that record, so the bus delivers the message again.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from onecity.core import notify
from onecity.core.bus.consumers import consumer
from onecity.core.db import Database
from onecity.core.events import Envelope


def _send(db: Database, envelope: Envelope) -> bool:
    return notify.deliver(db, envelope.typed(notify.MESSAGE_QUEUED).message_id)


@consumer("core.notify.deliver", notify.MESSAGE_QUEUED, prepare=_send)
def sent(session: Session, envelope: Envelope) -> None:
    """Nothing left to do in the transaction: :func:`_send` sent and marked the message."""
