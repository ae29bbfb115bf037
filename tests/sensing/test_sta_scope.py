"""SensorThings writes stay in the owner's district and agency; reads stay open to every caller.

A Pudong key or operator used to PATCH and DELETE Xuhui's Things, Datastreams and
Observations and post readings to them (issue 12, hole 4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from onecity.core.db import Database
from onecity.core.identity import service
from onecity.core.identity.roles import Role
from tests.conftest import SYSTEM, XUHUI
from tests.sensing.conftest import station

STA = "/sta/v1.1"
PUDONG = "310115000000"
XUJIAHUI = (121.437, 31.195)  # a point in Xuhui (township 310104010000)
LUJIAZUI = (121.544, 31.221)  # a point in Pudong


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def people(
    db: Database, make_user: Callable[..., Any], make_agency: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> dict[str, dict[str, str]]:
    """Request headers of each caller: keys and operators of Xuhui and Pudong, and the city's."""
    make_user("xh.op", Role.OPERATOR, division_code=XUHUI)  # agency gov-310104
    make_user("pd.op", Role.OPERATOR, division_code=PUDONG)  # agency gov-310115
    make_user("city.op", Role.OPERATOR, division_code="310000000000")
    make_agency("xh-water", XUHUI)
    make_user("xh.admin", Role.ADMIN, division_code=XUHUI, agency_code="xh-water")

    def key(name: str, agency: str, division: str) -> dict[str, str]:
        with db.transaction() as session:
            _, secret = service.create_api_key(
                session, SYSTEM, name=name, scopes=["sensing"], agency_code=agency, division_code=division
            )
        return bearer(secret)

    return {
        "xh.key": key("xuhui gauges", "gov-310104", XUHUI),
        "xh.water.key": key("xuhui water authority", "xh-water", XUHUI),
        "pd.key": key("pudong gauges", "gov-310115", PUDONG),
        "xh.op": login("xh.op"),
        "pd.op": login("pd.op"),
        "city.op": login("city.op"),
        "xh.admin": login("xh.admin"),
    }


def _xuhui_station(client: Any, h: dict[str, str]) -> tuple[int, int, int, int]:
    """(thing, datastream, observation, sensor) of a station in Xuhui, made by a Xuhui key."""
    r = client.post(f"{STA}/Things", headers=h, json=station("徐家汇", "rainfall", "mm", *XUJIAHUI))
    assert r.status_code == 201, r.text
    thing = r.json()
    assert thing["properties"]["onecity:owner"] == "310104010000"
    ds = client.get(f"{STA}/Things({thing['@iot.id']})/Datastreams?$expand=Sensor", headers=h).json()["value"][0]
    r = client.post(
        f"{STA}/Datastreams({ds['@iot.id']})/Observations",
        headers=h,
        json={"phenomenonTime": "2026-06-01T10:00:00Z", "result": 1.5},
    )
    assert r.status_code == 201, r.text
    return thing["@iot.id"], ds["@iot.id"], r.json()["@iot.id"], ds["Sensor"]["@iot.id"]


