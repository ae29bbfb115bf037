"""Traffic tables: the loaded network's segments, its detectors, the 5-minute state and index, incidents.

The network itself (SUMO's ``net.net.xml``) stays a file; the platform keeps what it serves
and computes with: each segment's road, class, lanes, free-flow speed, length, district and
polyline. Detectors are SensorThings Things (sensing's tables); here is only which segment
each watches and its Datastreams. States and index values are kept per 5-minute interval:
the history a weekday's same time is compared with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core.db import Base
from onecity.sensing.models import BigId


class TrafficNetwork(Base):
    """A network loaded into the platform (``<area>-<seed>``); segments and states hang off it."""

    __tablename__ = "traffic_networks"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    area: Mapped[str] = mapped_column(String(20))
    seed: Mapped[int] = mapped_column(Integer)
    segments: Mapped[int] = mapped_column(Integer)
    km: Mapped[float] = mapped_column(Float)
    signals: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime]


class Segment(Base):
    """One directed road segment (a SUMO edge)."""

    __tablename__ = "traffic_segments"

    network: Mapped[str] = mapped_column(ForeignKey("traffic_networks.key", ondelete="CASCADE"), primary_key=True)
    edge_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    road: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    #: GB/T 33171 class: expressway, arterial, secondary, local
    road_class: Mapped[str] = mapped_column(String(12))
    lanes: Mapped[int] = mapped_column(Integer)
    speed_kmh: Mapped[float] = mapped_column(Float)
    length_m: Mapped[float] = mapped_column(Float)
    district_code: Mapped[str] = mapped_column(String(12), index=True)
    #: [[lon, lat], ...] (WGS 84)
    geometry: Mapped[list[Any]] = mapped_column(JSON)
    mid_lon: Mapped[float] = mapped_column(Float)
    mid_lat: Mapped[float] = mapped_column(Float)
    #: the segments of the same road that follow this one (downstream neighbours)
    downstream: Mapped[list[Any]] = mapped_column(JSON)


class Detector(Base):
    """A detector station (induction loops across a segment) or a floating-car probe unit: a Thing."""

    __tablename__ = "traffic_detectors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(ForeignKey("traffic_networks.key", ondelete="CASCADE"), index=True)
    #: the segment a loop station watches; None for a probe unit (it moves)
    edge_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))  # loop | probe
    thing_id: Mapped[int] = mapped_column(BigId, ForeignKey("sta_things.id", ondelete="CASCADE"), index=True)
    ds_speed: Mapped[int] = mapped_column(BigId, index=True)
    ds_flow: Mapped[int | None] = mapped_column(BigId, index=True)
    ds_occupancy: Mapped[int | None] = mapped_column(BigId, index=True)
    #: the loops' position on the segment (m from its start)
    pos_m: Mapped[float | None] = mapped_column(Float)


class SegmentState(Base):
    """A segment's fused state over one 5-minute interval ending at ``at``."""

    __tablename__ = "traffic_states"
    __table_args__ = (Index("ix_traffic_states_network_at", "network", "at"),)

    network: Mapped[str] = mapped_column(ForeignKey("traffic_networks.key", ondelete="CASCADE"), primary_key=True)
    edge_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(primary_key=True)
    speed_kmh: Mapped[float] = mapped_column(Float)
    flow_vph: Mapped[float | None] = mapped_column(Float)
    occupancy: Mapped[float | None] = mapped_column(Float)
    #: the segment's congestion index 0–10 and grade 1 (smooth) … 5 (severe congestion)
    index: Mapped[float] = mapped_column(Float)
    grade: Mapped[int] = mapped_column(Integer)
    loop_samples: Mapped[int] = mapped_column(Integer)
    probe_samples: Mapped[int] = mapped_column(Integer)


class IndexValue(Base):
    """The traffic performance index of the city, a district or a road over one 5-minute interval."""

    __tablename__ = "traffic_index"

    network: Mapped[str] = mapped_column(ForeignKey("traffic_networks.key", ondelete="CASCADE"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)  # city | district | road
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(primary_key=True)
    tpi: Mapped[float] = mapped_column(Float)
    grade: Mapped[int] = mapped_column(Integer)
    km: Mapped[float] = mapped_column(Float)


class Incident(Base):
    """An incident the detection found: open while it lasts, cleared when the road is back to normal."""

    __tablename__ = "traffic_incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network: Mapped[str] = mapped_column(ForeignKey("traffic_networks.key", ondelete="CASCADE"), index=True)
    edge_id: Mapped[str] = mapped_column(String(64))
    road_name: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str] = mapped_column(String(12), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), index=True)  # open | cleared
    method: Mapped[str] = mapped_column(String(40))
    detected_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    occupancy: Mapped[float | None] = mapped_column(Float)
    updates: Mapped[int] = mapped_column(Integer, default=0)
    #: the urban-operations case it opened (set by operations when it takes the incident in)
    case_id: Mapped[str | None] = mapped_column(String(36))
