"""Rendering a page: the template engine and what every page knows about its visitor.

Every page gets the same context: the language and its ``t()``, whether large-text mode is
on, the signed-in principal, the CSRF token for its forms and the navigation the principal
may use (the links each installed part's manifest declares). Routes add only their own
data, so no route can forget one of these.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, TemplateNotFound
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from onecity.core import clock, notify, parts, policy
from onecity.core.identity.principal import ANONYMOUS, Principal
from onecity.core.identity.roles import PrincipalKind
from onecity.web import audit_words, i18n
from onecity.web.deps import CSRF_STATE

TEMPLATES = Path(__file__).parent / "templates"
A11Y_COOKIE = "a11y"
LARGE_TEXT = "large"
LARGE_TEXT_CLASS = "large-text"


def local_time(value: datetime | None) -> str:
    """A stored UTC time as Shanghai wall-clock time."""
    return clock.local(value).strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def written_in(text: str | None) -> str | None:
    """The language a name people typed is written in, for its element's ``lang`` (``zh-CN`` when it holds
    Chinese characters, else nothing): a rule or place named in Chinese stays Chinese on the English page,
    marked so that screen readers and the words checks read it as such."""
    return "zh-CN" if text and _CJK.search(text) else None


def _unchanged(path: Path) -> Callable[[], bool]:
    mtime = path.stat().st_mtime
    return lambda: path.stat().st_mtime == mtime


class PartTemplates(BaseLoader):
    """Templates a part keeps in its own package: ``"<part>/page.html"`` is ``<package>/templates/page.html``.

    Looked up after ``web/templates`` (where the parts written before this loader keep theirs),
    so a new part ships its pages' templates inside its package.
    """

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        name, _, rest = template.partition("/")
        for part in parts.installed():
            spec = importlib.util.find_spec(part.package) if part.name == name and rest else None
            for location in (spec.submodule_search_locations or []) if spec else []:
                path = Path(location) / "templates" / rest
                if path.is_file():
                    return path.read_text(encoding="utf-8"), str(path), _unchanged(path)
        raise TemplateNotFound(template)


templates = Jinja2Templates(directory=TEMPLATES)
templates.env.loader = ChoiceLoader([FileSystemLoader(TEMPLATES), PartTemplates()])
templates.env.filters["local_time"] = local_time
templates.env.globals["written_in"] = written_in
templates.env.globals["role_label"] = i18n.role_label
templates.env.globals["audit_action"] = audit_words.action_label
templates.env.globals["audit_object"] = audit_words.object_label
templates.env.globals["audit_system"] = audit_words.system_actor_label


def current_language(request: Request) -> str:
    default = getattr(request.app.state.settings, "default_language", "zh")
    return i18n.language(request.cookies.get(i18n.LANG_COOKIE), default)


def large_text(request: Request) -> bool:
    return request.cookies.get(A11Y_COOKIE) == LARGE_TEXT


def current_principal(request: Request) -> Principal:
    principal: Principal = getattr(request.state, "principal", ANONYMOUS)
    return principal


def csrf_token(request: Request) -> str | None:
    """The signed-in session's CSRF token, which every form posted by the pages carries.

    Read from what :func:`onecity.web.deps.page_principal` kept; when the request failed
    before that (its row then expired by the rollback), only an already-loaded value is used.
    """
    kept = getattr(request.state, CSRF_STATE, None)
    if kept is not None:
        return str(kept)
    web_session = getattr(request.state, "web_session", None)
    if web_session is None:
        return None
    value = inspect(web_session).dict.get("csrf_token")
    return str(value) if value is not None else None


def here(request: Request) -> str:
    """The current path and query: where the language switch and sign-in come back to."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def page_context(request: Request) -> dict[str, Any]:
    lang = current_language(request)
    principal = current_principal(request)
    nav = [(n.key, n.path) for n in parts.navigation() if n.action is None or policy.may(principal, n.action)]
    token = csrf_token(request)
    return {
        "lang": lang,
        "html_lang": i18n.HTML_LANG[lang],
        "t": i18n.translator(lang),
        "large_text": large_text(request),
        "body_class": LARGE_TEXT_CLASS if large_text(request) else "",
        "principal": principal,
        "csrf_token": token,
        "here": here(request),
        "nav": nav,
        "current_path": request.url.path,
        "unread": unread_messages(request, principal) if token else None,
    }


def unread_messages(request: Request, principal: Principal) -> int | None:
    """A resident's unread notifications, for the header (None: not a resident, or no database to ask)."""
    if principal.kind not in (PrincipalKind.CITIZEN, PrincipalKind.ENTERPRISE):
        return None
    # the request's own transaction when it has one: a second connection taken from the pool while
    # the request holds one is how a few concurrent pages exhaust a small pool (SQLite's is 4) and
    # each wait for the others for 30 s
    own: Session | None = getattr(request.state, "db_session", None)
    if own is not None and own.in_transaction():
        return notify.unread_count(own, principal)
    db = getattr(request.app.state, "db", None)
    if db is None:
        return None
    with db.reading() as session:
        return notify.unread_count(session, principal)


def render(
    request: Request, template: str, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """Render ``template`` with the page context; pages for a signed-in visitor are never cached."""
    ctx = page_context(request)
    ctx.update(context)
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code, headers=headers)
    if ctx["principal"].is_authenticated or ctx.get("no_store"):
        response.headers["Cache-Control"] = "no-store"
    return response
