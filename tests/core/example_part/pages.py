"""The example part's page, ``/example``, rendered from the part's own template."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from onecity.api.deps import SessionDep
from onecity.web.templating import render
from tests.core.example_part.models import Note

router = APIRouter(include_in_schema=False)


@router.get("/example", response_class=HTMLResponse)
def example_page(request: Request, session: SessionDep) -> Response:
    return render(request, "example/notes.html", count=session.scalar(select(func.count()).select_from(Note)))
