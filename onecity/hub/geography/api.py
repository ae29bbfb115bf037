"""Divisions with their counts and children, their outlines, and which grid a point is in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from onecity.api.deps import PrincipalDep, SessionDep
from onecity.core import policy
from onecity.core.errors import NotFound
from onecity.hub.geography import service
from onecity.hub.geography.index import GeoIndex

router = APIRouter(tags=["divisions"])

DivisionCode = Annotated[str, Path(pattern=r"^\d{12}$", description="12-digit GB/T 2260 statistical code")]
GEOJSON = "application/geo+json"


class CountsPublic(BaseModel):
    subdistricts: int
    towns: int
    townships: int
    communities: int
    villages: int
    grids: int


class ChildPublic(BaseModel):
    code: str
    name: str
    name_en: str
    level: str
    kind: str | None
    area_km2: float | None
    counts: CountsPublic


class DivisionDetailPublic(BaseModel):
    code: str
    name: str
    name_en: str
    level: str
    kind: str | None
    parent_code: str | None
    area_km2: float | None
    centroid: tuple[float, float] | None
    path: list[ChildPublic]
    counts: CountsPublic
    children: list[ChildPublic]


class LocationPublic(BaseModel):
    grid: str
    community: str
    township: str
    district: str


@router.get(
    "/divisions/{code}",
    response_model=DivisionDetailPublic,
    summary="A division with its area, what it holds (townships, communities, villages, grids) and children",
)
def division_detail(code: DivisionCode, session: SessionDep, principal: PrincipalDep) -> Any:
    return service.division_detail(session, principal, code)


@router.get(
    "/divisions/{code}/geometry",
    summary="A division's outline as a GeoJSON Feature (WGS 84 lon/lat)",
    responses={200: {"content": {GEOJSON: {}}}},
)
def division_geometry(
    code: Annotated[str, Path(pattern=r"^(\d{12}|\d{15})$", description="12-digit division or 15-digit grid code")],
    session: SessionDep,
    principal: PrincipalDep,
) -> JSONResponse:
    return JSONResponse(service.division_geometry(session, principal, code), media_type=GEOJSON)


@router.get(
    "/geography/locate",
    response_model=LocationPublic,
    summary="The grid, community or village, township and district of a point",
    responses={404: {"description": "the point is outside the city"}},
)
def locate(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
) -> Any:
    policy.require(principal, service.READ)
    found = _index(request, session).locate_one(lon, lat)
    if found is None:
        raise NotFound(f"({lon}, {lat}) is outside the city's grids")
    return found


def _index(request: Request, session: SessionDep) -> GeoIndex:
    """The grids of this app's database, indexed on first use and kept for the process's life."""
    index: GeoIndex | None = getattr(request.app.state, "geo_index", None)
    if index is None:
        index = GeoIndex.from_session(session)
        request.app.state.geo_index = index
    return index
