"""Writing SensorThings entities: create (with deep insert), update, delete, in one transaction.

Who may write: an API key with the ``sensing`` scope (devices, gateways, partner systems) or
agency staff with the operator or administrator role, and only to the Things of their own
area and agency (:mod:`onecity.sensing.access`). Who may read: any authenticated
caller (sensor readings describe the city, not people; an anonymous Internet is not their
audience). Changes to the metadata (Things, Datastreams…) are audited; observations are
not, one by one: the rows themselves are the record, and auditing a reading per second per
sensor would serialise every writer on the audit chain's head.
"""

from __future__ import annotations

import gc
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import numpy as np
import shapely
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onecity.core import audit, clock
from onecity.core.errors import InvalidInput, NotFound, PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role, Scope
from onecity.core.identity.service import require_scope
from onecity.sensing import access
from onecity.sensing.ingest import (
    MAX_BATCH,
    NewObservation,
    ObservationColumns,
    parse_observation,
    store_columns,
    store_observations,
    to_us,
)
from onecity.sensing.models import (
    Datastream,
    FeatureOfInterest,
    HistoricalLocation,
    HistoricalLocationLocation,
    Location,
    Observation,
    ObservedProperty,
    Sensor,
    Thing,
    ThingLocation,
)
from onecity.sensing.sta.entities import SETS, EntitySet
from onecity.sensing.sta.odata import parse_datetime

WRITER_ROLES = (Role.OPERATOR, Role.ADMIN)
PLACE_KEYS = ("onecity:grid", "onecity:township", "onecity:district", "onecity:owner")
COMPONENT_KEY = "onecity:component"


def require_reader(principal: Principal) -> None:
    if not principal.is_authenticated:
        from onecity.core.errors import AuthenticationRequired

        raise AuthenticationRequired(
            "SensorThings reads need an API key or a signed-in user "
            "(Authorization: Bearer <key>, or Basic with user 'apikey')"
        )


def require_writer(principal: Principal) -> None:
    """Devices write with a ``sensing`` API key; people need the operator or administrator role."""
    require_reader(principal)
    if principal.kind is PrincipalKind.SYSTEM:
        require_scope(principal, Scope.SENSING)
        return
    if principal.kind is not PrincipalKind.STAFF or not principal.has_role(*WRITER_ROLES):
        raise PermissionDenied(
            "writing SensorThings entities needs an API key with the 'sensing' scope or the operator role"
        )


# -- field helpers ------------------------------------------------------------------------------


def _str(body: dict[str, Any], key: str, *, required: bool = True, max_len: int = 200) -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{key} is required")
        return ""
    if not isinstance(value, str) or len(value) > max_len:
        raise InvalidInput(f"{key} must be text of at most {max_len} characters")
    return value


def _obj(body: dict[str, Any], key: str, *, required: bool = False) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{key} is required (a JSON object)")
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"{key} must be a JSON object")
    return value


def geometry(value: Any, key: str) -> tuple[dict[str, Any], float | None, float | None]:
    """Validate GeoJSON (a geometry or a Feature); returns it and a representative lon/lat."""
    if not isinstance(value, dict):
        raise InvalidInput(f'{key} must be GeoJSON, e.g. {{"type": "Point", "coordinates": [121.47, 31.23]}}')
    geom = value.get("geometry") if value.get("type") == "Feature" else value
    if not isinstance(geom, dict):
        raise InvalidInput(f"{key} is a Feature without a geometry object")
    try:
        shape = shapely.geometry.shape(geom)
    except Exception as err:  # shapely raises several types on bad GeoJSON
        raise InvalidInput(f"{key} is not valid GeoJSON: {err}") from err
    if shape.is_empty:
        return value, None, None
    point = shape if isinstance(shape, shapely.Point) else shape.representative_point()
    lon, lat = float(point.x), float(point.y)
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(f"{key} has coordinates outside longitude/latitude range")
    return value, lon, lat


def _ref(value: Any, key: str) -> int | None:
    """The id of a link ``{"@iot.id": n}``; None when the value is a new entity to deep-insert."""
    if not isinstance(value, dict):
        raise InvalidInput(f'{key} must be an entity or a link {{"@iot.id": n}}')
    if "@iot.id" in value:
        ref = value["@iot.id"]
        if not isinstance(ref, int) or isinstance(ref, bool):
            raise InvalidInput(f"{key}/@iot.id must be an integer")
        return ref
    return None


