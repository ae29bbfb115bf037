"""Stream rules on the ingest path: hysteresis, rate of change, silence, combinations; rule
management through the API; Things linked to registry components."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.events import OutboxMessage
from onecity.core.identity.roles import Role
from onecity.sensing import rules, service
from onecity.sensing.events import ALERT_CLEARED, ALERT_RAISED, OBSERVATIONS_STORED
from onecity.sensing.ingest import NewObservation, store_observations
from onecity.sensing.models import Alert, Thing
from tests.conftest import SYSTEM
from tests.sensing.conftest import judged

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def feed(db: Database, ds: int, values: list[float], *, start: datetime = T0, minutes: int = 10) -> list[str]:
    """Store readings one batch each (as a stream arrives), each judged by the rules' consumer (in the
    app's background) before the next; returns the alert events in order."""
    for i, v in enumerate(values):
        with db.transaction() as s:
            store_observations(
                s, [NewObservation(ds, start + timedelta(minutes=minutes * i), v)], principal=SYSTEM, origin="test"
            )
        judged(db)
    return alert_events(db)


def alert_events(db: Database) -> list[str]:
    with db.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.event_type.in_([ALERT_RAISED.name, ALERT_CLEARED.name]))
            .order_by(OutboxMessage.occurred_at, OutboxMessage.id)
        )
        return ["raised" if r.event_type == ALERT_RAISED.name else "cleared" for r in rows]


def rule(db: Database, **kw: Any) -> str:
    with db.transaction() as s:
        return service.create_rule(s, SYSTEM, **kw).id


def test_threshold_with_hysteresis(db: Database, make_station: Callable[..., tuple[int, int]]) -> None:
    _, ds = make_station("吴淞口", "water_level")
    rule(
        db,
        name="吴淞口高水位",
        kind="threshold",
        level="red",
        observed_property="water_level",
        params={"above": 5.0, "clear_below": 4.6},
    )
    # rises over 5.0, hovers in the band (no flapping), falls under 4.6, rises again
    events = feed(db, ds, [4.2, 5.1, 4.9, 5.05, 4.7, 4.5, 5.2])
    assert events == ["raised", "cleared", "raised"]
    with db.sessions() as s:
        alerts = list(s.scalars(select(Alert).order_by(Alert.raised_at, Alert.value)))
    assert [(a.status, a.value, a.level) for a in alerts] == [("cleared", 5.1, "red"), ("active", 5.2, "red")]
    assert "5.1" in alerts[0].message and "红色预警" in alerts[0].message


def test_rate_of_change(db: Database, make_station: Callable[..., tuple[int, int]]) -> None:
    _, ds = make_station("黄浦公园", "water_level")
    rule(
        db, name="水位陡涨", kind="rate", level="yellow", observed_property="water_level", params={"rise_per_hour": 0.6}
    )
    # +0.05 per 10 min = 0.3/h (calm), +0.2 per 10 min = 1.2/h (fires), then flat (clears)
    assert feed(db, ds, [3.0, 3.05, 3.25, 3.25]) == ["raised", "cleared"]


def test_ingest_stores_and_the_rules_judge_after_commit(
    db: Database, make_station: Callable[..., tuple[int, int]]
) -> None:
    """The ingest transaction writes the readings and one event; the alert comes from the
    ``sensing.rules`` consumer, with the stream's reading before the batch for rate rules."""
    _, ds = make_station("苏州河水位", "water_level")
    rule(db, name="陡涨", kind="rate", level="yellow", observed_property="water_level", params={"rise_per_hour": 0.6})
    feed(db, ds, [3.0])
    with db.transaction() as s:
        store_observations(s, [NewObservation(ds, T0 + timedelta(minutes=10), 3.5)], principal=SYSTEM, origin="test")
        # nothing judged inside the ingest's own transaction
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == ALERT_RAISED.name)).all() == []
        stored = s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == OBSERVATIONS_STORED.name)).all()
        assert stored[-1].payload["previous"] == {str(ds): [3.0, T0.isoformat()]}
    judged(db)
    assert alert_events(db) == ["raised"]  # +0.5 in 10 min = 3/h, against the reading before the batch


def test_a_late_older_batch_does_not_undo_a_newer_decision(
    db: Database, make_station: Callable[..., tuple[int, int]]
) -> None:
    """Batches may be judged out of the order they were taken (two workers, a redelivery): a
    reading older than the one that raised the alert does not clear it."""
    _, ds = make_station("蕰藻浜水位", "water_level")
    rule(db, name="高水位", kind="threshold", level="red", observed_property="water_level", params={"above": 5.0})
    assert feed(db, ds, [5.5], start=T0 + timedelta(hours=1)) == ["raised"]
    assert feed(db, ds, [4.0], start=T0) == ["raised"]  # taken an hour before the alerting one
    assert feed(db, ds, [4.0], start=T0 + timedelta(hours=2)) == ["raised", "cleared"]


