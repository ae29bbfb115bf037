"""Sensing's bus consumers: the stream rules judge each stored batch; stored observations and
alerts go out to MQTT subscribers.

They run wherever the platform's consumers run (the server, the ingest worker; in a process
without a bus, :func:`~onecity.core.bus.consumers.deliver_pending`), fed by the outbox relay,
at least once and exactly once per consumer inbox. A process with no MQTT broker configured
(``ONECITY_MQTT_URL`` unset, and nothing passed to
:meth:`~onecity.sensing.mqtt.Republisher.configure`) skips the publishing. Alerts are
published on a connection of their own (the ``alerts`` lane), never queued behind the
readings being republished.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from onecity.core.bus.consumers import consumer
from onecity.core.config import ConfigurationError, get_settings
from onecity.core.events import Envelope
from onecity.sensing import rules
from onecity.sensing.events import ALERT_CLEARED, ALERT_RAISED, OBSERVATIONS_STORED
from onecity.sensing.mqtt import ALERT_TOPIC, DEVICE_ORIGIN, REPUBLISHER, observation_topic
from onecity.sensing.sta.entities import VERSION_PATH

_configured = False


def _ready() -> bool:
    global _configured
    if not _configured:
        _configured = True
        if not REPUBLISHER.configured:
            try:
                REPUBLISHER.configure(get_settings().mqtt_url)
            except ConfigurationError:  # a process without platform settings (tests): no MQTT
                REPUBLISHER.configure(None)
    return REPUBLISHER.enabled


@consumer("sensing.rules", OBSERVATIONS_STORED)
def judge_batch(session: Session, envelope: Envelope) -> None:
    """The stream rules on a committed batch: alerts raised and cleared, with their events, commit
    with this consumer's inbox row (a batch redelivered after a crash is judged once)."""
    rules.on_stored(session, envelope.typed(OBSERVATIONS_STORED))


@consumer("sensing.mqtt-observations", OBSERVATIONS_STORED)
def republish_observations(session: Session, envelope: Envelope) -> None:
    """Each stored observation to ``v1.1/Datastreams(<id>)/Observations`` (OGC 18-088 §14.2.2), but
    those a device published there: the broker already delivered that message to every subscriber
    of the topic (:data:`~onecity.sensing.mqtt.DEVICE_ORIGIN`, the module docstring of
    :mod:`onecity.sensing.mqtt` says why)."""
    if not _ready():
        return
    payload = envelope.typed(OBSERVATIONS_STORED)
    if payload.origin == DEVICE_ORIGIN:
        return
    messages = []
    for obs_id, ds_id, t, result in payload.observations:
        body = {
            "@iot.id": obs_id,
            "@iot.selfLink": f"{VERSION_PATH}/Observations({obs_id})",
            "phenomenonTime": t.replace("+00:00", "Z"),
            "result": result,
            "Datastream@iot.navigationLink": f"{VERSION_PATH}/Observations({obs_id})/Datastream",
        }
        messages.append((observation_topic(ds_id), json.dumps(body).encode()))
    REPUBLISHER.publish_many(messages)


@consumer("sensing.mqtt-alerts", ALERT_RAISED)
def publish_alert(session: Session, envelope: Envelope) -> None:
    """Alerts to ``onecity/v1/alerts`` for live displays (the case itself comes from operations)."""
    if _ready():
        REPUBLISHER.publish_many(
            [(ALERT_TOPIC, json.dumps({"event": "raised", **envelope.payload}).encode())], lane="alerts"
        )


@consumer("sensing.mqtt-alerts-cleared", ALERT_CLEARED)
def publish_cleared(session: Session, envelope: Envelope) -> None:
    if _ready():
        REPUBLISHER.publish_many(
            [(ALERT_TOPIC, json.dumps({"event": "cleared", **envelope.payload}).encode())], lane="alerts"
        )