class _Entity(Protocol):
    """A SensorThings row: every entity set's model has an integer ``id``."""

    @property
    def id(self) -> int: ...


_M = TypeVar("_M")
_E = TypeVar("_E", bound=_Entity)


def _get(session: Session, model: type[_M], entity_id: int, name: str) -> _M:
    row = session.get(model, entity_id)
    if row is None:
        raise NotFound(f"no {name} with @iot.id {entity_id}")
    return row


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise InvalidInput(f"{key} must be a JSON array")
    return value


# -- places -------------------------------------------------------------------------------------


def place_thing(session: Session, thing: Thing) -> None:
    """Set the Thing's grid and township: from its linked component, else its first location."""
    from onecity.hub.registries.models import Component

    if thing.component_id is not None:
        comp = session.get(Component, thing.component_id)
        if comp is not None:
            thing.grid_code, thing.township_code = comp.grid_code, comp.grid_code[:9] + "000"
            if thing.lon is None:
                thing.lon, thing.lat = comp.lon, comp.lat
            _own_place(thing)
            return
    if thing.lon is None:
        return
    from onecity.hub.geography.index import grid_index

    assert thing.lat is not None
    try:
        loc = grid_index(session).locate_one(thing.lon, thing.lat)
    except NotFound:  # no grids loaded yet: the thing stands where it stands, in no grid (as outside the city)
        loc = None
    thing.grid_code = loc.grid if loc else None
    thing.township_code = loc.township if loc else None
    _own_place(thing)


def _own_place(thing: Thing) -> None:
    """A Thing that stands in a township belongs to it (one moved out of the city keeps its owner)."""
    if thing.township_code:
        thing.division_code = thing.township_code


def _link_component(session: Session, thing: Thing, props: dict[str, Any]) -> None:
    from onecity.hub.registries.models import Component

    code = props.get(COMPONENT_KEY)
    if code is None:
        return
    if not isinstance(code, str):
        raise InvalidInput(f"properties/{COMPONENT_KEY} is a component code (18 characters)")
    comp = session.scalar(select(Component).where(Component.code == code))
    if comp is None:
        raise NotFound(f"no city component with code {code}: link a Thing to a component from the registry")
    thing.component_id = comp.id


# -- creating -----------------------------------------------------------------------------------


