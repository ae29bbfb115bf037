"""The ASGI application: API under ``/api/v1``, the web pages, static assets, the periodic tasks.

``create_app(settings)`` wires one process: a :class:`~onecity.core.db.Database`, the bus
chosen by ``ONECITY_BUS_URL``, and from every installed part (:mod:`onecity.parts`) its
routers, pages, event consumers and periodic tasks (the outbox relay among them).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI
from fastapi.routing import _IncludedRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onecity import __version__
from onecity.api import logredact, problems
from onecity.api.limits import BodySizeLimit, JsonDepthLimit
from onecity.api.proxies import TrustedProxies
from onecity.core import notify, parts
from onecity.core.bus import Bus, connect_bus, consumers
from onecity.core.config import Settings, get_settings
from onecity.core.db import Database
from onecity.core.identity.callers import CallerCache
from onecity.core.tasks import TaskContext, TaskRunner

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
}


_SECURITY_RAW = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """Add :data:`SECURITY_HEADERS` (and ``Cache-Control: no-store`` under the API) to every
    HTTP response that does not set them itself.

    A pure ASGI middleware: it rewrites the ``http.response.start`` message on its way out.
    Starlette's ``BaseHTTPMiddleware`` (``@app.middleware("http")``) did the same through a task
    group and a memory stream per request, which cost more than many routes' own work.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith(API_PREFIX)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _SECURITY_RAW if k not in present]
                if api and b"cache-control" not in present:
                    headers.append(_NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def api_router() -> APIRouter:
    """Every installed part's ``api`` routers, under ``/api/v1``."""
    router = APIRouter(prefix=API_PREFIX, responses=problems.RESPONSES)
    for module in parts.import_all("api"):
        router.include_router(module.router)
    return router


@dataclass
class _PrefixGuard(_IncludedRouter):
    """An included router that refuses, without looking at its routes, a path outside its prefix.

    FastAPI tries the app's included routers in order, each through every route it holds: a
    request for ``/open311/v2`` or a page walked the ~120 routes under ``/api/v1`` first (about a
    fifth of an Open311 POST's CPU in a profile, 0.3 ms a request on a loaded machine). Every
    route of a router with a prefix starts with it, so a path that does not can match none."""

    prefix_guard: str = ""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not get_route_path(scope).startswith(self.prefix_guard):
            return Match.NONE, {}
        return super().matches(scope)


def _guard_prefixes(app: FastAPI) -> None:
    """Put a :class:`_PrefixGuard` in front of each top-level router that has a prefix."""
    routes = app.router.routes
    for i, route in enumerate(routes):
        if type(route) is _IncludedRouter:
            prefix = route.include_context.prefix + route.original_router.prefix
            if prefix:
                routes[i] = _PrefixGuard(
                    original_router=route.original_router,
                    include_context=route.include_context,
                    prefix_guard=prefix,
                )


def _freeze_startup_heap() -> None:
    """Take what start-up built out of the cyclic garbage collector's sight (``gc.freeze``).

    Start-up leaves hundreds of thousands of objects that live as long as the process (466,000 on
    an empty city): modules, routes, pydantic models, the grid and geocoding indexes the warm-up
    steps built. Every full collection walked them all again, 60–100 ms each (0.1 ms frozen);
    profiles of the API server under load put those walks at up to half the Python CPU of a big
    request (bench/README.md). Called once, at the end of the lifespan's start-up, after the
    warm-up steps have finished (they are awaited there), so what they built is frozen too. No
    collection first: start-up left no garbage to find (measured) and one would cost every test's
    app 80 ms. The ingest worker does the same (:mod:`onecity.sensing.cli`). Frozen objects are
    still freed when their last reference goes; only cycles among them wait for
    :func:`gc.unfreeze`, which the lifespan calls on shutdown.
    """
    gc.freeze()


def create_app(settings: Settings | None = None, *, db: Database | None = None, bus: Bus | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = db or Database(settings.database_url)
    bus = bus or connect_bus(settings.bus_url, stream=settings.bus_stream)
    notify.configure(settings)  # the mail server (or the log) this process sends through

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the parts' start-up steps (the grid index): done before the server says it is ready,
        # so the first requests do not pay for them; abandoned if the server stops meanwhile
        stopping = threading.Event()
        try:
            for step in parts.startup():
                await asyncio.to_thread(parts.resolve(step), db, stopping)
        except asyncio.CancelledError:
            stopping.set()
            raise
        await bus.connect()
        runner = TaskRunner(TaskContext(db, settings, bus), parts.tasks())
        app.state.tasks = runner
        runner.start()
        subscriptions = await consumers.subscribe_all(db, bus)
        _freeze_startup_heap()
        try:
            yield
        finally:
            gc.unfreeze()  # what start-up built may be garbage now (tests build many apps in one process)
            for subscription in subscriptions:
                await subscription.stop()
            await runner.stop()
            await bus.close()

    app = FastAPI(
        title="OneCity",
        version=__version__,
        summary="City digital governance: data hub, government services and urban operations",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings, app.state.db, app.state.bus = settings, db, bus
    app.state.callers = CallerCache(settings.caller_cache_seconds)  # who bearer credentials stand for
    logredact.install()  # no api_key from a query string in the access log
    problems.install(app)

    app.add_middleware(SecurityHeaders)  # innermost: sees the final response of every route
    app.add_middleware(JsonDepthLimit)  # inside the size limit: it reads only bodies that passed it
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(TrustedProxies, trusted=settings.trusted_proxy_list)  # outermost: runs first
    app.include_router(api_router())
    for module in parts.import_all("routes"):  # at their own paths: the API docs, /sta/v1.1, /open311/v2
        # GeoReport v2 answers errors in its own shape; the others as problem+json
        errors = problems.OPEN311_RESPONSES if module.router.prefix.startswith("/open311") else problems.RESPONSES
        app.include_router(module.router, responses=errors)
    from onecity.web import mount as mount_web

    mount_web(app)
    _guard_prefixes(app)
    return app
