"""Divisions with their counts and children, their outlines, and which grid a point is in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from onecity.api.deps import PrincipalDep, SessionDep
from onecity.core import policy
from onecity.core.errors import NotFound
from onecity.core.identity.principal import Principal
from onecity.hub.geography import service
from onecity.hub.geography.geocode import geocoder_for
from onecity.hub.geography.index import Location, grid_index

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


#: A point's coordinates as query parameters (WGS 84).
Lon = Annotated[float, Query(ge=-180, le=180, description="longitude, WGS 84")]
Lat = Annotated[float, Query(ge=-90, le=90, description="latitude, WGS 84")]


def _located(session: Session, principal: Principal, lon: float, lat: float) -> Location:
    """The grid and divisions of a point, for a reader of the geography; 404 outside the city."""
    policy.require(principal, service.READ)
    found = grid_index(session).locate_one(lon, lat)
    if found is None:
        raise NotFound(f"({lon}, {lat}) is outside the city's grids")
    return found


@router.get(
    "/geography/locate",
    response_model=LocationPublic,
    summary="The grid, community or village, township and district of a point",
    responses={404: {"description": "the point is outside the city"}},
)
def locate(session: SessionDep, principal: PrincipalDep, lon: Lon, lat: Lat) -> Any:
    return _located(session, principal, lon, lat)


class SuggestionPublic(BaseModel):
    """A place an address may stand for: names in both languages, how well it matched, where it is."""

    name: str
    name_en: str
    label: str
    label_en: str
    kind: str
    precision: str
    score: float
    lon: float
    lat: float
    grid: str
    community: str | None
    community_name: str | None
    community_name_en: str | None
    township: str | None
    township_name: str | None
    township_name_en: str | None
    district: str | None
    district_name: str | None
    district_name_en: str | None


class GeocodePublic(BaseModel):
    query: str
    #: The one place the query stands for, when the geocoder is sure enough to open a case there.
    best: SuggestionPublic | None
    suggestions: list[SuggestionPublic]


class ReversePublic(BaseModel):
    """What is at a point: its grid and divisions, and the nearest address with its distance."""

    lon: float
    lat: float
    location: LocationPublic
    nearest: SuggestionPublic | None
    distance_m: float | None


@router.get(
    "/geography/geocode",
    response_model=GeocodePublic,
    summary="Places an address may stand for (typos, missing numbers and pinyin allowed), best first",
)
def geocode(
    session: SessionDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(min_length=1, max_length=200, description="an address, e.g. 徐汇区长乐路12弄")],
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> Any:
    policy.require(principal, service.READ)
    coder = geocoder_for(session)
    suggestions = coder.geocode(q, limit=max(limit, 5))
    best, _ = coder.place(q, suggestions)
    return {
        "query": q,
        "best": best.as_dict() if best else None,
        "suggestions": [m.as_dict() for m in suggestions[:limit]],
    }


@router.get(
    "/geography/reverse",
    response_model=ReversePublic,
    summary="The grid and divisions of a point and the nearest address in the gazetteer",
    responses={404: {"description": "the point is outside the city"}},
)
def reverse(session: SessionDep, principal: PrincipalDep, lon: Lon, lat: Lat) -> Any:
    found = _located(session, principal, lon, lat)
    nearest = geocoder_for(session).reverse(lon, lat)
    return {
        "lon": lon,
        "lat": lat,
        "location": found,
        "nearest": nearest[0].as_dict() if nearest else None,
        "distance_m": round(nearest[1], 1) if nearest else None,
    }
