"""The two networks meet: a reading over MQTT crosses a rule and a case opens at the right township.

The whole path runs on real parts: Mosquitto, the ingest worker, the stream rule, the outbox,
the app's relay and bus, urban operations' consumer and its one intake, and the dispatch to the
responsible department's unit for the sensor's place.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import select

from onecity.core.db import Database
from onecity.core.identity.models import Agency
from onecity.core.identity.roles import Role
from onecity.hub.geography.index import grid_index
from onecity.ops.models import Case
from onecity.ops.units import install_units, unit_agency_code
from onecity.sensing import mqtt
from tests.conftest import SYSTEM, TIANPINGLU, XUHUI
from tests.sensing.test_mqtt_rules import wait_for, worker  # noqa: F401  (the worker fixture)


def test_an_mqtt_reading_over_the_threshold_opens_a_dispatched_case_in_its_township(
    db: Database,
    client: Any,
    sensing_key: str,
    worker: Any,  # noqa: F811
    make_station: Callable[..., tuple[int, int]],
    make_user: Any,
    login: Any,
) -> None:
    with db.transaction() as session:
        install_units(session, SYSTEM, within=XUHUI)
    ((lon, lat),) = grid_index(db).random_points_in(TIANPINGLU, 1, np.random.default_rng(3))[0].tolist()
    _, ds = make_station("天平路积水监测点", "water_level", lon=lon, lat=lat)
    make_user("xh.operator", Role.OPERATOR, division_code=XUHUI)
    r = client.post(
        "/api/v1/sensing/rules",
        headers=login("xh.operator"),
        json={
            "name": "道路积水橙色预警",
            "kind": "threshold",
            "level": "orange",
            "observed_property": "water_level",
            "area_code": XUHUI,
            "params": {"above": 0.3, "clear_below": 0.2},
        },
    )
    assert r.status_code == 201, r.text

    device = mqtt.new_client(f"device-{uuid.uuid4().hex[:8]}")
    mqtt.connect(device, worker.url)
    try:
        for t, v in (("2026-07-01T08:00:00Z", 0.05), ("2026-07-01T08:05:00Z", 0.42)):
            device.publish(
                mqtt.observation_topic(ds), json.dumps({"phenomenonTime": t, "result": v}), qos=1
            ).wait_for_publish(5)
    finally:
        device.disconnect()
        device.loop_stop()

    def case() -> Case | None:
        with db.sessions() as s:
            return s.scalar(select(Case).where(Case.source == "sensor"))

    wait_for(lambda: case() is not None, timeout=30)
    opened = case()
    assert opened is not None
    assert opened.township_code == TIANPINGLU and opened.district_code == XUHUI
    assert opened.subtype_code == "E0501" and opened.urgency == "urgent"  # road flooding, orange → urgent
    with db.sessions() as s:
        unit = s.get(Agency, opened.unit_agency_id) if opened.unit_agency_id else None
    # road flooding is the district water authority's: Xuhui's water unit, not another district's
    assert unit is not None and unit.code == unit_agency_code("water", XUHUI), unit
    assert opened.status == "dispatched"
