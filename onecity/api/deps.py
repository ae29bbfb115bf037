"""Typed dependencies: the request's database session and acting principal.

``SessionDep`` is one transaction per request, committed after the route returns and
before the response goes out (so a 200 always means "saved"), rolled back on any error.
``PrincipalDep`` insists on an authenticated caller; ``MaybePrincipalDep`` does not.

A caller authenticates with one of:

* ``Authorization: Bearer <JWT>`` from ``POST /api/v1/auth/token``;
* ``Authorization: Bearer oc_…`` — an API key (systems and devices);
* ``Authorization: Basic`` with user ``apikey`` and the key as password (SensorThings clients);
* the ``onecity_session`` cookie of the web pages; unsafe methods then need the session's
  CSRF token in ``X-CSRF-Token`` (or the form field ``csrf_token``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Header, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.errors import AuthenticationRequired, InvalidInput, PermissionDenied
from onecity.core.identity import auth
from onecity.core.identity.callers import Caller, CallerCache
from onecity.core.identity.principal import ANONYMOUS, Principal
from onecity.core.identity.service import API_KEY_PREFIX, api_key_hash, remembered_api_key_caller, user_caller
from onecity.core.identity.tokens import verify_access_token

SESSION_COOKIE = "onecity_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Dependencies that do no I/O are ``async`` so FastAPI runs them on the event loop instead
# of hopping to its thread pool for each one (measured: each hop costs more than the work).


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _finish(session: Session, commit: bool) -> None:
    """Commit (or roll back) and close: the I/O at the end of a request's transaction."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's transaction, as :meth:`Database.transaction` makes it, at one thread hop.

    A plain-``def`` generator would cost two hops through FastAPI's thread pool (one to enter,
    one to leave). Making a session does no I/O (it connects on first use, in the dependency or
    route that uses it, which runs in the pool), so it is made here on the event loop; only the
    commit or rollback at the end goes to the pool, and not even that when nothing touched the
    database. The database is read from the app, not through :func:`get_db`: every dependency
    in the chain costs FastAPI's solver on every request.
    """
    db: Database = request.app.state.db
    session = db.sessions()
    # the page's header reads through it (the unread count) rather than a second pooled connection
    request.state.db_session = session
    try:
        yield session
    except BaseException:
        if session.in_transaction():
            await run_in_threadpool(_finish, session, False)
        else:
            session.close()
        raise
    if session.in_transaction():
        await run_in_threadpool(_finish, session, True)
    else:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _callers(request: Request) -> CallerCache:
    cache: CallerCache = request.app.state.callers
    return cache


def _load_user(session: Session, user_id: str, request: Request) -> Caller:
    user = auth.active_user(session, user_id)
    request.state.user = user  # see resolve_principal
    return user_caller(user)


async def _from_authorization(session: Session, settings: Settings, value: str, request: Request) -> Caller:
    """The caller a bearer token, an API key or Basic ``apikey`` credentials stand for.

    Remembered for a few seconds per process (:mod:`onecity.core.identity.callers`), so a busy
    client costs a dictionary look-up, not a signature check and a database read on a thread.
    """
    scheme, _, credential = value.partition(" ")
    scheme, credential = scheme.lower(), credential.strip()
    if scheme == "bearer" and credential:
        if credential.startswith(API_KEY_PREFIX):
            return await _api_key(session, credential, request)
        callers = _callers(request)
        generation = callers.generation
        user_id = callers.token_subject(credential)
        if user_id is None:
            user_id, expires = verify_access_token(settings.secret_key, credential)
            callers.remember_token(credential, user_id, expires, generation)
        caller = callers.user(user_id)
        if caller is None:
            caller = await run_in_threadpool(_load_user, session, user_id, request)
            callers.remember_user(user_id, caller, generation)
        return caller
    if scheme == "basic" and credential:
        try:
            username, _, password = base64.b64decode(credential, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise AuthenticationRequired("the Basic credentials are not valid base64") from err
        if username == "apikey":
            return await _api_key(session, password, request)
        raise AuthenticationRequired("Basic authentication takes an API key: user 'apikey', the key as password")
    raise AuthenticationRequired("unsupported Authorization header; use 'Bearer <token or API key>'")


async def _api_key(session: Session, secret: str, request: Request) -> Caller:
    callers = _callers(request)
    caller = callers.api_key(api_key_hash(secret))  # remembered: no thread hop
    if caller is None:
        caller = await run_in_threadpool(remembered_api_key_caller, session, secret, callers)
    return caller


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token a state-changing request carries, in the header or a form field."""
    if request.method in SAFE_METHODS:
        return None
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        token = value if isinstance(value, str) else None
    return token


