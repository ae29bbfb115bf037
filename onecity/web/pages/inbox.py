"""A resident's inbox (站内信): what the platform told them — a case decided, a benefit offered — newest first.

The entries are written by the parts' event consumers through :func:`onecity.core.notify.notify`
(the same that e-mails them); this page lists them in the reader's language, marks them read,
and opens the page an entry is about. The header shows the unread count on every page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from onecity.api.deps import SessionDep
from onecity.core import notify
from onecity.web.deps import PagePrincipalDep
from onecity.web.safety import safe_next
from onecity.web.templating import render

router = APIRouter(include_in_schema=False)

LATEST = 200


@router.get("/me/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    notes = notify.inbox(session, principal, limit=LATEST)
    return render(request, "inbox.html", notes=notes, unread_here=sum(1 for n in notes if n.read_at is None))


@router.post("/me/inbox/read")
def mark_all_read(session: SessionDep, principal: PagePrincipalDep) -> RedirectResponse:
    notify.mark_read(session, principal)
    return RedirectResponse("/me/inbox", status_code=303)


@router.post("/me/inbox/{notification_id}/read")
def mark_one_read(
    session: SessionDep,
    principal: PagePrincipalDep,
    notification_id: str,
    open: Annotated[str, Form(max_length=1)] = "",
) -> RedirectResponse:
    """Mark it read; with ``open=1``, go on to the page it is about."""
    note = notify.get(session, principal, notification_id[:36])
    notify.mark_read(session, principal, note.id)
    target = safe_next(note.link, "/me/inbox") if open and note.link else "/me/inbox"
    return RedirectResponse(target, status_code=303)
