"""The SensorThings data model (OGC 18-088, SensorThings API Part 1: Sensing 1.1) and the rules.

Entity sets map one-to-one onto tables prefixed ``sta_``; ``@iot.id`` is an integer key.
A few columns beyond the standard serve the platform:

* a :class:`Thing` may be linked to a hub registry component (a manhole cover) and carries
  the grid and township it stands in (from the component, else from its location through the
  hub's ``GeoIndex``), so rules per area and alerts at the right place need no spatial query;
* a :class:`Thing` belongs to a division and an agency (``division_code``, ``agency_id``):
  writes to it, its Datastreams and their Observations are limited to them
  (:mod:`onecity.sensing.access`);
* a :class:`Thing` keeps its health (``last_seen_at``, ``available``) for the device map;
* a :class:`Datastream` keeps its last two results, which the rate-of-change and combination
  rules read instead of scanning observations;
* an :class:`Observation` carries ``dedup_key`` (a digest of the MQTT message that created
  it, unique per datastream), so a redelivered message is inserted-or-ignored, never twice.
  Numeric results live in ``result_number`` (filterable, comparable), anything else in
  ``result_json``;
* on PostgreSQL ``sta_observations`` is range-partitioned by week of ``phenomenon_time``
  (:mod:`onecity.sensing.partitions`: why weekly, the DEFAULT partition, retention), and the
  partition key is part of its primary key and of the dedup constraint; SQLite keeps one
  plain table with the constraints as declared here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core import clock
from onecity.core.db import Base, IdMixin, TimestampMixin

BigId = BigInteger().with_variant(Integer, "sqlite")


class Thing(Base):
    __tablename__ = "sta_things"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The hub registry component this device watches (``components.id``), if any.
    component_id: Mapped[int | None] = mapped_column(ForeignKey("components.id", ondelete="SET NULL"), index=True)
    #: Unit grid (15 digits) and township (12 digits) the Thing stands in; None outside the city.
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    township_code: Mapped[str | None] = mapped_column(String(12), index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    #: The division that owns the Thing, whose staff and keys may change it and its streams and
    #: readings: its township (from the component or the location), else its creator's division.
    division_code: Mapped[str | None] = mapped_column(String(12), index=True)
    #: The agency that put it up (its creator's); None when made by a key of no agency.
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"), index=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(index=True)
    #: False once a silence rule found the device gone quiet; True again at its next reading.
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())


class Location(Base):
    __tablename__ = "sta_locations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100), default="application/geo+json")
    location: Mapped[dict[str, Any]] = mapped_column(JSON)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: A representative point of ``location`` (for maps and cheap spatial pre-filters).
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)


class ThingLocation(Base):
    __tablename__ = "sta_thing_locations"

    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_things.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("sta_locations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class HistoricalLocation(Base):
    __tablename__ = "sta_historical_locations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_things.id", ondelete="CASCADE"), index=True)
    time: Mapped[datetime]


class HistoricalLocationLocation(Base):
    __tablename__ = "sta_historical_location_locations"

    historical_location_id: Mapped[int] = mapped_column(
        ForeignKey("sta_historical_locations.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(
        ForeignKey("sta_locations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Sensor(Base):
    __tablename__ = "sta_sensors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100))
    #: ``metadata`` in the standard (the attribute name is taken by SQLAlchemy).
    sensor_metadata: Mapped[Any] = mapped_column("metadata", JSON)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ObservedProperty(Base):
    __tablename__ = "sta_observed_properties"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    definition: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Datastream(Base):
    __tablename__ = "sta_datastreams"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    observation_type: Mapped[str] = mapped_column(String(200))
    unit_of_measurement: Mapped[dict[str, Any]] = mapped_column(JSON)
    observed_area: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    phenomenon_time_start: Mapped[datetime | None]
    phenomenon_time_end: Mapped[datetime | None]
    result_time_start: Mapped[datetime | None]
    result_time_end: Mapped[datetime | None]
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_things.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sta_sensors.id", ondelete="CASCADE"), index=True)
    observed_property_id: Mapped[int] = mapped_column(
        ForeignKey("sta_observed_properties.id", ondelete="CASCADE"), index=True
    )
    #: The newest numeric result and the one before it, with their phenomenon times (rules read these).
    last_result: Mapped[float | None] = mapped_column(Float)
    last_time: Mapped[datetime | None]
    prev_result: Mapped[float | None] = mapped_column(Float)
    prev_time: Mapped[datetime | None]


class FeatureOfInterest(Base):
    __tablename__ = "sta_features_of_interest"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100), default="application/geo+json")
    feature: Mapped[dict[str, Any]] = mapped_column(JSON)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    #: Set on the feature made from a Thing's location when an observation came without one.
    thing_id: Mapped[int | None] = mapped_column(ForeignKey("sta_things.id", ondelete="SET NULL"), index=True)


class Observation(Base):
    __tablename__ = "sta_observations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    datastream_id: Mapped[int] = mapped_column(ForeignKey("sta_datastreams.id", ondelete="CASCADE"))
    phenomenon_time: Mapped[datetime]
    phenomenon_time_end: Mapped[datetime | None]
    result_time: Mapped[datetime | None]
    result_number: Mapped[float | None] = mapped_column(Float)
    result_json: Mapped[Any] = mapped_column(JSON, nullable=True)
    result_quality: Mapped[Any] = mapped_column(JSON, nullable=True)
    valid_time_start: Mapped[datetime | None]
    valid_time_end: Mapped[datetime | None]
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    feature_of_interest_id: Mapped[int | None] = mapped_column(
        ForeignKey("sta_features_of_interest.id", ondelete="SET NULL"), index=True
    )
    #: Digest of the MQTT message that made this row; NULL for HTTP (NULLs never collide).
    dedup_key: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        UniqueConstraint("datastream_id", "dedup_key", name="uq_sta_observations_dedup"),
        Index("ix_sta_observations_stream_time", "datastream_id", "phenomenon_time"),
        # PostgreSQL: range-partitioned by week of phenomenon time (migration 0032,
        # :mod:`onecity.sensing.partitions`), so there the primary key is (id, phenomenon_time) and
        # the dedup constraint (datastream_id, dedup_key, phenomenon_time); the drift check knows
        # (``onecity.core.migrate.drift``). SQLite keeps this shape exactly.
        {"info": {"postgresql_partitioned_by": "phenomenon_time"}},
    )


# -- rules and alerts ---------------------------------------------------------------------------


class RuleKind(StrEnum):
    THRESHOLD = "threshold"
    RATE = "rate"
    SILENCE = "silence"
    COMBINATION = "combination"


class Level(StrEnum):
    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"


class Rule(IdMixin, TimestampMixin, Base):
    """A stream rule: which observed property, in which area, what condition, which level."""

    __tablename__ = "sensing_rules"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[RuleKind] = mapped_column(String(12))
    level: Mapped[Level] = mapped_column(String(6))
    #: Observed property name the rule watches (None: every stream, for silence rules).
    observed_property: Mapped[str | None] = mapped_column(String(200), index=True)
    #: Division the rule covers (a prefix of the Things' grid codes); None: the whole city.
    area_code: Mapped[str | None] = mapped_column(String(12))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(120))


class AlertStatus(StrEnum):
    ACTIVE = "active"
    CLEARED = "cleared"


class Alert(IdMixin, Base):
    __tablename__ = "sensing_alerts"

    rule_id: Mapped[str] = mapped_column(ForeignKey("sensing_rules.id", ondelete="CASCADE"), index=True)
    #: What the alert is about: ``ds:<id>`` (a stream), ``thing:<id>`` (a silent device) or
    #: ``tw:<code>`` (a township, for combination rules). One active alert per rule and subject.
    subject: Mapped[str] = mapped_column(String(40))
    status: Mapped[AlertStatus] = mapped_column(String(8), default=AlertStatus.ACTIVE, index=True)
    level: Mapped[Level] = mapped_column(String(6))
    message: Mapped[str] = mapped_column(String(500))
    value: Mapped[float | None] = mapped_column(Float)
    thing_id: Mapped[int | None] = mapped_column(ForeignKey("sta_things.id", ondelete="SET NULL"), index=True)
    datastream_id: Mapped[int | None] = mapped_column(ForeignKey("sta_datastreams.id", ondelete="SET NULL"))
    division_code: Mapped[str | None] = mapped_column(String(15), index=True)
    township_code: Mapped[str | None] = mapped_column(String(12))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    #: The division whose representative point ``lon``/``lat`` are when the device has no location
    #: (its township, district or the city): the place is approximate. None: the device's own point.
    approximate_division: Mapped[str | None] = mapped_column(String(12))
    #: Phenomenon time of the reading that raised it (latency is measured from here).
    observed_at: Mapped[datetime | None]
    raised_at: Mapped[datetime] = mapped_column(index=True)
    cleared_at: Mapped[datetime | None]


class RuleState(Base):
    """The live state of one rule for one subject: its active alert, if any (locked while evaluated)."""

    __tablename__ = "sensing_rule_states"

    rule_id: Mapped[str] = mapped_column(ForeignKey("sensing_rules.id", ondelete="CASCADE"), primary_key=True)
    subject: Mapped[str] = mapped_column(String(40), primary_key=True)
    active_alert_id: Mapped[str | None] = mapped_column(ForeignKey("sensing_alerts.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime]
    #: When the reading that last raised or cleared the alert was taken: the rules judge batches
    #: after they are stored, so an older batch judged late must not undo what a newer one decided.
    observed_at: Mapped[datetime | None]
