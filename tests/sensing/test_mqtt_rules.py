"""MQTT on the real Mosquitto: a device's reading is stored, readable over HTTP, republished, and an
alert raised by a rule carries the township; redelivered messages are stored once."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from onecity.core.db import Database
from onecity.core.events import OutboxMessage
from onecity.hub.geography.index import grid_index
from onecity.sensing import mqtt
from onecity.sensing.events import ALERT_RAISED
from onecity.sensing.models import Alert, Observation
from tests.sensing.conftest import BUND, judged


@pytest.fixture
def worker(db: Database, mqtt_url: str) -> Any:
    """An ingest worker on this run's broker, in a share group of its own; should the run be
    killed before the teardown forgets its session, the broker drops it within 30 s."""
    tag = f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    w = mqtt.IngestWorker(db, mqtt_url, worker_id=tag, group=tag, flush_seconds=0.02, session_expiry=30)
    w.start()
    stop = threading.Event()
    thread = threading.Thread(target=w.run, kwargs={"should_stop": stop.is_set}, daemon=True)
    thread.start()
    yield w
    stop.set()
    thread.join(timeout=10)
    w.close(forget=True)


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_mqtt_reading_stored_readable_and_alerting(
    db: Database,
    client: Any,
    sensing_key: str,
    worker: Any,
    make_station: Callable[..., tuple[int, int]],
    make_user: Any,
    login: Any,
) -> None:
    from onecity.core.identity.roles import Role

    _, ds = make_station("外滩水位站", "water_level")
    make_user("operator1", Role.OPERATOR, division_code="310000000000")
    staff = login("operator1")
    r = client.post(
        "/api/v1/sensing/rules",
        headers=staff,
        json={
            "name": "外滩水位橙色预警",
            "kind": "threshold",
            "level": "orange",
            "observed_property": "water_level",
            "params": {"above": 4.5, "clear_below": 4.3},
        },
    )
    assert r.status_code == 201, r.text
    device = mqtt.new_client(f"device-{uuid.uuid4().hex[:8]}")
    mqtt.connect(device, worker.url)
    try:
        readings = [("2026-07-01T08:00:00Z", 4.1), ("2026-07-01T08:05:00Z", 4.82), ("2026-07-01T08:10:00Z", 4.4)]
        for t, v in readings:
            payload = json.dumps({"phenomenonTime": t, "result": v})
            device.publish(mqtt.observation_topic(ds), payload, qos=1).wait_for_publish(5)
        # the same message again, as a broker redelivers it: stored once
        device.publish(
            mqtt.observation_topic(ds), json.dumps({"phenomenonTime": readings[0][0], "result": readings[0][1]}), qos=1
        ).wait_for_publish(5)
        wait_for(lambda: worker.stats.stored + worker.stats.duplicates >= 4 or worker.stats.last_error is not None)
        assert worker.stats.last_error is None, worker.stats.last_error
    finally:
        device.disconnect()
        device.loop_stop()
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Observation)) == 3
    assert worker.stats.duplicates == 1
    got = client.get(
        f"/sta/v1.1/Datastreams({ds})/Observations?$orderby=phenomenonTime",
        headers={"Authorization": f"Bearer {sensing_key}"},
    ).json()["value"]
    assert [o["result"] for o in got] == [4.1, 4.82, 4.4]
    # 4.82 crossed 4.5: one orange alert; 4.4 is inside the hysteresis band, so it stays active
    judged(db)  # the rules judge each batch after its commit, in the app's consumers
    with db.sessions() as s:
        alerts = list(s.scalars(select(Alert)))
        events = [m for m in s.scalars(select(OutboxMessage)) if m.event_type == ALERT_RAISED.name]
    assert len(alerts) == 1 and alerts[0].status == "active" and alerts[0].value == 4.82
    assert len(events) == 1
    raised = events[0].payload
    assert raised["level"] == "orange" and raised["observed_property"] == "water_level"
    where = grid_index(db).locate_one(*BUND)  # the hub's GeoIndex says which grid and township
    assert where is not None and where.district == "310101000000"  # Huangpu
    assert raised["division_code"] == where.grid
    assert abs(raised["lon"] - 121.4737) < 1e-6
    assert (
        client.get("/api/v1/sensing/alerts?status=active", headers=staff).json()[0]["township_code"] == where.township
    )


def test_republished_to_subscribers_including_http(
    db: Database, client: Any, sensing_key: str, worker: Any, make_station: Callable[..., tuple[int, int]]
) -> None:
    """Subscribers of v1.1/Datastreams(id)/Observations receive what HTTP created, once, and the
    ingest worker does not store the platform's own echo."""
    mqtt.REPUBLISHER.configure(worker.url)
    try:
        _, ds = make_station("虹口", "rainfall", "mm", 121.49, 31.27)
        got: list[dict[str, Any]] = []
        sub = mqtt.new_client(f"sub-{uuid.uuid4().hex[:8]}")
        sub.on_message = lambda c, u, m: got.append(json.loads(m.payload))
        mqtt.connect(sub, worker.url)
        sub.subscribe(mqtt.observation_topic(ds), qos=1)
        time.sleep(0.3)
        r = client.post(
            f"/sta/v1.1/Datastreams({ds})/Observations",
            json={"result": 12.5},
            headers={"Authorization": f"Bearer {sensing_key}"},
        )
        assert r.status_code == 201
        # the app's outbox relay hands the batch event to the republishing consumer
        wait_for(lambda: any(o.get("result") == 12.5 for o in got))
        time.sleep(0.5)
        assert [o["@iot.id"] for o in got] == [r.json()["@iot.id"]]
        with db.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Observation)) == 1  # the echo was skipped
        sub.disconnect()
        sub.loop_stop()
    finally:
        mqtt.REPUBLISHER.configure(None)


