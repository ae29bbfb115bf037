"""What the example part tells others: a note was written."""

from __future__ import annotations

from pydantic import BaseModel

from onecity.core import events


class Noted(BaseModel):
    note_id: str


NOTED = events.event_type("example.note.written", Noted)
