"""The example part's API: write a note (signed in), under ``/api/v1/example``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from onecity.api.deps import PrincipalDep, SessionDep
from onecity.api.schemas import Strict
from onecity.core import events
from onecity.core.errors import AuthenticationRequired
from tests.core.example_part.events import NOTED, Noted
from tests.core.example_part.models import Note

router = APIRouter(prefix="/example", tags=["example"])


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=200)


@router.post("/notes", status_code=201)
def write_note(body: NoteIn, session: SessionDep, principal: PrincipalDep) -> dict[str, str]:
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in to write a note")
    note = Note(text=body.text)
    session.add(note)
    session.flush()
    events.publish(session, NOTED, Noted(note_id=note.id), principal=principal, reason="example note")
    return {"id": note.id}