async def resolve_principal(request: Request, session: SessionDep) -> Principal:
    """Who is calling (possibly nobody); remembered on ``request.state`` for auditing.

    ``async``: a bearer credential seen in the last seconds is answered from the caller cache
    on the event loop; only a look-up in the database goes to the thread pool. The resolved
    :class:`Caller` is kept on ``request.state.caller`` (``/auth/me`` answers from it).

    When the caller's ``User`` row is read, it is kept on ``request.state.user`` for the
    request's life: the session's identity map holds objects weakly, so without that reference
    a route reading the caller's own record loaded it and its roles a second time.

    The settings and the submitted CSRF token are read here, not through dependencies of their
    own: every dependency costs FastAPI's solver on every request of every route.
    """
    principal = ANONYMOUS
    header = request.headers.get("authorization")
    if header:
        settings: Settings = request.app.state.settings
        caller = await _from_authorization(session, settings, header, request)
        request.state.caller = caller
        principal = caller.principal
    elif (cookie := request.cookies.get(SESSION_COOKIE)) is not None:
        found = await run_in_threadpool(auth.session_principal, session, cookie)
        if found is not None:
            principal, row, request.state.user = found
            request.state.web_session = row
            if request.method not in SAFE_METHODS and not auth.check_csrf(row, await submitted_csrf(request)):
                raise PermissionDenied(
                    "the form has expired or did not come from this site (CSRF check failed); "
                    "reload the page and try again"
                )
    request.state.principal = principal
    return principal


async def require_principal(principal: Annotated[Principal, Depends(resolve_principal)]) -> Principal:
    if not principal.is_authenticated:
        raise AuthenticationRequired(
            "sign in first: send 'Authorization: Bearer <token>' (POST /api/v1/auth/token) or an API key"
        )
    return principal


MaybePrincipalDep = Annotated[Principal, Depends(resolve_principal)]
PrincipalDep = Annotated[Principal, Depends(require_principal)]


#: Longest purpose, in characters once decoded (the audit log's column).
PURPOSE_MAX = 200


def decode_purpose(raw: str | None) -> str | None:
    """The purpose header as text: HTTP headers are Latin-1, so clients send Chinese percent-encoded
    UTF-8 (``quote(purpose)``); raw UTF-8 bytes (what curl sends) are recovered too."""
    if raw is None:
        return None
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        raw = raw.encode("latin-1").decode("utf-8")
    return unquote(raw)


async def stated_purpose(
    raw: Annotated[
        str | None,
        Header(
            alias="X-OneCity-Purpose",
            # percent-encoded UTF-8 takes up to nine characters for one Chinese character
            max_length=9 * PURPOSE_MAX,
            description="Why personal data is being read (recorded in the audit log); "
            "percent-encode UTF-8, e.g. quote('窗口办件核验')",
        ),
    ] = None,
) -> str | None:
    """The stated purpose of a read, decoded the same way on every route that reads personal data."""
    purpose = decode_purpose(raw)
    if purpose is not None and len(purpose) > PURPOSE_MAX:
        raise InvalidInput(f"the purpose (X-OneCity-Purpose) is at most {PURPOSE_MAX} characters, not {len(purpose)}")
    return purpose


#: Why personal data is being read, from the ``X-OneCity-Purpose`` header, decoded.
PurposeDep = Annotated[str | None, Depends(stated_purpose)]


#: The deepest a list may be paged. Past a million rows a client should filter, not page; and a
#: number past what the database's integers hold would otherwise surface as a 500.
MAX_OFFSET = 1_000_000
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


async def page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many rows (at most 500)")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many rows to skip (at most 1,000,000)")] = 0,
) -> Page:
    """The one pagination of list routes: bounded, so a huge number is a 422, never a 500."""
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(page)]
