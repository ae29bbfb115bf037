"""The eight SensorThings entity sets: their properties, their navigation links, their JSON.

One :class:`EntitySet` per set says which table it lives in, how each standard property
maps to columns (:class:`Prop`) and how it links to the others (:class:`Nav`). The query
compiler, the serialiser and the writers all read these tables, so adding a property is
one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute

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

VERSION_PATH = "/sta/v1.1"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def interval(start: datetime | None, end: datetime | None) -> str | None:
    if start is None:
        return None
    if end is None or end == start:
        return iso(start)
    return f"{iso(start)}/{iso(end)}"


@dataclass(frozen=True)
class Prop:
    """A standard property: the column filters and orders on, and how to read it off a row."""

    column: InstrumentedAttribute[Any]
    read: Callable[[Any], Any]
    #: "json" properties can be navigated into (``properties/owner``); "geometry" ones feed geo functions.
    kind: str = "plain"


@dataclass(frozen=True)
class Nav:
    name: str
    target: str  # entity set name
    many: bool
    #: Rows of the target related to one source id (``select(Target).where(...)``).
    related: Callable[[Any], Select[Any]]
    #: For a to-one link: the source's foreign key column.
    fk: InstrumentedAttribute[Any] | None = None


@dataclass
class EntitySet:
    name: str
    singular: str
    model: type[Any]
    props: dict[str, Prop]
    navs: dict[str, Nav] = field(default_factory=dict)

    @property
    def id_column(self) -> InstrumentedAttribute[Any]:
        col: InstrumentedAttribute[Any] = self.model.id
        return col


def _column(col: InstrumentedAttribute[Any], kind: str = "plain") -> Prop:
    """A property read as it is stored in ``col``."""
    return Prop(col, lambda row: getattr(row, col.key), kind)


def _instant(col: InstrumentedAttribute[Any]) -> Prop:
    """A time instant stored in ``col``, written ISO 8601 in UTC."""
    return Prop(col, lambda row: iso(getattr(row, col.key)))


def _interval(start: InstrumentedAttribute[Any], end: InstrumentedAttribute[Any]) -> Prop:
    """A time that may be an interval (``start/end``); it filters and orders on its start."""
    return Prop(start, lambda row: interval(getattr(row, start.key), getattr(row, end.key)))


def _described(model: Any, **own: Prop) -> dict[str, Prop]:
    """``name``, ``description``, the set's ``own`` properties, then its free-form ``properties``
    (JSON, unless ``own`` reads them otherwise): the shape of every set but the two of time."""
    props = {"name": _column(model.name), "description": _column(model.description), **own}
    props.setdefault("properties", _column(model.properties, "json"))
    return props


def _navs(*navs: Nav) -> dict[str, Nav]:
    return {nav.name: nav for nav in navs}


def _many(name: str, fk: InstrumentedAttribute[Any]) -> Nav:
    """The link to the rows of the set ``name`` whose foreign key ``fk`` names the source."""
    target = fk.class_
    return Nav(name, name, True, lambda source_id: select(target).where(fk == source_id))


def _many_via(
    name: str, target: Any, source_key: InstrumentedAttribute[Any], target_key: InstrumentedAttribute[Any]
) -> Nav:
    """The link to the rows of the set ``name`` paired with the source in an association table."""
    return Nav(
        name,
        name,
        True,
        lambda source_id: select(target).where(target.id.in_(select(target_key).where(source_key == source_id))),
    )


def _one(fk: InstrumentedAttribute[Any], target: Any, target_set: str) -> Nav:
    """The link to the one ``target`` (named like its model) that the source's foreign key ``fk`` names."""
    source = fk.class_
    return Nav(
        target.__name__,
        target_set,
        False,
        lambda source_id: select(target).where(target.id == select(fk).where(source.id == source_id).scalar_subquery()),
        fk,
    )


def _result(row: Observation) -> Any:
    if row.result_number is not None:
        n = row.result_number
        return int(n) if n.is_integer() and abs(n) < 2**53 else n
    return row.result_json


def _thing_properties(row: Thing) -> dict[str, Any] | None:
    props = dict(row.properties or {})
    if row.grid_code:
        props["onecity:grid"] = row.grid_code
        props["onecity:township"] = row.township_code
        props["onecity:district"] = row.grid_code[:6] + "000000"
    if row.division_code:
        props["onecity:owner"] = row.division_code  # whose staff and keys may change it
    return props or None


