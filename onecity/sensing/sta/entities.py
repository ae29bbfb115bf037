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

from sqlalchemy import ColumnElement, Select, select
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


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, name)


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
    return props or None


def _many_fk(target: Any, fk: str) -> Callable[[Any], Select[Any]]:
    return lambda source_id: select(target).where(getattr(target, fk) == source_id)


def _one(target: Any, source: Any, fk: str) -> Callable[[Any], Select[Any]]:
    return lambda source_id: select(target).where(
        target.id == select(getattr(source, fk)).where(source.id == source_id).scalar_subquery())


def _via(target: Any, assoc: Any, source_key: str, target_key: str) -> Callable[[Any], Select[Any]]:
    return lambda source_id: select(target).where(target.id.in_(
        select(getattr(assoc, target_key)).where(getattr(assoc, source_key) == source_id)))


SETS: dict[str, EntitySet] = {
    "Things": EntitySet("Things", "Thing", Thing, {
        "name": Prop(Thing.name, _attr("name")),
        "description": Prop(Thing.description, _attr("description")),
        "properties": Prop(Thing.properties, _thing_properties, "json"),
    }, {
        "Locations": Nav("Locations", "Locations", True, _via(Location, ThingLocation, "thing_id", "location_id")),
        "HistoricalLocations": Nav("HistoricalLocations", "HistoricalLocations", True,
                                   _many_fk(HistoricalLocation, "thing_id")),
        "Datastreams": Nav("Datastreams", "Datastreams", True, _many_fk(Datastream, "thing_id")),
    }),
    "Locations": EntitySet("Locations", "Location", Location, {
        "name": Prop(Location.name, _attr("name")),
        "description": Prop(Location.description, _attr("description")),
        "encodingType": Prop(Location.encoding_type, _attr("encoding_type")),
        "location": Prop(Location.location, _attr("location"), "geometry"),
        "properties": Prop(Location.properties, _attr("properties"), "json"),
    }, {
        "Things": Nav("Things", "Things", True, _via(Thing, ThingLocation, "location_id", "thing_id")),
        "HistoricalLocations": Nav("HistoricalLocations", "HistoricalLocations", True,
                                   _via(HistoricalLocation, HistoricalLocationLocation, "location_id",
                                        "historical_location_id")),
    }),
    "HistoricalLocations": EntitySet("HistoricalLocations", "HistoricalLocation", HistoricalLocation, {
        "time": Prop(HistoricalLocation.time, lambda r: iso(r.time)),
    }, {
        "Thing": Nav("Thing", "Things", False, _one(Thing, HistoricalLocation, "thing_id"),
                     HistoricalLocation.thing_id),
        "Locations": Nav("Locations", "Locations", True,
                         _via(Location, HistoricalLocationLocation, "historical_location_id", "location_id")),
    }),
    "Sensors": EntitySet("Sensors", "Sensor", Sensor, {
        "name": Prop(Sensor.name, _attr("name")),
        "description": Prop(Sensor.description, _attr("description")),
        "encodingType": Prop(Sensor.encoding_type, _attr("encoding_type")),
        "metadata": Prop(Sensor.sensor_metadata, _attr("sensor_metadata")),
        "properties": Prop(Sensor.properties, _attr("properties"), "json"),
    }, {
        "Datastreams": Nav("Datastreams", "Datastreams", True, _many_fk(Datastream, "sensor_id")),
    }),
    "ObservedProperties": EntitySet("ObservedProperties", "ObservedProperty", ObservedProperty, {
        "name": Prop(ObservedProperty.name, _attr("name")),
        "definition": Prop(ObservedProperty.definition, _attr("definition")),
        "description": Prop(ObservedProperty.description, _attr("description")),
        "properties": Prop(ObservedProperty.properties, _attr("properties"), "json"),
    }, {
        "Datastreams": Nav("Datastreams", "Datastreams", True, _many_fk(Datastream, "observed_property_id")),
    }),
    "Datastreams": EntitySet("Datastreams", "Datastream", Datastream, {
        "name": Prop(Datastream.name, _attr("name")),
        "description": Prop(Datastream.description, _attr("description")),
        "observationType": Prop(Datastream.observation_type, _attr("observation_type")),
        "unitOfMeasurement": Prop(Datastream.unit_of_measurement, _attr("unit_of_measurement"), "json"),
        "observedArea": Prop(Datastream.observed_area, _attr("observed_area"), "geometry"),
        "phenomenonTime": Prop(Datastream.phenomenon_time_start,
                               lambda r: interval(r.phenomenon_time_start, r.phenomenon_time_end)),
        "resultTime": Prop(Datastream.result_time_start, lambda r: interval(r.result_time_start, r.result_time_end)),
        "properties": Prop(Datastream.properties, _attr("properties"), "json"),
    }, {
        "Thing": Nav("Thing", "Things", False, _one(Thing, Datastream, "thing_id"), Datastream.thing_id),
        "Sensor": Nav("Sensor", "Sensors", False, _one(Sensor, Datastream, "sensor_id"), Datastream.sensor_id),
        "ObservedProperty": Nav("ObservedProperty", "ObservedProperties", False,
                                _one(ObservedProperty, Datastream, "observed_property_id"),
                                Datastream.observed_property_id),
        "Observations": Nav("Observations", "Observations", True, _many_fk(Observation, "datastream_id")),
    }),
    "FeaturesOfInterest": EntitySet("FeaturesOfInterest", "FeatureOfInterest", FeatureOfInterest, {
        "name": Prop(FeatureOfInterest.name, _attr("name")),
        "description": Prop(FeatureOfInterest.description, _attr("description")),
        "encodingType": Prop(FeatureOfInterest.encoding_type, _attr("encoding_type")),
        "feature": Prop(FeatureOfInterest.feature, _attr("feature"), "geometry"),
        "properties": Prop(FeatureOfInterest.properties, _attr("properties"), "json"),
    }, {
        "Observations": Nav("Observations", "Observations", True,
                            _many_fk(Observation, "feature_of_interest_id")),
    }),
    "Observations": EntitySet("Observations", "Observation", Observation, {
        "phenomenonTime": Prop(Observation.phenomenon_time,
                               lambda r: interval(r.phenomenon_time, r.phenomenon_time_end)),
        "resultTime": Prop(Observation.result_time, lambda r: iso(r.result_time)),
        "result": Prop(Observation.result_number, _result),
        "resultQuality": Prop(Observation.result_quality, _attr("result_quality")),
        "validTime": Prop(Observation.valid_time_start, lambda r: interval(r.valid_time_start, r.valid_time_end)),
        "parameters": Prop(Observation.parameters, _attr("parameters"), "json"),
    }, {
        "Datastream": Nav("Datastream", "Datastreams", False, _one(Datastream, Observation, "datastream_id"),
                          Observation.datastream_id),
        "FeatureOfInterest": Nav("FeatureOfInterest", "FeaturesOfInterest", False,
                                 _one(FeatureOfInterest, Observation, "feature_of_interest_id"),
                                 Observation.feature_of_interest_id),
    }),
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


def column_condition(col: InstrumentedAttribute[Any], value: Any) -> ColumnElement[bool]:
    return col == value
