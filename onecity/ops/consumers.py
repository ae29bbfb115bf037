"""Other parts' events that become cases: sensor alerts, camera detections' alerts, bad service ratings,
traffic incidents (opened, noted while they last, verified and closed when the road clears).

Each consumer turns the event's payload into one call of :func:`onecity.ops.service.intake`
(the same door as every other source), as a system principal naming the source. They run
through the platform's idempotent inbox, so a redelivered event never opens a second case;
a payload the intake refuses (a point outside the city) is logged and dropped rather than
retried for ever.
"""

from __future__ import annotations

import hashlib
import logging
import re

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core.bus.consumers import consumer
from onecity.core.divisions import Division
from onecity.core.errors import DomainError
from onecity.core.events import Envelope
from onecity.core.identity.principal import system_principal
from onecity.hub.geography.index import grid_index, warm_for_message
from onecity.hub.registries.models import Component
from onecity.ops import service
from onecity.ops.models import Case, Report, Source
from onecity.sensing import service as sensing
from onecity.sensing.events import ALERT_CLEARED, ALERT_RAISED, AlertRaised
from onecity.services.events import RATING_COMPLAINT
from onecity.traffic import service as traffic
from onecity.traffic.events import INCIDENT_CLEARED, INCIDENT_DETECTED, INCIDENT_UPDATED

log = logging.getLogger(__name__)

SENSOR_INTAKE = system_principal("ops:sensor-intake")
RATING_INTAKE = system_principal("ops:rating-intake")
TRAFFIC_INTAKE = system_principal("ops:traffic-intake")
#: A road traffic incident: urgent, for the district's traffic police (交警).
TRAFFIC_INCIDENT = "E0507"

#: What a sensor's observed property means as a case type (the alert's place and level do the rest).
PROPERTY_SUBTYPES = {
    "water_level": "E0501",
    "rainfall": "E0501",
    "ponding_depth": "E0501",
    "gas_concentration": "E0504",
    "methane": "E0504",
    "water_pressure": "E0503",
    "tilt": "E0506",
    "displacement": "E0502",
    "settlement": "E0502",
    "noise": "E0108",
    "pm10": "E0302",
    "pm2_5": "E0302",
    "dust": "E0302",
    "cover_open": "C0103",
    "manhole_cover": "C0103",
}
FALLBACK_SUBTYPE = "E0506"  # a public-safety hazard: somebody goes and looks
URGENT_LEVELS = {"orange", "red"}


def subtype_for_alert(observed_property: str | None, component_class: str | None) -> str:
    if component_class:
        return "C" + component_class
    return PROPERTY_SUBTYPES.get((observed_property or "").lower(), FALLBACK_SUBTYPE)


#: The English half of a sensing message's bilingual parts ("(橙色预警 / orange warning)").
_ENGLISH_HALF = re.compile(r" / [A-Za-z][A-Za-z ,.'-]*(?=[);:]|$)")
_CODE = re.compile(r"(?<!\d)\d{12}(?!\d)")


def alert_description(session: Session, alert: AlertRaised) -> str:
    """What is wrong, in Chinese, as a case shows it: the rule's name, then the alert's message with the
    observed properties and townships named (the stored message keeps their keys and codes, and
    the level in both languages: the sensing pages translate it as they show it; a case's
    description is stored once, in the city's language)."""
    text = alert.message
    if alert.approximate_division:  # the device has no location: the case stands at the division's point
        text += f"（位置为近似：设备未登记位置，标在 {alert.approximate_division} 的代表点）"
    names = sensing.property_names("zh")
    for key in sorted((k for k in names if k in text), key=len, reverse=True):
        text = re.sub(rf"(?<![\w.]){re.escape(key)}(?![\w.])", names[key], text)
    if codes := set(_CODE.findall(text)):
        for code, name in session.execute(select(Division.code, Division.name).where(Division.code.in_(codes))):
            text = text.replace(code, name)
    text = re.sub(r"(\d+) min; ?", r"\1 分钟，", _ENGLISH_HALF.sub("", text))
    return f"[{alert.rule_name}] {text}"


