"""Health and reference lookups."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, text
from starlette.concurrency import run_in_threadpool

from onecity import __version__
from onecity.api.deps import PrincipalDep, SessionDep
from onecity.api.schemas import ComponentStatus, DivisionPublic, HealthPublic
from onecity.core.divisions import Division, DivisionLevel

router = APIRouter()

#: How long one database ping answers for every health check (seconds). A load balancer polling
#: each process several times a second, or a flood of public health checks, then costs the
#: database one ping a second per process, and the event loop no thread hop per check.
PING_SECONDS = 1.0


async def _database_ping(state: Any) -> tuple[float, str | None]:
    """(latency in ms, None) or (0, the error's name): the newest ping under a second old, or a new one.

    Concurrent checks share the one ping in flight, so its result is never older than a second.
    """
    cached: tuple[float, float, str | None] | None = getattr(state, "health_ping", None)
    now = time.monotonic()
    if cached is not None and now - cached[0] < PING_SECONDS:
        return cached[1], cached[2]
    inflight: asyncio.Future[tuple[float, str | None]] | None = getattr(state, "health_ping_inflight", None)
    if inflight is not None:
        return await asyncio.shield(inflight)
    future: asyncio.Future[tuple[float, str | None]] = asyncio.get_running_loop().create_future()
    state.health_ping_inflight = future

    def ping() -> float:
        t0 = time.perf_counter()
        with state.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return (time.perf_counter() - t0) * 1000

    try:
        result: tuple[float, str | None] = (await run_in_threadpool(ping), None)
    except Exception as err:  # a health check reports failures, it does not raise them
        result = (0.0, type(err).__name__)
    except BaseException:  # cancelled: the checks waiting on this ping are cancelled too
        future.cancel()
        raise
    finally:
        state.health_ping_inflight = None
    state.health_ping = (time.monotonic(), *result)
    future.set_result(result)
    return result


@router.get(
    "/health",
    response_model=HealthPublic,
    tags=["system"],
    summary="Liveness and component status (public)",
    responses={503: {"model": HealthPublic}},
)
async def health(request: Request) -> JSONResponse:
    components: dict[str, ComponentStatus] = {}
    ms, error = await _database_ping(request.app.state)
    if error is None:
        components["database"] = ComponentStatus(
            status="ok", latency_ms=round(ms, 2), detail=request.app.state.db.dialect
        )
    else:
        components["database"] = ComponentStatus(status="down", detail=error)
    bus = request.app.state.bus
    ok = await bus.healthy()
    components["bus"] = ComponentStatus(
        status="ok" if ok else "down", detail=request.app.state.settings.bus_url.split("@")[-1]
    )
    degraded = any(c.status == "down" for c in components.values())
    body = HealthPublic(status="degraded" if degraded else "ok", version=__version__, components=components)
    return JSONResponse(body.model_dump(), status_code=503 if degraded else 200)


@router.get(
    "/divisions",
    response_model=list[DivisionPublic],
    tags=["divisions"],
    summary="Administrative divisions (municipality, districts, townships)",
)
def divisions(
    session: SessionDep,
    principal: PrincipalDep,
    parent: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    level: DivisionLevel | None = None,
) -> list[Division]:
    """Geography is public knowledge, but the API serves signed-in callers only."""
    stmt = select(Division).order_by(Division.code)
    if parent is not None:
        stmt = stmt.where(Division.parent_code == parent)
    if level is not None:
        stmt = stmt.where(Division.level == level)
    return list(session.scalars(stmt))