def test_a_batch_redelivered_is_judged_once(db: Database, make_station: Callable[..., tuple[int, int]]) -> None:
    from onecity.core.bus.consumer import process_once
    from onecity.core.events import envelope_of
    from onecity.sensing.consumers import judge_batch

    _, ds = make_station("淀浦河水位", "water_level")
    rule(db, name="高水位", kind="threshold", level="red", observed_property="water_level", params={"above": 5.0})
    assert feed(db, ds, [5.5]) == ["raised"]
    with db.sessions() as s:
        batch = s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == OBSERVATIONS_STORED.name)).one()
        envelope = envelope_of(batch)
    assert process_once(db, "sensing.rules", judge_batch, envelope) is False  # the bus sent it again
    assert alert_events(db) == ["raised"]


def test_rules_respect_area_and_property(db: Database, make_station: Callable[..., tuple[int, int]]) -> None:
    _, bund = make_station("外滩", "water_level")
    _, xu = make_station("徐家汇", "water_level", "m", 121.437, 31.195)
    _, rain = make_station("徐家汇雨量", "rainfall", "mm", 121.437, 31.195)
    rule(
        db,
        name="黄浦区高水位",
        kind="threshold",
        level="orange",
        observed_property="water_level",
        area_code="310101000000",
        params={"above": 4.0},
    )
    assert feed(db, xu, [9.0]) == []  # Xuhui: outside the rule's area
    assert feed(db, rain, [9.0]) == []  # another property
    assert feed(db, bund, [9.0]) == ["raised"]


def test_combination_in_one_township(db: Database, make_station: Callable[..., tuple[int, int]]) -> None:
    """Heavy rain AND a rising river in the same township raise one township alert."""
    _, rain = make_station("外滩雨量", "rainfall", "mm")
    _, level = make_station("外滩水位", "water_level")
    _, far_rain = make_station("崇明雨量", "rainfall", "mm", 121.40, 31.62)
    rule(
        db,
        name="暴雨叠加涨水",
        kind="combination",
        level="red",
        params={
            "window_minutes": 60,
            "conditions": [
                {"observed_property": "rainfall", "above": 30},
                {"observed_property": "water_level", "rise_per_hour": 0.3},
            ],
        },
    )
    assert feed(db, far_rain, [80.0]) == []  # heavy rain elsewhere
    assert feed(db, level, [3.0, 3.2]) == []  # rising (1.2/h) but no heavy rain here yet
    assert feed(db, rain, [45.0], start=T0 + timedelta(minutes=15)) == ["raised"]
    with db.sessions() as s:
        alert = s.scalars(select(Alert)).one()
        thing = s.scalars(select(Thing).where(Thing.name == "外滩雨量")).one()
    assert alert.subject == f"tw:{thing.township_code}" and alert.township_code == thing.township_code
    assert feed(db, rain, [5.0], start=T0 + timedelta(minutes=20)) == ["raised", "cleared"]


def test_silence_marks_unavailable_and_clears_on_return(
    db: Database, make_station: Callable[..., tuple[int, int]], client: Any, sensing_key: str
) -> None:
    thing_id, ds = make_station("井盖 1", "tilt", "deg")
    rule(db, name="设备离线", kind="silence", level="blue", params={"silent_minutes": 30})
    with clock.frozen(T0):
        feed(db, ds, [0.0], start=T0)
    with clock.frozen(T0 + timedelta(minutes=20)), db.transaction() as s:
        assert rules.check_silence(s, principal=SYSTEM) == []
    with clock.frozen(T0 + timedelta(minutes=45)), db.transaction() as s:
        assert len(rules.check_silence(s, principal=SYSTEM)) == 1
        assert rules.check_silence(s, principal=SYSTEM) == []  # once per silence
    with db.sessions() as s:
        assert s.get_one(Thing, thing_id).available is False
    with clock.frozen(T0 + timedelta(minutes=50)):
        assert feed(db, ds, [0.1], start=T0 + timedelta(minutes=50)) == ["raised", "cleared"]
    with db.sessions() as s:
        assert s.get_one(Thing, thing_id).available is True


