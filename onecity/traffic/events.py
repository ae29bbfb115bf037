"""What traffic tells the rest of the platform: incidents detected, updated while they last, cleared.

Urban operations consumes them: a detected incident opens a traffic-incident case routed to
the district's traffic police, each update is a note on it, and the clearing verifies and
closes it. The payloads carry everything the consumer needs, so it never reads traffic's tables.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from onecity.core.events import event_type


class IncidentDetected(BaseModel):
    incident_id: str
    network: str
    edge_id: str
    road_name: str
    #: one line a dispatcher reads
    message: str
    lon: float
    lat: float
    district_code: str
    method: str
    detected_at: datetime


class IncidentUpdated(BaseModel):
    incident_id: str
    message: str
    speed_kmh: float | None
    occupancy: float | None
    at: datetime


class IncidentCleared(BaseModel):
    incident_id: str
    message: str
    cleared_at: datetime


INCIDENT_DETECTED = event_type("traffic.incident.detected", IncidentDetected)
INCIDENT_UPDATED = event_type("traffic.incident.updated", IncidentUpdated)
INCIDENT_CLEARED = event_type("traffic.incident.cleared", IncidentCleared)
