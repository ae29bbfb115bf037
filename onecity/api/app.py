"""The ASGI application: API under ``/api/v1``, the web pages, static assets, the relay.

``create_app(settings)`` wires one process: a :class:`~onecity.core.db.Database`, the bus
chosen by ``ONECITY_BUS_URL`` and the outbox relay running beside the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response

from onecity import __version__
from onecity.api import problems
from onecity.api.limits import BodySizeLimit
from onecity.api.proxies import TrustedProxies
from onecity.api.routes import admin, audit, auth, docs, system
from onecity.core import housekeeping
from onecity.core.bus import Bus, connect_bus, consumers
from onecity.core.bus.relay import OutboxRelay
from onecity.core.config import Settings, get_settings
from onecity.core.db import Database
from onecity.ops import clocks as ops_clocks

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


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    from onecity.credentials import api as credentials
    from onecity.documents import api as documents
    from onecity.hub.catalogue import api as catalogue
    from onecity.hub.geography import api as geography
    from onecity.hub.sharing import api as sharing
    from onecity.ops import api as ops
    from onecity.sensing import api as sensing
    from onecity.services import api as services

    for module in (
        system,
        auth,
        admin,
        audit,
        catalogue,
        sharing,
        geography,
        credentials,
        sensing,
        services,
        documents,
        ops,
    ):
        router.include_router(module.router)
    return router


async def _housekeeping(db: Database, settings: Settings, every_seconds: float = 600.0) -> None:
    while True:
        try:
            trimmed = await asyncio.to_thread(housekeeping.trim, db, settings)
            log.debug("housekeeping: %s", trimmed)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("housekeeping failed; will try again")
        await asyncio.sleep(every_seconds)


def create_app(settings: Settings | None = None, *, db: Database | None = None, bus: Bus | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = db or Database(settings.database_url)
    bus = bus or connect_bus(settings.bus_url, stream=settings.bus_stream)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await bus.connect()
        relay = OutboxRelay(db, bus, poll_seconds=settings.outbox_poll_seconds)
        app.state.relay = relay
        tasks = [
            asyncio.create_task(relay.run(), name="outbox-relay"),
            asyncio.create_task(_housekeeping(db, settings), name="housekeeping"),
            asyncio.create_task(ops_clocks.run_periodically(db), name="ops-clocks"),
        ]
        subscriptions = await consumers.subscribe_all(db, bus)
        try:
            yield
        finally:
            for subscription in subscriptions:
                await subscription.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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
    problems.install(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.path.startswith(API_PREFIX):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(TrustedProxies, trusted=settings.trusted_proxy_list)  # outermost: runs first
    app.include_router(api_router())
    app.include_router(docs.router)
    from onecity.sensing.sta.routes import router as sensorthings

    app.include_router(sensorthings)  # /sta/v1.1: the OGC standard's own paths, beside /api/v1
    from onecity.ops.open311 import router as open311

    app.include_router(open311)  # /open311/v2: GeoReport v2's own paths
    from onecity.web import mount as mount_web

    mount_web(app)
    return app