def test_rules_api_validates_and_scopes(client: Any, make_user: Any, login: Any) -> None:
    make_user("xuhui.op", Role.OPERATOR, division_code="310104000000")
    make_user("xuhui.clerk", Role.COUNTER_CLERK, division_code="310104000000")
    h = login("xuhui.op")
    ok: dict[str, object] = {
        "name": "徐汇积水",
        "kind": "threshold",
        "level": "yellow",
        "observed_property": "ponding_depth",
        "area_code": "310104000000",
        "params": {"above": 0.15, "clear_below": 0.1},
    }
    r = client.post("/api/v1/sensing/rules", headers=h, json=ok)
    assert r.status_code == 201, r.text
    rule_id = r.json()["id"]
    changes: list[tuple[dict[str, object], str]] = [
        ({"params": {"above": 1, "clear_below": 2}}, "hysteresis"),
        ({"params": {"above": 1, "below": 0}}, "exactly one"),
        ({"level": "purple"}, "level"),
        ({"kind": "magic"}, "kind"),
        ({"area_code": "310101000000"}, "outside your area"),
        ({"kind": "combination", "params": {"conditions": []}}, "conditions"),
    ]
    for change, fragment in changes:
        r = client.post("/api/v1/sensing/rules", headers=h, json={**ok, **change})
        assert r.status_code in (403, 422), (change, r.text)
        assert fragment in r.json()["detail"], (change, r.json()["detail"])
    assert client.get("/api/v1/sensing/rules", headers=login("xuhui.clerk")).status_code == 403
    r = client.patch(f"/api/v1/sensing/rules/{rule_id}", headers=h, json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert client.delete(f"/api/v1/sensing/rules/{rule_id}", headers=h).status_code == 204
    assert client.get("/api/v1/sensing/rules", headers=h).json() == []


def test_thing_linked_to_component(db: Database, client: Any, sensing_key: str) -> None:
    """A manhole-cover sensor takes its place from the cover in the registry.

    The cover lies on a grid of the generated Xuhui the package's database holds (``tests.grids``);
    the next test's truncation removes the component and keeps the grids."""
    from onecity.hub.registries.models import Component

    with db.transaction() as s:
        s.add(
            Component(
                id=1,
                code="310104010300000001",
                class_code="0103",
                grid_code="310104003001001",
                division_code="310104003001",
                lon=121.4455,
                lat=31.2055,
                owner_department="水务局",
            )
        )
    h = {"Authorization": f"Bearer {sensing_key}"}
    r = client.post(
        "/sta/v1.1/Things",
        headers=h,
        json={
            "name": "井盖传感器",
            "description": "manhole cover tilt",
            "properties": {"onecity:component": "310104010300000001"},
        },
    )
    assert r.status_code == 201, r.text
    props = r.json()["properties"]
    assert props["onecity:grid"] == "310104003001001" and props["onecity:township"] == "310104003000"
    assert props["onecity:district"] == "310104000000"
    r = client.post("/sta/v1.1/Things", headers=h, json={"name": "x", "properties": {"onecity:component": "nope"}})
    assert r.status_code == 404 and "component" in r.json()["detail"]


def test_an_alert_on_a_device_without_location_stands_at_its_divisions_representative_point(db: Database) -> None:
    """Never at (0, 0): a Thing with no location is alerted at its township's (or district's) representative
    point from the hub's geography, and the alert, its event and the live list say the place is approximate."""
    import shapely
    from shapely.geometry import Point

    from onecity.hub.geography.models import DivisionShape
    from onecity.sensing.events import AlertRaised

    township, district = "310104003000", "310104000000"
    with db.transaction() as s:
        things = {
            code: Thing(name=f"雨量站 {code}", division_code=code, last_seen_at=T0) for code in (township, district)
        }
        s.add_all(things.values())
        s.flush()
        ids = {code: t.id for code, t in things.items()}
    rule(db, name="设备离线", kind="silence", level="blue", params={"silent_minutes": 30})
    with clock.frozen(T0 + timedelta(minutes=45)), db.transaction() as s:
        assert len(rules.check_silence(s, principal=SYSTEM)) == 2
    with db.sessions() as s:
        for code, thing_id in ids.items():
            alert = s.scalars(select(Alert).where(Alert.thing_id == thing_id)).one()
            outline = shapely.from_geojson(s.get_one(DivisionShape, code).geometry)
            assert outline.contains(Point(alert.lon, alert.lat)), (code, alert.lon, alert.lat)
            assert alert.approximate_division == code and alert.division_code == code
            assert alert.township_code == (township if code == township else None)
            event = s.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.event_type == ALERT_RAISED.name,
                    OutboxMessage.payload["alert_id"].as_string() == alert.id,
                )
            ).one()
            raised = AlertRaised.model_validate(event.payload)
            assert (raised.lon, raised.lat, raised.approximate_division) == (alert.lon, alert.lat, code)
        rows = service.alert_rows(s, list(s.scalars(select(Alert).order_by(Alert.thing_id))), "zh")
        assert rows[0].place.endswith("（近似位置：设备未登记位置）") and "徐汇区" not in rows[0].place  # a township
        assert rows[1].place == "徐汇区（近似位置：设备未登记位置）"