class Writer:
    """One request's writes: remembers what it created, for the audit entries and the response."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session, self.principal = session, principal
        self.now = clock.now()
        self.created: list[tuple[str, int]] = []
        #: Things made or moved by this request: their (new) owner must be the principal's too.
        self.placed: set[int] = set()

    def _done(self, es_name: str, row: _E) -> _E:
        self.session.flush()
        self.created.append((es_name, row.id))
        return row

    def create(self, es_name: str, body: Any, parent: tuple[str, int] | None = None) -> Any:
        if not isinstance(body, dict):
            raise InvalidInput(f"a {SETS[es_name].singular} is a JSON object")
        fn = getattr(self, f"_create_{es_name}")
        return fn(body, parent)

    def _one(self, es_name: str, value: Any, key: str) -> int:
        """A to-one link in a body: an existing id, or a new entity inserted now."""
        ref = _ref(value, key)
        if ref is not None:
            _get(self.session, SETS[es_name].model, ref, SETS[es_name].singular)
            if es_name in ("Things", "Datastreams"):  # linking to them adds to them: a write
                access.require_entity(self.session, self.principal, es_name, ref, SETS[es_name].singular)
            return ref
        return int(self.create(es_name, value).id)

    def _create_Things(self, body: dict[str, Any], parent: tuple[str, int] | None) -> Thing:  # noqa: N802
        props = dict(_obj(body, "properties") or {})
        for k in PLACE_KEYS:
            props.pop(k, None)
        thing = Thing(
            name=_str(body, "name"),
            description=_str(body, "description", required=False, max_len=4000),
            properties=props or None,
        )
        _link_component(self.session, thing, props)
        self.session.add(thing)
        self.session.flush()
        location_ids = [self._one("Locations", loc, "Locations") for loc in _list(body, "Locations")]
        if parent and parent[0] == "Locations":
            location_ids.append(parent[1])
        self._set_locations(thing, location_ids)
        place_thing(self.session, thing)
        access.claim(thing, self.principal)
        self.placed.add(thing.id)
        self._done("Things", thing)
        for ds in _list(body, "Datastreams"):
            if _ref(ds, "Datastreams") is not None:
                raise InvalidInput("a new Thing can only get new Datastreams (a Datastream belongs to one Thing)")
            self.create("Datastreams", ds, ("Things", thing.id))
        return thing

    def _set_locations(self, thing: Thing, location_ids: list[int]) -> None:
        if not location_ids:
            return
        self.session.execute(delete(ThingLocation).where(ThingLocation.thing_id == thing.id))
        for lid in dict.fromkeys(location_ids):
            self.session.add(ThingLocation(thing_id=thing.id, location_id=lid))
        hl = HistoricalLocation(thing_id=thing.id, time=self.now)
        self.session.add(hl)
        self.session.flush()
        for lid in dict.fromkeys(location_ids):
            self.session.add(HistoricalLocationLocation(historical_location_id=hl.id, location_id=lid))
        first = self.session.get(Location, location_ids[0])
        if first is not None and first.lon is not None:
            thing.lon, thing.lat = first.lon, first.lat

    def _create_Locations(self, body: dict[str, Any], parent: tuple[str, int] | None) -> Location:  # noqa: N802
        geom, lon, lat = geometry(body.get("location"), "location")
        loc = Location(
            name=_str(body, "name"),
            description=_str(body, "description", required=False, max_len=4000),
            encoding_type=_str(body, "encodingType", required=False, max_len=100) or "application/geo+json",
            location=geom,
            properties=_obj(body, "properties"),
            lon=lon,
            lat=lat,
        )
        self.session.add(loc)
        self._done("Locations", loc)
        things = [self._one("Things", t, "Things") for t in _list(body, "Things")]
        if parent and parent[0] == "Things":
            things.append(parent[1])
        for tid in things:
            thing = _get(self.session, Thing, tid, "Thing")
            self._set_locations(thing, [loc.id])
            place_thing(self.session, thing)
            self.placed.add(tid)
        return loc

    def _create_HistoricalLocations(
        self,
        body: dict[str, Any],  # noqa: N802
        parent: tuple[str, int] | None,
    ) -> HistoricalLocation:
        thing_id = parent[1] if parent and parent[0] == "Things" else self._one("Things", body.get("Thing"), "Thing")
        t = body.get("time")
        if not isinstance(t, str):
            raise InvalidInput("time is required (ISO 8601)")
        hl = HistoricalLocation(thing_id=thing_id, time=parse_datetime(t))
        self.session.add(hl)
        self.session.flush()
        for loc in _list(body, "Locations"):
            self.session.add(
                HistoricalLocationLocation(
                    historical_location_id=hl.id, location_id=self._one("Locations", loc, "Locations")
                )
            )
        return self._done("HistoricalLocations", hl)

    def _create_Sensors(self, body: dict[str, Any], parent: tuple[str, int] | None) -> Sensor:  # noqa: N802
        if "metadata" not in body:
            raise InvalidInput("metadata is required (a URL or a document describing the sensor)")
        s = Sensor(
            name=_str(body, "name"),
            description=_str(body, "description", required=False, max_len=4000),
            encoding_type=_str(body, "encodingType", max_len=100),
            sensor_metadata=body["metadata"],
            properties=_obj(body, "properties"),
        )
        self.session.add(s)
        return self._done("Sensors", s)

    def _create_ObservedProperties(
        self,
        body: dict[str, Any],  # noqa: N802
        parent: tuple[str, int] | None,
    ) -> ObservedProperty:
        op = ObservedProperty(
            name=_str(body, "name"),
            definition=_str(body, "definition", max_len=500),
            description=_str(body, "description", required=False, max_len=4000),
            properties=_obj(body, "properties"),
        )
        self.session.add(op)
        return self._done("ObservedProperties", op)

    def _create_Datastreams(self, body: dict[str, Any], parent: tuple[str, int] | None) -> Datastream:  # noqa: N802
        uom = _obj(body, "unitOfMeasurement", required=True)
        area = body.get("observedArea")
        links: dict[str, int] = {}
        for key, es_name in (("Thing", "Things"), ("Sensor", "Sensors"), ("ObservedProperty", "ObservedProperties")):
            if parent and parent[0] == es_name:
                links[key] = parent[1]
            elif key in body:
                links[key] = self._one(es_name, body[key], key)
            else:
                raise InvalidInput(f'a Datastream needs its {key} (a link {{"@iot.id": n}} or a new one)')
        ds = Datastream(
            name=_str(body, "name"),
            description=_str(body, "description", required=False, max_len=4000),
            observation_type=_str(body, "observationType", max_len=200),
            unit_of_measurement=uom,
            observed_area=geometry(area, "observedArea")[0] if area is not None else None,
            properties=_obj(body, "properties"),
            thing_id=links["Thing"],
            sensor_id=links["Sensor"],
            observed_property_id=links["ObservedProperty"],
        )
        self.session.add(ds)
        self._done("Datastreams", ds)
        obs = _list(body, "Observations")
        if obs:
            self._store([parse_observation(o, ds.id, now=self.now) for o in obs])
        return ds

    def _create_FeaturesOfInterest(
        self,
        body: dict[str, Any],  # noqa: N802
        parent: tuple[str, int] | None,
    ) -> FeatureOfInterest:
        geom, lon, lat = geometry(body.get("feature"), "feature")
        foi = FeatureOfInterest(
            name=_str(body, "name"),
            description=_str(body, "description", required=False, max_len=4000),
            encoding_type=_str(body, "encodingType", required=False, max_len=100) or "application/geo+json",
            feature=geom,
            properties=_obj(body, "properties"),
            lon=lon,
            lat=lat,
        )
        self.session.add(foi)
        return self._done("FeaturesOfInterest", foi)

    def _create_Observations(self, body: dict[str, Any], parent: tuple[str, int] | None) -> Observation:  # noqa: N802
        body = dict(body)
        if parent and parent[0] == "Datastreams":
            ds_id: int | None = parent[1]
        else:
            ds_id = None
            if isinstance(body.get("Datastream"), dict):
                ds_id = self._one("Datastreams", body["Datastream"], "Datastream")
        foi = body.get("FeatureOfInterest")
        if parent and parent[0] == "FeaturesOfInterest":
            body["FeatureOfInterest"] = {"@iot.id": parent[1]}
        elif isinstance(foi, dict) and "@iot.id" not in foi:
            body["FeatureOfInterest"] = {"@iot.id": self.create("FeaturesOfInterest", foi).id}
        elif isinstance(foi, dict):
            _get(
                self.session,
                FeatureOfInterest,
                self._one("FeaturesOfInterest", foi, "FeatureOfInterest"),
                "FeatureOfInterest",
            )
        new = parse_observation(body, ds_id, now=self.now)
        ids = self._store([new])
        return _get(self.session, Observation, ids[0], "Observation")

    def _store(self, observations: list[Any]) -> list[int]:
        result = store_observations(self.session, observations, principal=self.principal, origin="http")
        for i in result.ids:
            self.created.append(("Observations", i))
        return result.ids

    def check_placed(self) -> None:
        """Things made or moved here must end up in the principal's area (a Pudong key cannot
        put up, or move, a device into Xuhui)."""
        if self.placed:
            self.session.flush()
            access.require_things(self.session, self.principal, self.placed, "the Thing")

    def audit_created(self) -> None:
        for es_name, entity_id in self.created:
            if es_name != "Observations":
                audit.record(
                    self.session,
                    self.principal,
                    f"sensing.{SETS[es_name].singular.lower()}.create",
                    object_type=f"sensing.{SETS[es_name].singular.lower()}",
                    object_id=str(entity_id),
                )


def create(
    session: Session, principal: Principal, es: EntitySet, body: Any, parent: tuple[str, int] | None = None
) -> Any:
    """Create one entity (and whatever it deep-inserts), audited; returns the row."""
    require_writer(principal)
    if parent and parent[0] in ("Things", "Datastreams"):  # POST /Things(1)/Datastreams adds to Thing 1
        access.require_entity(session, principal, parent[0], parent[1], SETS[parent[0]].singular)
    writer = Writer(session, principal)
    row = writer.create(es.name, body, parent)
    writer.check_placed()
    writer.audit_created()
    return row


def update_entity(session: Session, principal: Principal, es: EntitySet, entity_id: int, body: Any) -> Any:
    """PATCH: change the properties given, and to-one links; Things may get new Locations."""
    require_writer(principal)
    if not isinstance(body, dict):
        raise InvalidInput("a PATCH body is a JSON object")
    row = _get(session, es.model, entity_id, es.singular)
    access.require_entity(session, principal, es.name, entity_id, es.singular)
    writer = Writer(session, principal)
    if es.name == "Things":
        writer.placed.add(entity_id)
    columns = {
        "name": "name",
        "description": "description",
        "definition": "definition",
        "encodingType": "encoding_type",
        "observationType": "observation_type",
        "unitOfMeasurement": "unit_of_measurement",
        "properties": "properties",
        "metadata": "sensor_metadata",
    }
    for key, value in body.items():
        if key in {"@iot.id", "@iot.selfLink"} or key.endswith("@iot.navigationLink"):
            continue
        if key in ("location", "feature", "observedArea") and key in es.props:
            geom, lon, lat = geometry(value, key)
            setattr(row, {"location": "location", "feature": "feature", "observedArea": "observed_area"}[key], geom)
            if hasattr(row, "lon"):
                row.lon, row.lat = lon, lat
        elif key == "result" and es.name == "Observations":
            parsed = parse_observation({"result": value}, row.datastream_id)
            row.result_number, row.result_json = parsed.result_number, parsed.result_json
        elif key in ("phenomenonTime", "resultTime") and es.name == "Observations":
            t = parse_datetime(str(value).split("/")[0]) if value is not None else None
            if key == "phenomenonTime":
                if t is None:
                    raise InvalidInput("phenomenonTime cannot be removed")
                row.phenomenon_time = t
            else:
                row.result_time = t
        elif key == "time" and es.name == "HistoricalLocations":
            row.time = parse_datetime(str(value))
        elif key in columns and key in es.props:
            if key == "properties" and es.name == "Things":
                value = {k: v for k, v in (value or {}).items() if k not in PLACE_KEYS}
                _link_component(session, row, value)
                place_thing(session, row)
            setattr(row, columns[key], value)
        elif key == "Locations" and es.name == "Things":
            writer._set_locations(row, [writer._one("Locations", v, "Locations") for v in _list(body, key)])
            place_thing(session, row)
        elif key in es.navs and not es.navs[key].many and es.navs[key].fk is not None:
            nav = es.navs[key]
            fk = nav.fk
            assert fk is not None
            setattr(row, fk.key, writer._one(nav.target, value, key))
        else:
            raise InvalidInput(f"{es.singular} has no property {key!r} that can be changed")
    session.flush()
    writer.check_placed()
    audit.record(
        session,
        principal,
        f"sensing.{es.singular.lower()}.update",
        object_type=f"sensing.{es.singular.lower()}",
        object_id=str(entity_id),
        detail={"fields": list(body)},
    )
    return row


def delete_entity(session: Session, principal: Principal, es: EntitySet, entity_id: int) -> None:
    """DELETE: the entity and what the standard says goes with it (a Thing's Datastreams…)."""
    require_writer(principal)
    _get(session, es.model, entity_id, es.singular)
    access.require_entity(session, principal, es.name, entity_id, es.singular)
    session.execute(delete(es.model).where(es.id_column == entity_id))
    audit.record(
        session,
        principal,
        f"sensing.{es.singular.lower()}.delete",
        object_type=f"sensing.{es.singular.lower()}",
        object_id=str(entity_id),
    )


class _GcPause:
    """Cyclic garbage collection held off while any dataArray call runs (see :func:`gc_paused`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self.lock:
            if self.calls == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.calls += 1
        try:
            yield
        finally:
            with self.lock:
                self.calls -= 1
                if self.calls == 0 and self.was_enabled:
                    gc.enable()


#: A dataArray call of 50,000 readings makes some 150,000 short-lived lists (the decoded body, the
#: event's rows), none in a reference cycle, and each allocation burst set off full collections
#: that walk the server's whole heap: half the call's CPU in a profile. Reference counting still
#: frees them; collection resumes when the last call ends.
gc_paused = _GcPause()


def _columns(groups: list[tuple[int, list[str], list[Any]]]) -> ObservationColumns | None:
    """A call whose every group is in the common form (``phenomenonTime`` and ``result``, numbers
    and instants), checked a column at a time across the whole call, into columns; None when
    anything is unusual, and the row-by-row path then says which row is wrong and why. The
    instants are read by the same parser as every other time (:func:`parse_datetime`), so both
    paths accept exactly the same text."""
    times: list[Any] = []
    results: list[Any] = []
    streams: list[int] = []
    sizes: list[int] = []
    for ds_id, comps, rows in groups:
        if len(comps) != 2 or set(comps) != {"phenomenonTime", "result"} or not rows:
            return None
        if not all(type(v) is list and len(v) == 2 for v in rows):
            return None
        cols = dict(zip(comps, zip(*rows, strict=True), strict=True))
        times.extend(cols["phenomenonTime"])
        results.extend(cols["result"])
        streams.append(ds_id)
        sizes.append(len(rows))
    if not all(type(x) is float or type(x) is int for x in results):
        return None
    try:
        numbers = np.asarray(results, dtype=np.float64)
    except OverflowError:
        return None
    if not np.isfinite(numbers).all() or not all(type(t) is str and "/" not in t for t in times):
        return None
    try:
        instants = np.fromiter((to_us(parse_datetime(t)) for t in times), dtype=np.int64, count=len(times))
    except InvalidInput:
        return None
    return ObservationColumns(np.repeat(np.asarray(streams, dtype=np.int64), sizes), instants, numbers)


def _rows(i: int, ds_ref: int, comps: list[str], rows: list[Any], now: Any) -> list[NewObservation]:
    """One group of a dataArray row by row, each wrong row named (``item i, row j: why``)."""
    out = []
    for j, values in enumerate(rows):
        if not isinstance(values, list) or len(values) != len(comps):
            raise InvalidInput(f"item {i}, row {j}: give one value per component ({len(comps)})")
        obj: dict[str, Any] = dict(zip(comps, values, strict=True))
        foi = obj.pop("FeatureOfInterest/id", None)
        if foi is not None:
            obj["FeatureOfInterest"] = {"@iot.id": foi}
        try:
            out.append(parse_observation(obj, ds_ref, now=now))
        except InvalidInput as err:
            raise InvalidInput(f"item {i}, row {j}: {err.detail}") from err
    return out


_COMPONENTS = {
    "phenomenonTime",
    "result",
    "resultTime",
    "resultQuality",
    "validTime",
    "parameters",
    "FeatureOfInterest/id",
}


def create_observations_array(session: Session, principal: Principal, body: Any) -> list[int]:
    """The dataArray extension (OGC 18-088 §14.4): many observations of many streams in one call.

    Returns the new observations' ids, one per row, in order (the route answers a self-link
    each, as the standard asks). All rows are stored or none: a wrong row refuses the call.
    When every group is in the common form (instants and numbers), the call is checked and
    stored a column at a time (:func:`~onecity.sensing.ingest.store_columns`); otherwise row
    by row, in batches of :data:`~onecity.sensing.ingest.MAX_BATCH`.
    """
    require_writer(principal)
    if not isinstance(body, list):
        raise InvalidInput("CreateObservations takes a JSON array of {Datastream, components, dataArray}")
    now = clock.now()
    groups: list[tuple[int, list[str], list[Any]]] = []
    for i, group in enumerate(body):
        if not isinstance(group, dict):
            raise InvalidInput(f"item {i} must be an object")
        ds_ref = _ref(group.get("Datastream"), f"[{i}]/Datastream")
        if ds_ref is None:
            raise InvalidInput(f'item {i}: Datastream must be a link {{"@iot.id": n}}')
        comps = group.get("components")
        rows = group.get("dataArray")
        if not isinstance(comps, list) or not all(isinstance(c, str) for c in comps) or "result" not in comps:
            raise InvalidInput(f"item {i}: components must list the fields, including result")
        if set(comps) - _COMPONENTS:
            raise InvalidInput(f"item {i}: unknown components {sorted(set(comps) - _COMPONENTS)}")
        if not isinstance(rows, list):
            raise InvalidInput(f"item {i}: dataArray must be an array of arrays")
        groups.append((ds_ref, comps, rows))
    if not groups:
        return []
    columns = _columns(groups)
    if columns is not None:
        return store_columns(session, columns, principal=principal, origin="http").ids
    # something unusual somewhere: the whole call row by row, naming the first wrong row
    observations = [o for i, (ds_ref, comps, rows) in enumerate(groups) for o in _rows(i, ds_ref, comps, rows, now)]
    ids: list[int] = []
    for k in range(0, len(observations), MAX_BATCH):
        ids.extend(store_observations(session, observations[k : k + MAX_BATCH], principal=principal, origin="http").ids)
    return ids