SETS: dict[str, EntitySet] = {
    "Things": EntitySet(
        "Things",
        "Thing",
        Thing,
        _described(
            Thing,
            properties=Prop(Thing.properties, _thing_properties, "json"),
        ),
        _navs(
            _many_via("Locations", Location, ThingLocation.thing_id, ThingLocation.location_id),
            _many("HistoricalLocations", HistoricalLocation.thing_id),
            _many("Datastreams", Datastream.thing_id),
        ),
    ),
    "Locations": EntitySet(
        "Locations",
        "Location",
        Location,
        _described(
            Location,
            encodingType=_column(Location.encoding_type),
            location=_column(Location.location, "geometry"),
        ),
        _navs(
            _many_via("Things", Thing, ThingLocation.location_id, ThingLocation.thing_id),
            _many_via(
                "HistoricalLocations",
                HistoricalLocation,
                HistoricalLocationLocation.location_id,
                HistoricalLocationLocation.historical_location_id,
            ),
        ),
    ),
    "HistoricalLocations": EntitySet(
        "HistoricalLocations",
        "HistoricalLocation",
        HistoricalLocation,
        {
            "time": _instant(HistoricalLocation.time),
        },
        _navs(
            _one(HistoricalLocation.thing_id, Thing, "Things"),
            _many_via(
                "Locations",
                Location,
                HistoricalLocationLocation.historical_location_id,
                HistoricalLocationLocation.location_id,
            ),
        ),
    ),
    "Sensors": EntitySet(
        "Sensors",
        "Sensor",
        Sensor,
        _described(
            Sensor,
            encodingType=_column(Sensor.encoding_type),
            metadata=_column(Sensor.sensor_metadata),
        ),
        _navs(
            _many("Datastreams", Datastream.sensor_id),
        ),
    ),
    "ObservedProperties": EntitySet(
        "ObservedProperties",
        "ObservedProperty",
        ObservedProperty,
        _described(
            ObservedProperty,
            definition=_column(ObservedProperty.definition),
        ),
        _navs(
            _many("Datastreams", Datastream.observed_property_id),
        ),
    ),
    "Datastreams": EntitySet(
        "Datastreams",
        "Datastream",
        Datastream,
        _described(
            Datastream,
            observationType=_column(Datastream.observation_type),
            unitOfMeasurement=_column(Datastream.unit_of_measurement, "json"),
            observedArea=_column(Datastream.observed_area, "geometry"),
            phenomenonTime=_interval(Datastream.phenomenon_time_start, Datastream.phenomenon_time_end),
            resultTime=_interval(Datastream.result_time_start, Datastream.result_time_end),
        ),
        _navs(
            _one(Datastream.thing_id, Thing, "Things"),
            _one(Datastream.sensor_id, Sensor, "Sensors"),
            _one(Datastream.observed_property_id, ObservedProperty, "ObservedProperties"),
            _many("Observations", Observation.datastream_id),
        ),
    ),
    "FeaturesOfInterest": EntitySet(
        "FeaturesOfInterest",
        "FeatureOfInterest",
        FeatureOfInterest,
        _described(
            FeatureOfInterest,
            encodingType=_column(FeatureOfInterest.encoding_type),
            feature=_column(FeatureOfInterest.feature, "geometry"),
        ),
        _navs(
            _many("Observations", Observation.feature_of_interest_id),
        ),
    ),
    "Observations": EntitySet(
        "Observations",
        "Observation",
        Observation,
        {
            "phenomenonTime": _interval(Observation.phenomenon_time, Observation.phenomenon_time_end),
            "resultTime": _instant(Observation.result_time),
            "result": Prop(Observation.result_number, _result),
            "resultQuality": _column(Observation.result_quality),
            "validTime": _interval(Observation.valid_time_start, Observation.valid_time_end),
            "parameters": _column(Observation.parameters, "json"),
        },
        _navs(
            _one(Observation.datastream_id, Datastream, "Datastreams"),
            _one(Observation.feature_of_interest_id, FeatureOfInterest, "FeaturesOfInterest"),
        ),
    ),
}

BY_SINGULAR = {s.singular: s for s in SETS.values()}


def self_link(base: str, es: EntitySet, entity_id: int) -> str:
    return f"{base}{VERSION_PATH}/{es.name}({entity_id})"


def serialise(es: EntitySet, row: Any, base: str, select_fields: list[str] | None = None) -> dict[str, Any]:
    """The JSON of one entity: ``@iot.id``, ``@iot.selfLink``, properties, navigation links."""
    link = self_link(base, es, row.id)
    wanted = set(select_fields) if select_fields else None
    out: dict[str, Any] = {}
    if wanted is None or "id" in wanted or "@iot.id" in wanted:
        out["@iot.id"] = row.id
    if wanted is None or "selfLink" in wanted or "@iot.selfLink" in wanted:
        out["@iot.selfLink"] = link
    for name, prop in es.props.items():
        if wanted is None or name in wanted:
            out[name] = prop.read(row)
    for name in es.navs:
        if wanted is None or name in wanted:
            out[f"{name}@iot.navigationLink"] = f"{link}/{name}"
    return out
