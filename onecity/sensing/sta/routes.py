"""SensorThings API 1.1 over HTTP at ``/sta/v1.1`` (OGC 18-088, Part 1: Sensing).

Resource paths are walked segment by segment (``/Things(1)/Datastreams``,
``/Datastreams(3)/Thing/Locations``, ``/Observations(9)/result/$value``), so every
navigation link the server hands out is also a path it answers. Errors are RFC 9457
problem+json like the rest of the platform (``/sta`` is a machine prefix).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from onecity.api.deps import MaybePrincipalDep, SessionDep
from onecity.api.limits import MAX_JSON_DEPTH, json_depth, too_deep_detail
from onecity.core.errors import InvalidInput, NotFound
from onecity.sensing.sta import service
from onecity.sensing.sta.entities import SETS, VERSION_PATH, EntitySet, serialise
from onecity.sensing.sta.odata import QueryOptions, QueryTooLarge, parse_options
from onecity.sensing.sta.query import read_collection, render

router = APIRouter(prefix=VERSION_PATH, tags=["SensorThings"])

CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates",
]
SAFE_QUERY = "$(),/'@:;="
#: Segments of a resource path (``Things(1)/Datastreams(2)/Observations(3)/result/$value`` is five).
MAX_PATH_SEGMENTS = 12
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z$]+)(?:\((?P<id>\d{1,18})\))?$")


def decode_json(raw: bytes) -> Any:
    """A request body's JSON, its depth bounded (clients send JSON under any content type, so the
    bound holds for all). orjson: a dataArray call of 50,000 readings decodes in about half of
    json's time; it also refuses what is not strict JSON (NaN, Infinity, lone surrogates), as a 422."""
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise InvalidInput(too_deep_detail(MAX_JSON_DEPTH))
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise InvalidInput(f"the body is not valid JSON: {err}") from err


async def raw_body(request: Request) -> bytes:
    raw = await request.body()
    if not raw:
        raise InvalidInput("send the entity as a JSON body (Content-Type: application/json)")
    return raw


async def json_body(request: Request) -> Any:
    return decode_json(await raw_body(request))


RawBodyDep = Annotated[bytes, Depends(raw_body)]
BodyDep = Annotated[Any, Depends(json_body)]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _options(request: Request) -> QueryOptions:
    return parse_options(dict(request.query_params))


def _next_link(request: Request, opts: QueryOptions) -> str:
    """This request's URL with ``$skip`` left as a placeholder the pager fills in."""
    params = dict(request.query_params)
    params["$skip"] = "__SKIP__"
    params.setdefault("$top", str(opts.top if opts.top is not None else 100))
    query = "&".join(f"{k}={quote(v, safe=SAFE_QUERY)}" for k, v in params.items())
    return f"{_base(request)}{request.url.path}?{query}"


class Target:
    """Where a resource path leads: an entity, a collection, or a property of an entity."""

    def __init__(
        self,
        es: EntitySet,
        stmt: Select[Any],
        *,
        single: bool,
        parent: tuple[str, int] | None = None,
        prop: str | None = None,
        raw: bool = False,
    ) -> None:
        self.es, self.stmt, self.single, self.parent, self.prop, self.raw = es, stmt, single, parent, prop, raw


def resolve(session: Session, path: str) -> Target:
    segments = [s for s in path.split("/") if s]
    if len(segments) > MAX_PATH_SEGMENTS:
        raise QueryTooLarge(
            f"the resource path has {len(segments)} segments; at most {MAX_PATH_SEGMENTS} are followed: "
            "start from the entity nearest to what you need, e.g. /Datastreams(1)/Thing"
        )
    if not segments:
        raise NotFound("name an entity set, e.g. /sta/v1.1/Things")
    m = _SEGMENT.match(segments[0])
    if m is None or m.group("name") not in SETS:
        raise NotFound(f"{segments[0]!r} is not an entity set; the sets are: {', '.join(SETS)}")
    es = SETS[m.group("name")]
    if m.group("id") is None:
        target = Target(es, select(es.model), single=False)
    else:
        target = Target(es, select(es.model).where(es.id_column == int(m.group("id"))), single=True)
    for i, seg in enumerate(segments[1:], start=1):
        if not target.single:
            raise NotFound(f"pick one entity of {target.es.name} before going further: {target.es.name}(id)/…")
        if seg == "$value":
            if target.prop is None:
                raise NotFound("$value follows a property, e.g. Observations(1)/result/$value")
            target.raw = True
            continue
        if target.prop is not None:
            raise NotFound(f"{target.prop} is a property; nothing lies below it")
        row = session.scalars(target.stmt).first()
        if row is None:
            raise NotFound(f"no {target.es.singular} at /{'/'.join(segments[:i])}")
        if seg in target.es.props or seg in {"id", "@iot.id"}:
            target.prop = seg
            continue
        m = _SEGMENT.match(seg)
        nav = target.es.navs.get(m.group("name")) if m else None
        if nav is None or m is None:
            raise NotFound(f"{target.es.singular} has no property or link {seg!r}")
        child = SETS[nav.target]
        related = nav.related(row.id)
        if m.group("id") is not None:
            target = Target(
                child,
                related.where(child.id_column == int(m.group("id"))),
                single=True,
                parent=(target.es.name, row.id),
            )
        else:
            target = Target(child, related, single=not nav.many, parent=(target.es.name, row.id))
    return target


