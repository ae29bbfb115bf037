"""Health and reference lookups."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, text

from onecity import __version__
from onecity.api.deps import PrincipalDep, SessionDep
from onecity.api.schemas import ComponentStatus, DivisionPublic, HealthPublic
from onecity.core.divisions import Division, DivisionLevel

router = APIRouter()


@router.get(
    "/health",
    response_model=HealthPublic,
    tags=["system"],
    summary="Liveness and component status (public)",
    responses={503: {"model": HealthPublic}},
)
async def health(request: Request) -> JSONResponse:
    import anyio

    components: dict[str, ComponentStatus] = {}

    def _db_ping() -> float:
        t0 = time.perf_counter()
        with request.app.state.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return (time.perf_counter() - t0) * 1000

    try:
        ms = await anyio.to_thread.run_sync(_db_ping)
        components["database"] = ComponentStatus(
            status="ok", latency_ms=round(ms, 2), detail=request.app.state.db.dialect
        )
    except Exception as err:  # a health check reports failures, it does not raise them
        components["database"] = ComponentStatus(status="down", detail=type(err).__name__)
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