def test_another_district_cannot_change_a_districts_devices(client: Any, people: dict[str, dict[str, str]]) -> None:
    thing, ds, obs, sensor = _xuhui_station(client, people["xh.key"])
    reading = {"phenomenonTime": "2026-06-01T11:00:00Z", "result": 2.0}
    for who in ("pd.key", "pd.op"):
        h = people[who]
        attempts = [
            client.patch(f"{STA}/Things({thing})", headers=h, json={"name": "mine now"}),
            client.patch(f"{STA}/Datastreams({ds})", headers=h, json={"name": "mine now"}),
            client.patch(f"{STA}/Observations({obs})", headers=h, json={"result": 99}),
            client.patch(f"{STA}/Sensors({sensor})", headers=h, json={"name": "mine now"}),
            client.post(f"{STA}/Datastreams({ds})/Observations", headers=h, json=reading),
            client.post(f"{STA}/Observations", headers=h, json={**reading, "Datastream": {"@iot.id": ds}}),
            client.post(
                f"{STA}/CreateObservations",
                headers=h,
                json=[
                    {
                        "Datastream": {"@iot.id": ds},
                        "components": ["phenomenonTime", "result"],
                        "dataArray": [["2026-06-01T12:00:00Z", 3]],
                    }
                ],
            ),
            client.post(
                f"{STA}/Things({thing})/Datastreams",
                headers=h,
                json={**station("x", "water_level", "m")["Datastreams"][0]},
            ),
            # nor put up a device standing in Xuhui
            client.post(f"{STA}/Things", headers=h, json=station("越界", "rainfall", "mm", *XUJIAHUI)),
            client.delete(f"{STA}/Observations({obs})", headers=h),
            client.delete(f"{STA}/Datastreams({ds})", headers=h),
            client.delete(f"{STA}/Sensors({sensor})", headers=h),
            client.delete(f"{STA}/Things({thing})", headers=h),
        ]
        for r in attempts:
            assert r.status_code == 403, (who, r.request.method, str(r.request.url), r.text[:300])
            assert r.headers["content-type"] == "application/problem+json"
        assert "outside your area" in attempts[0].json()["detail"]
    # nothing changed, and everyone still reads it
    for who in people:
        t = client.get(f"{STA}/Things({thing})?$expand=Datastreams/Observations", headers=people[who])
        assert t.status_code == 200, (who, t.text)
        assert t.json()["name"] == "徐家汇"
        assert [o["result"] for o in t.json()["Datastreams"][0]["Observations"]] == [1.5]
    # a Pudong key looks after Pudong's devices
    r = client.post(f"{STA}/Things", headers=people["pd.key"], json=station("陆家嘴", "rainfall", "mm", *LUJIAZUI))
    assert r.status_code == 201 and r.json()["properties"]["onecity:owner"].startswith("310115")
    pudong_thing = r.json()["@iot.id"]
    # and cannot move it into Xuhui
    r = client.patch(
        f"{STA}/Things({pudong_thing})",
        headers=people["pd.key"],
        json={"Locations": [{"name": "x", "location": {"type": "Point", "coordinates": list(XUJIAHUI)}}]},
    )
    assert r.status_code == 403, r.text
    assert (
        client.get(f"{STA}/Things({pudong_thing})", headers=people["pd.key"])
        .json()["properties"]["onecity:owner"]
        .startswith("310115")
    )


def test_the_district_its_agency_and_the_city_may(client: Any, people: dict[str, dict[str, str]]) -> None:
    thing, ds, obs, sensor = _xuhui_station(client, people["xh.key"])
    # another agency of the same district may not; the district's administrator may
    r = client.patch(f"{STA}/Things({thing})", headers=people["xh.water.key"], json={"name": "x"})
    assert r.status_code == 403 and "another agency" in r.json()["detail"]
    assert (
        client.patch(f"{STA}/Things({thing})", headers=people["xh.admin"], json={"name": "徐家汇 1"}).status_code == 200
    )
    for who, n in (("xh.key", 2), ("xh.op", 3), ("city.op", 4)):
        h = people[who]
        r = client.patch(f"{STA}/Observations({obs})", headers=h, json={"result": n})
        assert r.status_code == 200, (who, r.text)
        r = client.post(
            f"{STA}/Datastreams({ds})/Observations",
            headers=h,
            json={"phenomenonTime": f"2026-06-01T1{n}:00:00Z", "result": n},
        )
        assert r.status_code == 201, (who, r.text)
        assert client.patch(f"{STA}/Datastreams({ds})", headers=h, json={"name": f"rain {n}"}).status_code == 200
    assert client.delete(f"{STA}/Observations({obs})", headers=people["xh.op"]).status_code == 200
    assert client.delete(f"{STA}/Datastreams({ds})", headers=people["xh.key"]).status_code == 200
    assert client.delete(f"{STA}/Things({thing})", headers=people["city.op"]).status_code == 200
    assert client.get(f"{STA}/Things({thing})", headers=people["xh.key"]).status_code == 404


def test_existing_things_get_their_township_as_owner_when_migrated(db: Database) -> None:
    """Things made before owners existed: placed ones belong to their township, unplaced ones to the city."""
    from alembic import command
    from sqlalchemy import text

    from onecity.core import migrate

    cfg = migrate._config(db)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013_registry_relations")
        conn.commit()
        conn.execute(
            text(
                "INSERT INTO sta_things (name, description, township_code, grid_code, available, created_at) "
                "VALUES ('placed', '', '310104010000', '310104010011003', true, CURRENT_TIMESTAMP), "
                "('nowhere', '', NULL, NULL, true, CURRENT_TIMESTAMP)"
            )
        )
        conn.commit()
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        rows: dict[str, str | None] = dict(conn.execute(text("SELECT name, division_code FROM sta_things")).all())
    assert rows == {"placed": "310104010000", "nowhere": None}
