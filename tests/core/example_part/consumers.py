"""The example part hears of its own notes (a real part would hear of another part's events)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from onecity.core.bus.consumers import consumer
from onecity.core.events import Envelope
from tests.core.example_part.events import NOTED

HEARD: list[str] = []


@consumer("example.count-notes", NOTED)
def count_note(session: Session, envelope: Envelope) -> None:
    HEARD.append(envelope.typed(NOTED).note_id)
