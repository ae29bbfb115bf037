"""``/api/v1/traffic``: the network's segments with their state (GeoJSON), the index, incidents.

Read-only for people: the state is computed from the detectors' Observations every five
minutes, incidents are opened by the detection (and become urban-operations cases).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from onecity.api.deps import PrincipalDep, SessionDep
from onecity.traffic import service
from onecity.traffic.schemas import (
    IncidentPublic,
    IndexNow,
    IndexPoint,
    IndexSeries,
    NetworkPublic,
    SegmentDetail,
    StatePoint,
)

router = APIRouter(prefix="/traffic", tags=["traffic"])
NetworkQ = Annotated[str | None, Query(max_length=40, description="network key, e.g. central-1 (default: the latest)")]
Scope = Annotated[Literal["city", "district", "road"], Query()]
Key = Annotated[str, Query(max_length=40, description="city; a district's 12-digit code; a road key")]


@router.get("/network", response_model=NetworkPublic, summary="The loaded road network")
def get_network(session: SessionDep, principal: PrincipalDep, network: NetworkQ = None) -> NetworkPublic:
    net = service.current_network(session, principal, network)
    return NetworkPublic(
        key=net.key,
        area=net.area,
        seed=net.seed,
        segments=net.segments,
        km=net.km,
        signals=net.signals,
        loaded_at=net.loaded_at,
        latest=service.latest_at(session, net.key),
    )


@router.get("/segments", summary="Segments with their state as GeoJSON (a FeatureCollection)")
def get_segments(
    session: SessionDep,
    principal: PrincipalDep,
    network: NetworkQ = None,
    at: Annotated[datetime | None, Query(description="end of a 5-minute interval (default: the latest)")] = None,
    district: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    road_class: Annotated[Literal["expressway", "arterial", "secondary", "local"] | None, Query()] = None,
) -> dict[str, Any]:
    return service.segments_geojson(
        session, principal, network=network, at=at, district=district, road_class=road_class
    )


@router.get("/segments/{edge_id}", response_model=SegmentDetail, summary="One segment and its recent states")
def get_segment(
    session: SessionDep,
    principal: PrincipalDep,
    edge_id: Annotated[str, Path(max_length=64)],
    network: NetworkQ = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 288,
) -> SegmentDetail:
    seg, states = service.segment_series(session, principal, edge_id, network=network, limit=limit)
    return SegmentDetail(
        edge_id=seg.edge_id,
        name=seg.name,
        name_en=seg.name_en,
        road=seg.road,
        road_class=seg.road_class,
        lanes=seg.lanes,
        free_flow_kmh=seg.speed_kmh,
        length_m=seg.length_m,
        district_code=seg.district_code,
        geometry=seg.geometry,
        states=[
            StatePoint(
                at=s.at, speed_kmh=s.speed_kmh, flow_vph=s.flow_vph, occupancy=s.occupancy, index=s.index, grade=s.grade
            )
            for s in states
        ],
    )


@router.get("/index", response_model=IndexNow, summary="The city's and each district's TPI now (GB/T 33171)")
def get_index(session: SessionDep, principal: PrincipalDep, network: NetworkQ = None) -> IndexNow:
    return IndexNow(**service.latest_index(session, principal, network=network))


@router.get("/index/series", response_model=IndexSeries, summary="The TPI of the city, a district or a road over time")
def get_index_series(
    session: SessionDep,
    principal: PrincipalDep,
    network: NetworkQ = None,
    scope: Scope = "city",
    key: Key = "city",
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> IndexSeries:
    net, rows = service.index_series(
        session, principal, network=network, scope=scope, key=key, since=since, until=until
    )
    return IndexSeries(
        network=net.key,
        scope=scope,
        key=key,
        points=[IndexPoint(at=v.at, tpi=v.tpi, grade=v.grade, km=v.km) for v in rows],
    )


@router.get("/index/history", response_model=list[IndexPoint], summary="The TPI at this weekday and time in past weeks")
def get_index_history(
    session: SessionDep,
    principal: PrincipalDep,
    at: Annotated[datetime, Query(description="the interval's end to compare")],
    network: NetworkQ = None,
    scope: Scope = "city",
    key: Key = "city",
    weeks: Annotated[int, Query(ge=1, le=52)] = 8,
) -> list[IndexPoint]:
    rows = service.history_same_time(session, principal, network=network, scope=scope, key=key, at=at, weeks=weeks)
    return [IndexPoint(at=v.at, tpi=v.tpi, grade=v.grade, km=v.km) for v in rows]


@router.get("/incidents", response_model=list[IncidentPublic], summary="Incidents the detection found")
def get_incidents(
    session: SessionDep,
    principal: PrincipalDep,
    network: NetworkQ = None,
    status: Annotated[Literal["open", "cleared"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[IncidentPublic]:
    return [
        IncidentPublic(
            id=i.id,
            edge_id=i.edge_id,
            road_name=i.road_name,
            district_code=i.district_code,
            lon=i.lon,
            lat=i.lat,
            status=i.status,
            method=i.method,
            detected_at=i.detected_at,
            cleared_at=i.cleared_at,
            speed_kmh=i.speed_kmh,
            occupancy=i.occupancy,
            updates=i.updates,
            case_id=i.case_id,
        )
        for i in service.list_incidents(session, principal, network=network, status=status, limit=limit)
    ]
