"""The traffic page: the network coloured by congestion grade, TPI gauge and trend, districts, incidents.

Everything a person reads without JavaScript is rendered here (the city's index, each
district's, the incidents with their cases); ``/static/traffic/traffic.js`` draws the map
(segments over the district outlines), the gauge and the trend from the traffic API.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from onecity.api.deps import SessionDep
from onecity.core import policy
from onecity.core.divisions import Division
from onecity.core.errors import NotFound
from onecity.traffic import service
from onecity.traffic.models import Segment
from onecity.web import i18n
from onecity.web.deps import PagePrincipalDep
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)


@router.get("/traffic", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    policy.require(principal, "traffic.read")
    lang = current_language(request)
    t = i18n.translator(lang)
    try:
        net = service.current_network(session, principal)
    except NotFound:
        return render(request, "traffic/overview.html", network=None, config={})
    now = service.latest_index(session, principal, network=net.key)
    codes = [d["code"] for d in now["districts"]]
    names = {
        d.code: (d.name if lang == "zh" else d.name_en)
        for d in session.scalars(select(Division).where(Division.code.in_(codes)))
    }
    districts = [{**d, "name": names.get(d["code"], d["code"])} for d in now["districts"]]
    incidents = service.list_incidents(session, principal, network=net.key, limit=50)
    road_names = {
        seg.edge_id: (seg.name if lang == "zh" else seg.name_en)
        for seg in session.scalars(
            select(Segment).where(Segment.network == net.key, Segment.edge_id.in_({i.edge_id for i in incidents}))
        )
    }
    config = {
        "segments": f"/api/v1/traffic/segments?network={net.key}",
        "series": f"/api/v1/traffic/index/series?network={net.key}&scope=city&key=city",
        "outline": "/geo/districts.geojson",
        "city": now["city"],
        "lang": lang,
        "labels": {
            **{f"grade.{g}": t(f"traffic.grade.{g}") for g in range(1, 6)},
            "grade.none": t("traffic.grade.none"),
            "map.unavailable": t("traffic.map.unavailable"),
            "city_tpi": t("traffic.city_tpi"),
            "speed": t("traffic.speed"),
        },
    }
    return render(
        request,
        "traffic/overview.html",
        network=net,
        at=service.latest_at(session, net.key),
        city=now["city"],
        districts=districts,
        incidents=incidents,
        road_names=road_names,
        config=config,
    )
