"""The public home page: Shanghai's districts on a map, and what the platform is made of."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from onecity.api.deps import SessionDep
from onecity.web import districts
from onecity.web.deps import PagePrincipalDep
from onecity.web.i18n import translator
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)

PARTS = ("hub", "services", "operations")


def map_data(summaries: list[districts.DistrictSummary], lang: str) -> dict[str, Any]:
    """What the map script needs: one entry per district outline, and the tooltip's words."""
    t = translator(lang)
    return {
        "geojson": "/geo/districts.geojson",
        "townshipsLabel": t("home.map.townships"),
        "unit": t("home.map.unit"),
        "unavailable": t("home.map.unavailable"),
        "districts": [{"name": d.gb, "code": d.code, "label": d.label(lang), "value": d.townships} for d in summaries],
    }


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    lang = current_language(request)
    summaries = districts.district_summaries(session)
    return render(
        request,
        "home.html",
        districts=summaries,
        map_data=map_data(summaries, lang),
        township_total=sum(d.townships for d in summaries),
        parts=PARTS,
    )


@router.get("/geo/districts.geojson")
def districts_geojson() -> Response:
    """The district outlines the map draws (the city's own data: no base-map tiles offline)."""
    return Response(
        districts.districts_geojson(),
        media_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=86400"},
    )