def _check_read(principal: Any) -> None:
    service.require_reader(principal)


@router.get("", include_in_schema=True, summary="The service root: entity sets and conformance")
@router.get("/", include_in_schema=False)
def service_root(request: Request, principal: MaybePrincipalDep) -> dict[str, Any]:
    base = f"{_base(request)}{VERSION_PATH}"
    return {
        "value": [{"name": n, "url": f"{base}/{n}"} for n in SETS],
        "serverSettings": {
            "conformance": CONFORMANCE,
            "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation": {
                "endpoints": ["mqtt://(ONECITY_MQTT_URL)"]
            },
        },
    }


@router.post(
    "/CreateObservations",
    status_code=201,
    response_model=list[str],
    summary="dataArray extension: many observations at once",
)
def create_observations(
    request: Request, session: SessionDep, principal: MaybePrincipalDep, raw: RawBodyDep
) -> Response:
    """One self-link per row, in order. The body is decoded here, in the worker thread and not on
    the event loop (a call of 50,000 readings is two megabytes), and the links are encoded here
    (orjson), not by the response model: checking and encoding 50,000 links cost more than
    storing their rows."""
    service.require_writer(principal)
    base = f"{_base(request)}{VERSION_PATH}/Observations("
    with service.gc_paused():
        ids = service.create_observations_array(session, principal, decode_json(raw))
        return Response(orjson.dumps([f"{base}{i})" for i in ids]), status_code=201, media_type="application/json")


@router.get("/{path:path}", summary="Read entities, collections and properties")
def read(path: str, request: Request, session: SessionDep, principal: MaybePrincipalDep) -> Response:
    _check_read(principal)
    target = resolve(session, path)
    opts = _options(request)
    base = _base(request)
    if target.prop is not None:
        row = session.scalars(target.stmt).first()
        if row is None:
            raise NotFound(f"nothing at {path}")
        value = row.id if target.prop in {"id", "@iot.id"} else target.es.props[target.prop].read(row)
        if target.raw:
            return PlainTextResponse(value if isinstance(value, str) else json.dumps(value))
        return JSONResponse({target.prop: value})
    if target.single:
        row = session.scalars(target.stmt).first()
        if row is None:
            raise NotFound(f"no {target.es.singular} at /{path}")
        return JSONResponse(render(session, target.es, row, opts, base))
    return JSONResponse(read_collection(session, target.es, target.stmt, opts, base, _next_link(request, opts)))


@router.post("/{path:path}", status_code=201, summary="Create an entity (deep insert allowed)")
def create(path: str, request: Request, session: SessionDep, principal: MaybePrincipalDep, body: BodyDep) -> Response:
    service.require_writer(principal)
    target = resolve(session, path)
    if target.single or target.prop is not None:
        raise InvalidInput("POST to a collection, e.g. /sta/v1.1/Things or /sta/v1.1/Datastreams(1)/Observations")
    row = service.create(session, principal, target.es, body, target.parent)
    session.flush()
    payload = serialise(target.es, row, _base(request))
    return JSONResponse(payload, status_code=201, headers={"Location": payload["@iot.selfLink"]})


def _update(path: str, request: Request, session: Session, principal: Any, body: Any) -> Response:
    target = resolve(session, path)
    if not target.single or target.prop is not None:
        raise InvalidInput("PATCH one entity, e.g. /sta/v1.1/Things(1)")
    row = session.scalars(target.stmt).first()
    if row is None:
        raise NotFound(f"no {target.es.singular} at /{path}")
    row = service.update_entity(session, principal, target.es, row.id, body)
    return JSONResponse(serialise(target.es, row, _base(request)))


@router.patch("/{path:path}", summary="Update an entity's properties and links")
def patch(path: str, request: Request, session: SessionDep, principal: MaybePrincipalDep, body: BodyDep) -> Response:
    service.require_writer(principal)
    return _update(path, request, session, principal, body)


@router.put("/{path:path}", summary="Replace an entity's properties (treated as PATCH of the given ones)")
def put(path: str, request: Request, session: SessionDep, principal: MaybePrincipalDep, body: BodyDep) -> Response:
    service.require_writer(principal)
    return _update(path, request, session, principal, body)


@router.delete("/{path:path}", status_code=200, summary="Delete an entity")
def remove(path: str, session: SessionDep, principal: MaybePrincipalDep) -> Response:
    service.require_writer(principal)
    target = resolve(session, path)
    if not target.single or target.prop is not None:
        raise InvalidInput("DELETE one entity, e.g. /sta/v1.1/Things(1)")
    row = session.scalars(target.stmt).first()
    if row is None:
        raise NotFound(f"no {target.es.singular} at /{path}")
    service.delete_entity(session, principal, target.es, row.id)
    return Response(status_code=200)
