"""The audit log for auditors: search by actor, action, object and time, page back, export, verify.

Entries are read through :mod:`onecity.core.audit_queries` (the auditor's area; the export
and the verification check their own policy actions). Keys stored in the chain are shown in
words (:mod:`onecity.web.audit_words`). Verifying walks the whole chain, which takes seconds
on a large log: the page's script reads ``/audit/verify/progress``, a stream of one JSON line
per batch, and draws a progress bar; without script the form posts and waits.
"""

from __future__ import annotations

import io
import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.api.deps import DatabaseDep, SessionDep
from onecity.core import audit_queries, clock, csvout, policy
from onecity.core.audit import AuditEntry, VerifyResult
from onecity.core.identity.models import User
from onecity.core.identity.principal import Principal
from onecity.web import audit_words, districts
from onecity.web.deps import PagePrincipalDep
from onecity.web.i18n import messages, translator
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=120)]


@dataclass
class Filters:
    """The search form as typed, and what it means; ``errors`` maps a field to its message."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    since: str = ""
    until: str = ""
    errors: dict[str, str] | None = None

    def query(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if k != "errors" and v}

    def search_args(self, session: Session) -> audit_queries.Filters:
        """Keyword arguments for :func:`audit_queries.search`: a username names its account,
        other text matches part of the actor's name; dates are whole local days."""
        args: audit_queries.Filters = {
            "action": self.action or None,
            "object_type": self.object_type or None,
            "object_id": self.object_id.strip() or None,
        }
        actor = self.actor.strip()
        if actor:
            user_id = session.scalar(select(User.id).where(User.username == actor))
            if user_id is not None:
                args["actor"] = f"user:{user_id}"
            else:
                args["actor_name"] = actor
        args["since"] = _day(self.since)
        until = _day(self.until)
        args["until"] = until + timedelta(days=1) if until else None
        return args


def _day(text: str) -> datetime | None:
    return datetime.combine(date.fromisoformat(text), time(0), tzinfo=clock.SHANGHAI) if text else None


def _filters(
    request: Request,
    actor: Text = "",
    action: Text = "",
    object_type: Text = "",
    object_id: Text = "",
    since: Text = "",
    until: Text = "",
) -> Filters:
    """The search's query parameters, checked: a bad one is dropped with a message next to its field."""
    t = translator(current_language(request))
    f = Filters(actor, action, object_type, object_id, since, until, {})
    assert f.errors is not None
    for name in ("since", "until"):
        value = getattr(f, name)
        try:
            _day(value)
        except ValueError:
            f.errors[name] = t("audit.search.bad_date")
            setattr(f, name, "")
    if f.since and f.until and f.until < f.since:
        f.errors["until"] = t("audit.search.until_before_since")
        f.until = ""
    if f.action and f.action not in audit_words.known_actions(messages("zh")):
        f.errors["action"] = t("audit.search.bad_action")
        f.action = ""
    if f.object_type and f.object_type not in audit_words.OBJECTS:
        f.errors["object_type"] = t("audit.search.bad_object")
        f.object_type = ""
    return f


FiltersDep = Annotated[Filters, Depends(_filters)]


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    filters: Filters,
    before: int | None = None,
    verified: VerifyResult | None = None,
) -> Response:
    entries = audit_queries.search(
        session, principal, before_seq=before, limit=PAGE_SIZE + 1, **filters.search_args(session)
    )
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    codes = {e.division_code for e in entries if e.division_code}
    # verifying reads the whole chain, so only municipal auditors may (the service says so too)
    can_verify = policy.may(principal, "core.audit.verify") and policy.in_scope(session, principal, "core.audit", None)
    t = translator(current_language(request))
    return render(
        request,
        "audit.html",
        status_code=422 if filters.errors else 200,
        entries=entries,
        names=districts.division_names(session, codes),
        can_verify=can_verify,
        can_export=policy.may(principal, "core.audit.export"),
        verified=verified,
        filters=filters,
        query=filters.query(),
        older=entries[-1].seq if more and entries else None,
        newest=before is not None,
        actions=sorted(
            ((a, audit_words.action_label(a, t)) for a in audit_words.known_actions(messages("zh"))), key=lambda x: x[1]
        ),
        objects=sorted(((o, audit_words.object_label(o, t)) for o in audit_words.OBJECTS), key=lambda x: x[1]),
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    filters: FiltersDep,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return _page(request, session, principal, filters, before=before)


@router.post("/audit/verify", response_class=HTMLResponse)
def verify_chain(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    result = audit_queries.verify(session, principal)
    return _page(request, session, principal, Filters(), verified=result)


@router.get("/audit/verify/progress")
def verify_progress(request: Request, db: DatabaseDep, session: SessionDep, principal: PagePrincipalDep) -> Response:
    """Verify the chain, streaming ``{"done": n, "total": m}`` per batch read and the result last.

    The walk runs in a thread of its own with a session of its own (a read: it holds no
    lock), reporting into a queue the stream empties as it fills."""
    audit_queries.may_verify(session, principal)
    t = translator(current_language(request))
    reports: queue.Queue[tuple[int, int] | VerifyResult | BaseException] = queue.Queue()

    def walk() -> None:
        try:
            with db.sessions() as own:
                reports.put(audit_queries.verify(own, principal, progress=lambda d, n: reports.put((d, n))))
        except BaseException as err:  # the stream re-raises it
            reports.put(err)

    def lines() -> Iterator[str]:
        threading.Thread(target=walk, name="audit-verify", daemon=True).start()
        while True:
            item = reports.get()
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, VerifyResult):
                message = (
                    t("audit.verify.ok", entries=item.entries)
                    if item.ok
                    else t("audit.verify.broken", seq=item.first_bad_seq, reason=item.reason)
                )
                yield (
                    json.dumps({"ok": item.ok, "entries": item.entries, "message": message}, ensure_ascii=False) + "\n"
                )
                return
            yield json.dumps({"done": item[0], "total": item[1]}) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson", headers={"Cache-Control": "no-store"})


@router.get("/audit/export.csv")
def export_csv(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    filters: FiltersDep,
) -> Response:
    """The search's entries as CSV (UTF-8 with a byte-order mark, so spreadsheets read the Chinese)."""
    lang = current_language(request)
    t = translator(lang)
    rows = audit_queries.export(session, principal, **filters.search_args(session))
    names = districts.division_names(session, set())
    buffer = io.StringIO()
    out = csvout.writer(buffer)
    out.writerow([t(f"audit.csv.{c}") for c in CSV_COLUMNS])
    for e in rows:
        out.writerow(_csv_row(e, t, names))
    stamp = clock.local(clock.now()).strftime("%Y%m%d-%H%M")
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )


CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "actor_name",
    "action",
    "action_words",
    "object_type",
    "object_words",
    "object_id",
    "subject",
    "purpose",
    "outcome",
    "division",
    "hash",
)


def _csv_row(e: AuditEntry, t: Any, names: dict[str, Any]) -> list[Any]:
    actor_words = audit_words.system_actor_label(e.actor[7:], t) if e.actor.startswith("system:") else e.actor_name
    return [
        e.seq,
        clock.local(e.at).isoformat(timespec="seconds"),
        e.actor,
        actor_words,
        e.action,
        audit_words.action_label(e.action, t),
        e.object_type,
        audit_words.object_label(e.object_type, t),
        e.object_id or "",
        e.subject or "",
        e.purpose or "",
        t(f"outcome.{e.outcome}"),
        e.division_code or "",
        e.hash,
    ]
