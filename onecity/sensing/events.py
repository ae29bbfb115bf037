"""What sensing tells the rest of the platform: alerts raised and cleared, rules changed, and
(to its own MQTT workers) observations stored.

Urban operations consumes ``sensing.alert.raised`` to open a case at the sensor's place
(through its one intake function, like every other source) and ``sensing.alert.cleared`` to
note that the condition has ended. The payloads carry everything the consumer needs, so it
never reads sensing's tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

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
    #: Set when the device has no location: ``lon``/``lat`` are this division's representative point
    #: (its township, district or the city), an approximate place.
    approximate_division: str | None = None
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


class RuleChanged(BaseModel):
    """A stream rule created, changed (switched on or off, a new level or condition) or deleted."""

    rule_id: str
    name: str
    #: threshold, rate, silence or combination
    kind: str
    #: blue, yellow, orange or red
    level: str
    observed_property: str | None
    #: The division the rule covers (None: the whole city).
    area_code: str | None
    enabled: bool


RULE_CREATED = event_type("sensing.rule.created", RuleChanged)
RULE_UPDATED = event_type("sensing.rule.updated", RuleChanged)
RULE_DELETED = event_type("sensing.rule.deleted", RuleChanged)


class ObservationsStored(BaseModel):
    """A batch of new observations: ``[id, datastream_id, phenomenonTime, result]`` each.

    The stream rules judge the batch from this event, after the ingest committed it
    (:func:`onecity.sensing.rules.on_stored`); what they need of the streams' state *before*
    the batch travels with it, since by then the streams have moved on."""

    origin: str
    count: int
    observations: list[list[Any]]
    #: Each datastream's last numeric reading before the batch, ``{"<id>": [result, phenomenonTime]}``
    #: (rate rules compare the batch's first reading with it).
    previous: dict[str, list[Any]] = {}
    #: Things marked unavailable (silent) before the batch that spoke in it: their silence alerts end.
    back: list[int] = []


OBSERVATIONS_STORED = event_type("sensing.observations.stored", ObservationsStored)
