"""The division browser: the city → a district → a township → a community's grids, on a map with counts.

Each level is its own page (``/divisions/{code}``), so the browser's back button, links and
bookmarks work, and the table of children with their counts is there without JavaScript.
The map draws the children's outlines from ``/geo/divisions/{code}.geojson`` (the city's own
data, simplified for transfer: no base-map tiles, it works offline); clicking a child opens
its page.
"""

from __future__ import annotations

import asyncio
import json
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse

from onecity.api.deps import DatabaseDep, PrincipalDep, SessionDep, SettingsDep
from onecity.core.divisions import MUNICIPALITY_CODE
from onecity.core.errors import NotFound
from onecity.hub.geography import service, tiles
from onecity.web.deps import PagePrincipalDep
from onecity.web.i18n import translator
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)

Code = Annotated[str, Path(pattern=r"^\d{12}$")]


def map_data(detail: service.Detail, lang: str) -> dict[str, Any]:
    """What the map script needs: where the outlines are, which property to colour by, its words."""
    t = translator(lang)
    grids_level = detail.level == "community"
    return {
        "geojson": f"/geo/divisions/{detail.code}.geojson",
        "lang": lang,
        "drill": not grids_level,
        "metric": "area_km2" if grids_level else "grids",
        "metricLabel": t("divisions.col.area") if grids_level else t("divisions.col.grids"),
        "labels": {
            "communities": t("divisions.col.communities"),
            "villages": t("divisions.col.villages"),
            "grids": t("divisions.col.grids"),
            "area": t("divisions.col.area"),
        },
        "unavailable": t("divisions.map.unavailable"),
        "hint": t("divisions.map.drill") if not grids_level else "",
    }


def _page(request: Request, session: SessionDep, principal: PagePrincipalDep, code: str) -> Response:
    detail = service.division_detail(session, principal, code)
    lang = current_language(request)
    return render(
        request,
        "geography/divisions.html",
        detail=detail,
        map_data=map_data(detail, lang),
        grids_level=detail.level == "community",
    )


@router.get("/divisions", response_class=HTMLResponse)
def city_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    return _page(request, session, principal, MUNICIPALITY_CODE)


@router.get("/divisions/{code}", response_class=HTMLResponse)
def division_page(request: Request, code: Code, session: SessionDep, principal: PagePrincipalDep) -> Response:
    return _page(request, session, principal, code)


@router.get("/geo/divisions/{code}.geojson")
def children_geojson(code: Code, session: SessionDep, principal: PrincipalDep) -> Response:
    """The children's outlines for the map; signed-in staff only, like the page."""

    body = json.dumps(service.children_geojson(session, principal, code), ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type="application/geo+json", headers={"Cache-Control": "private, max-age=3600"})


# -- the base map ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _mbtiles(path: FilePath) -> tiles.MBTiles:
    return tiles.MBTiles(path)


@router.get("/geo/tiles/{z}/{x}/{y}.pbf")
async def base_tile(
    z: Annotated[int, Path(ge=0, le=tiles.MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    settings: SettingsDep,
    db: DatabaseDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """One vector tile of the base map (the city's own geography; see :mod:`onecity.hub.geography.tiles`).

    Cut in a worker thread on first ask (reading the geography takes seconds, once per process)
    and kept; from the MBTiles file ``onecity geo tiles`` wrote when ``ONECITY_BASEMAP_MBTILES`` names one."""
    if x >= 1 << z or y >= 1 << z:
        raise NotFound(f"no tile {z}/{x}/{y}: x and y are below 2^zoom")
    if settings.basemap_mbtiles is not None and settings.basemap_mbtiles.is_file():
        data = await asyncio.to_thread(_mbtiles(settings.basemap_mbtiles).tile, z, x, y)
    else:
        data = await asyncio.to_thread(lambda: tiles.basemap(db, session).tile(z, x, y))
    return Response(
        data, media_type="application/vnd.mapbox-vector-tile", headers={"Cache-Control": "private, max-age=86400"}
    )
