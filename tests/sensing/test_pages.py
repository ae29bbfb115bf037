"""The sensing overview speaks words: the live alert list names the township and the observed
property in the reader's language, never the grid code or the property's key."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from onecity.core.db import Database
from onecity.core.divisions import Division
from onecity.core.identity.roles import Role
from onecity.sensing import service
from onecity.sensing.ingest import NewObservation, store_observations
from onecity.sensing.models import Thing
from tests.conftest import SYSTEM
from tests.sensing.conftest import judged
from tests.sensing.test_rules import T0
from tests.web_support import sign_in

CITY = "310000000000"


def _section(text: str, element_id: str) -> str:
    found = re.search(rf'<(tbody|table)\b[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', text, re.S)
    assert found, element_id
    return found.group(2)


def test_the_live_alert_list_names_the_township_and_the_property(
    client: TestClient, db: Database, make_user: Callable[..., Any], make_station: Callable[..., tuple[int, int]]
) -> None:
    thing_id, ds = make_station("外滩水位站", "water_level")
    with db.transaction() as s:
        service.create_rule(
            s,
            SYSTEM,
            name="河道高水位",
            kind="threshold",
            level="orange",
            observed_property="water_level",
            params={"above": 4.5, "clear_below": 4.3},
        )
        store_observations(s, [NewObservation(ds, T0, 4.86)], principal=SYSTEM, origin="test")
    judged(db)
    with db.sessions() as s:
        thing = s.get(Thing, thing_id)
        assert thing is not None and thing.grid_code and thing.township_code
        grid, township = thing.grid_code, s.get(Division, thing.township_code)
        assert township is not None
    make_user("ops.duty", Role.OPERATOR, division_code=CITY)
    sign_in(client, "ops.duty")

    page = client.get("/sensing")
    assert page.status_code == 200
    rows = _section(page.text, "alert-rows")
    assert "水位 4.86" in rows and township.name in rows and "橙色" in rows
    assert "water_level" not in rows and grid not in rows and township.code not in rows
    devices = _section(page.text, "device-table")
    assert "<td>水位</td>" in devices and "water_level" not in devices

    live = client.get("/sensing/alerts.json")  # what the script refreshes the list with
    assert live.status_code == 200
    [alert] = live.json()["alerts"]
    assert alert["place"] == township.name and alert["level_name"] == "橙色"
    assert alert["message"].startswith("水位 4.86") and "water_level" not in alert["message"]

    client.get("/lang/en", params={"next": "/sensing"})
    rows = _section(client.get("/sensing").text, "alert-rows")
    assert "Water level 4.86" in rows and township.name_en in rows and "water_level" not in rows
    [alert] = client.get("/sensing/alerts.json").json()["alerts"]
    assert alert["place"] == township.name_en and alert["message"].startswith("Water level 4.86")


def test_a_combination_alert_names_its_township_and_both_properties(
    client: TestClient, db: Database, make_user: Callable[..., Any], make_station: Callable[..., tuple[int, int]]
) -> None:
    thing_id, rain = make_station("外滩雨量站", "rainfall", "mm")
    _, river = make_station("外滩水位站", "water_level")
    with db.transaction() as s:
        service.create_rule(
            s,
            SYSTEM,
            name="暴雨叠加高水位",
            kind="combination",
            level="red",
            params={
                "window_minutes": 60,
                "conditions": [
                    {"observed_property": "rainfall", "above": 30},
                    {"observed_property": "water_level", "above": 4.5},
                ],
            },
        )
        store_observations(
            s, [NewObservation(rain, T0, 42.0), NewObservation(river, T0, 4.9)], principal=SYSTEM, origin="test"
        )
    judged(db)
    with db.sessions() as s:
        thing = s.get(Thing, thing_id)
        assert thing is not None and thing.township_code
        township = s.get(Division, thing.township_code)
        assert township is not None
    make_user("ops.duty", Role.OPERATOR, division_code=CITY)
    sign_in(client, "ops.duty")
    [alert] = client.get("/sensing/alerts.json").json()["alerts"]
    assert alert["message"].startswith(f"雨量 + 水位 @ {township.name}"), alert["message"]
    assert alert["place"] == township.name
    assert township.code not in alert["message"] and "rainfall" not in alert["message"]