def test_a_device_reading_reaches_subscribers_once_and_never_comes_back_to_the_worker(
    db: Database, client: Any, worker: Any, make_station: Callable[..., tuple[int, int]]
) -> None:
    """A reading a device published on v1.1/Datastreams(id)/Observations reached that topic's
    subscribers through the broker: the platform does not publish it a second time, so subscribers
    get it once and the ingest worker gets no echo of it."""
    from onecity.core.events import ProcessedMessage

    mqtt.REPUBLISHER.configure(worker.url)
    _, ds = make_station("吴淞口", "water_level")
    got: list[dict[str, Any]] = []
    sub = mqtt.new_client(f"sub-{uuid.uuid4().hex[:8]}")
    sub.on_message = lambda c, u, m: got.append(json.loads(m.payload))
    device = mqtt.new_client(f"device-{uuid.uuid4().hex[:8]}")
    try:
        mqtt.connect(sub, worker.url)
        sub.subscribe(mqtt.observation_topic(ds), qos=1)
        mqtt.connect(device, worker.url)
        time.sleep(0.3)
        body = {"phenomenonTime": "2026-07-01T08:00:00Z", "result": 3.2}
        device.publish(mqtt.observation_topic(ds), json.dumps(body), qos=1).wait_for_publish(5)
        wait_for(lambda: worker.stats.stored >= 1)

        def republisher_saw_it() -> bool:
            with db.sessions() as s:
                return bool(
                    s.scalar(
                        select(func.count())
                        .select_from(ProcessedMessage)
                        .where(ProcessedMessage.consumer == "sensing.mqtt-observations")
                    )
                )

        wait_for(republisher_saw_it)
        time.sleep(0.5)
        assert got == [body]  # the device's own message, once
        assert worker.stats.echoes == 0 and worker.stats.received == 1
    finally:
        mqtt.REPUBLISHER.configure(None)
        for c in (device, sub):
            c.disconnect()
            c.loop_stop()
