"""What sensing tells the rest of the platform: alerts raised and cleared.

Urban operations consumes ``sensing.alert.raised`` to open a case at the sensor's place
(through its one intake function, like every other source) and ``sensing.alert.cleared`` to
note that the condition has ended. The payloads carry everything the consumer needs, so it
never reads sensing's tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from onecity.core.events import event_type

WarningLevel = Literal["blue", "yellow", "orange", "red"]
RuleKind = Literal["threshold", "rate", "silence", "combination"]


class AlertRaised(BaseModel):
    alert_id: str
    rule_id: str
    rule_name: str
    kind: RuleKind
    level: WarningLevel
    #: The observed property's name (``water_level``, ``rainfall``…); None for a silent device.
    observed_property: str | None
    #: One line a dispatcher reads, e.g. "水位 4.82 m ≥ 4.50 m (橙色预警)".
    message: str
    lon: float
    lat: float
    #: The most precise division code known for the place (grid, else community, else township).
    division_code: str | None
    thing_id: str | None
    #: The hub registry component the Thing is linked to (a manhole cover…), if any.
    component_id: str | None
    raised_at: datetime


class AlertCleared(BaseModel):
    alert_id: str
    rule_id: str
    cleared_at: datetime


ALERT_RAISED = event_type("sensing.alert.raised", AlertRaised)
ALERT_CLEARED = event_type("sensing.alert.cleared", AlertCleared)