@consumer("ops.case-from-sensor-alert", ALERT_RAISED, prepare=warm_for_message)
def case_from_sensor_alert(session: Session, envelope: Envelope) -> None:
    alert = envelope.typed(ALERT_RAISED)
    component = None
    if alert.component_id and alert.component_id.isdigit():
        component = session.get(Component, int(alert.component_id))
    component_class = component.class_code if component is not None else None
    try:
        with session.begin_nested():
            service.intake(
                session,
                SENSOR_INTAKE,
                source=Source.SENSOR.value,
                subtype_code=subtype_for_alert(alert.observed_property, component_class),
                description=alert_description(session, alert),
                lon=alert.lon,
                lat=alert.lat,
                component_id=component.id if component is not None else None,
                external_id=alert.alert_id,
                urgency="urgent" if alert.level in URGENT_LEVELS else None,
                # one event seen by many sensors of a township (a storm, a crowd, an outage) is one case
                event_key=f"[{alert.rule_name}]",
            )
    except DomainError as err:
        log.warning("sensor alert %s opened no case: %s", alert.alert_id, err.detail)


@consumer("ops.case-note-alert-cleared", ALERT_CLEARED, prepare=warm_for_message)
def note_alert_cleared(session: Session, envelope: Envelope) -> None:
    cleared = envelope.typed(ALERT_CLEARED)
    case_id = session.scalar(
        select(Report.case_id).where(Report.source == Source.SENSOR, Report.external_id == cleared.alert_id)
    )
    if case_id is None:
        return
    case = session.get(Case, case_id)
    if case is not None:
        service.note_case(
            session,
            SENSOR_INTAKE,
            case_id,
            note=f"sensor alert {cleared.alert_id} cleared at {cleared.cleared_at.isoformat()}",
        )


def _traffic_case(session: Session, incident_id: str) -> str | None:
    return session.scalar(
        select(Report.case_id).where(Report.source == Source.SENSOR, Report.external_id == incident_id)
    )


@consumer("ops.case-from-traffic-incident", INCIDENT_DETECTED, prepare=warm_for_message)
def case_from_traffic_incident(session: Session, envelope: Envelope) -> None:
    inc = envelope.typed(INCIDENT_DETECTED)
    try:
        with session.begin_nested():
            made = service.intake(
                session,
                TRAFFIC_INTAKE,
                source=Source.SENSOR.value,
                subtype_code=TRAFFIC_INCIDENT,
                description=inc.message,
                lon=inc.lon,
                lat=inc.lat,
                external_id=inc.incident_id,
                urgency="urgent",
            )
            traffic.link_case(session, inc.incident_id, made.case.id)
    except DomainError as err:
        log.warning("traffic incident %s opened no case: %s", inc.incident_id, err.detail)


@consumer("ops.case-note-traffic-incident", INCIDENT_UPDATED, prepare=warm_for_message)
def note_traffic_incident(session: Session, envelope: Envelope) -> None:
    upd = envelope.typed(INCIDENT_UPDATED)
    case_id = _traffic_case(session, upd.incident_id)
    if case_id is not None:
        service.note_case(session, TRAFFIC_INTAKE, case_id, note=upd.message)


@consumer("ops.case-close-traffic-incident", INCIDENT_CLEARED, prepare=warm_for_message)
def close_traffic_incident(session: Session, envelope: Envelope) -> None:
    cleared = envelope.typed(INCIDENT_CLEARED)
    case_id = _traffic_case(session, cleared.incident_id)
    if case_id is None:
        return
    try:
        with session.begin_nested():
            service.close_sensed_case(session, TRAFFIC_INTAKE, case_id, note=cleared.message)
    except DomainError as err:
        log.warning("traffic incident %s left case %s open: %s", cleared.incident_id, case_id, err.detail)


@consumer("ops.work-order-from-rating", RATING_COMPLAINT, prepare=warm_for_message)
def work_order_from_rating(session: Session, envelope: Envelope) -> None:
    rating = envelope.typed(RATING_COMPLAINT)
    try:
        lonlat, _grids = grid_index(session).random_points_in(rating.division_code, 1, _rng(rating.rating_id))
    except DomainError as err:
        log.warning("rating %s opened no work order: %s", rating.rating_id, err.detail)
        return
    try:
        with session.begin_nested():
            service.intake(
                session,
                RATING_INTAKE,
                source=Source.RATING.value,
                subtype_code="E0601",
                description=(
                    f"{rating.stars}★ {rating.item_name}（{rating.item_code}，{rating.agency_code}，"
                    f"{rating.channel}）：{rating.comment}"
                )[:2000],
                lon=float(lonlat[0, 0]),
                lat=float(lonlat[0, 1]),
                external_id=rating.rating_id,
            )
    except DomainError as err:
        log.warning("rating %s opened no work order: %s", rating.rating_id, err.detail)


def _rng(key: str) -> np.random.Generator:
    """A generator seeded by the rating id: the same rating always lands on the same point."""
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
