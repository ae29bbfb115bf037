"""Bodies of the traffic API's answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class NetworkPublic(BaseModel):
    key: str
    area: str
    seed: int
    segments: int
    km: float
    signals: int
    loaded_at: datetime
    latest: datetime | None


class IndexPoint(BaseModel):
    at: datetime
    tpi: float
    grade: int
    km: float


class IndexSeries(BaseModel):
    network: str
    scope: str
    key: str
    points: list[IndexPoint]


class IndexNow(BaseModel):
    network: str
    at: str | None
    city: dict[str, Any] | None
    districts: list[dict[str, Any]]


class IncidentPublic(BaseModel):
    id: str
    edge_id: str
    road_name: str
    district_code: str
    lon: float
    lat: float
    status: str
    method: str
    detected_at: datetime
    cleared_at: datetime | None
    speed_kmh: float | None
    occupancy: float | None
    updates: int
    case_id: str | None


class StatePoint(BaseModel):
    at: datetime
    speed_kmh: float
    flow_vph: float | None
    occupancy: float | None
    index: float
    grade: int


class SegmentDetail(BaseModel):
    edge_id: str
    name: str
    name_en: str
    road: str
    road_class: str
    lanes: int
    free_flow_kmh: float
    length_m: float
    district_code: str
    geometry: list[Any]
    states: list[StatePoint]
