"""The sensing API beside SensorThings: stream rules, alerts and the device map's data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from onecity.api.deps import PrincipalDep, SessionDep
from onecity.core import policy
from onecity.sensing import service
from onecity.sensing.models import Alert, Datastream, ObservedProperty, Rule, Thing

router = APIRouter(prefix="/sensing", tags=["sensing"])
RuleId = Annotated[str, Path(max_length=36)]


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(description="threshold, rate, silence or combination")
    level: str = Field(description="blue, yellow, orange or red")
    observed_property: str | None = Field(default=None, max_length=200)
    area_code: str | None = Field(default=None, min_length=12, max_length=12)
    params: dict[str, Any]
    enabled: bool = True


class RuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    level: str | None = None
    params: dict[str, Any] | None = None
    enabled: bool | None = None


class RulePublic(BaseModel):
    id: str
    name: str
    kind: str
    level: str
    observed_property: str | None
    area_code: str | None
    params: dict[str, Any]
    enabled: bool
    created_by: str
    created_at: datetime


class AlertPublic(BaseModel):
    id: str
    rule_id: str
    status: str
    level: str
    message: str
    value: float | None
    thing_id: int | None
    datastream_id: int | None
    division_code: str | None
    township_code: str | None
    lon: float
    lat: float
    #: Set when the device has no location: ``lon``/``lat`` are this division's representative point.
    approximate_division: str | None
    observed_at: datetime | None
    raised_at: datetime
    cleared_at: datetime | None


def _rule(r: Rule) -> RulePublic:
    return RulePublic(
        id=r.id,
        name=r.name,
        kind=r.kind,
        level=r.level,
        observed_property=r.observed_property,
        area_code=r.area_code,
        params=r.params,
        enabled=r.enabled,
        created_by=r.created_by,
        created_at=r.created_at,
    )


def _alert(a: Alert) -> AlertPublic:
    return AlertPublic(
        id=a.id,
        rule_id=a.rule_id,
        status=a.status,
        level=a.level,
        message=a.message,
        value=a.value,
        thing_id=a.thing_id,
        datastream_id=a.datastream_id,
        division_code=a.division_code,
        township_code=a.township_code,
        lon=a.lon,
        lat=a.lat,
        approximate_division=a.approximate_division,
        observed_at=a.observed_at,
        raised_at=a.raised_at,
        cleared_at=a.cleared_at,
    )


@router.get("/rules", response_model=list[RulePublic], summary="Stream rules")
def get_rules(session: SessionDep, principal: PrincipalDep) -> list[RulePublic]:
    return [_rule(r) for r in service.list_rules(session, principal)]


@router.post("/rules", response_model=RulePublic, status_code=201, summary="Create a stream rule")
def post_rule(body: RuleCreate, session: SessionDep, principal: PrincipalDep) -> RulePublic:
    return _rule(service.create_rule(session, principal, **body.model_dump()))


@router.patch("/rules/{rule_id}", response_model=RulePublic, summary="Change, enable or disable a rule")
def patch_rule(rule_id: RuleId, body: RuleUpdate, session: SessionDep, principal: PrincipalDep) -> RulePublic:
    return _rule(service.update_rule(session, principal, rule_id, **body.model_dump()))


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete a rule (its alerts go with it)")
def delete_rule(rule_id: RuleId, session: SessionDep, principal: PrincipalDep) -> None:
    service.delete_rule(session, principal, rule_id)


@router.get("/alerts", response_model=list[AlertPublic], summary="Alerts of your area, newest first")
def get_alerts(
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(pattern="^(active|cleared)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertPublic]:
    return [_alert(a) for a in service.list_alerts(session, principal, status=status, limit=limit)]


@router.get("/devices", summary="Things with their place, health and streams (GeoJSON, for the device map)")
def get_devices(
    session: SessionDep, principal: PrincipalDep, limit: Annotated[int, Query(ge=1, le=20000)] = 5000
) -> dict[str, Any]:
    policy.require(principal, "sensing.alert.list")
    things = session.execute(
        select(Thing.id, Thing.name, Thing.lon, Thing.lat, Thing.available, Thing.last_seen_at, Thing.township_code)
        .where(Thing.lon.is_not(None), policy.scope_clause(session, principal, "sensing.alert", Thing.township_code))
        .order_by(Thing.id)
        .limit(limit)
    ).all()
    streams: dict[int, list[dict[str, Any]]] = {}
    ids = [t[0] for t in things]
    for i in range(0, len(ids), 1000):
        rows = session.execute(
            select(
                Datastream.thing_id,
                Datastream.id,
                Datastream.name,
                ObservedProperty.name,
                Datastream.last_result,
                Datastream.unit_of_measurement,
            )
            .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
            .where(Datastream.thing_id.in_(ids[i : i + 1000]))
        ).all()
        for thing_id, ds_id, name, prop, last, uom in rows:
            streams.setdefault(thing_id, []).append(
                {"id": ds_id, "name": name, "property": prop, "last": last, "unit": (uom or {}).get("symbol")}
            )
    active = set(session.scalars(select(Alert.thing_id).where(Alert.status == "active", Alert.thing_id.in_(ids))))
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [t[2], t[3]]},
                "properties": {
                    "id": t[0],
                    "name": t[1],
                    "available": t[4],
                    "last_seen_at": t[5].isoformat() if t[5] else None,
                    "township": t[6],
                    "alerting": t[0] in active,
                    "datastreams": streams.get(t[0], []),
                },
            }
            for t in things
        ],
    }
