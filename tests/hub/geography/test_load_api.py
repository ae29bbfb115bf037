"""Loading the geography, its figures on the command line, the divisions API and the browser page."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from onecity.core.db import Database
from onecity.core.divisions import Division
from onecity.core.identity.models import User
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.geography.models import DivisionShape, Grid
from onecity.synth.geography.generate import Geography
from onecity.synth.geography.load import load_geography
from tests.conftest import PASSWORD
from tests.web_support import sign_in

CITY, XUHUI, TIANPINGLU = "310000000000", "310104000000", "310104003000"
EXPECTED_STATS = {
    "districts": 16,
    "townships": {"subdistrict": 108, "town": 106, "township": 2},
    "communities": 4563,
    "villages": 1562,
    "grids": 40625,
    "outlines": 1 + 16 + 216 + 6125,
}


def test_load_is_complete_and_idempotent(db: Database, geography: Geography) -> None:
    with db.transaction() as session:
        again = load_geography(session, geography)
    assert again.as_dict() == {"reference_divisions": 0, "communities": 0, "shapes": 0, "grids": 0}
    with db.sessions() as session:
        levels = dict(session.execute(select(Division.level, func.count()).group_by(Division.level)).all())
        assert levels == {"municipality": 1, "district": 16, "township": 216, "community": 6125}
        unit = geography.communities[0]
        row = session.get(Division, unit.code)
        assert row is not None and (row.name, row.kind, row.parent_code) == (unit.name, unit.kind, unit.parent_code)
        shape = session.get(DivisionShape, XUHUI)
        assert shape is not None and 45 < shape.area_km2 < 65
        assert 121.40 < shape.centroid_lon < 121.47 and 31.13 < shape.centroid_lat < 31.23
        assert json.loads(shape.geometry)["type"] in ("Polygon", "MultiPolygon")
        grid_area = session.scalar(select(func.sum(Grid.area_km2)))
        city = session.get(DivisionShape, CITY)
        assert city is not None and grid_area is not None and abs(grid_area - city.area_km2) < 1e-6 * city.area_km2
        grid = session.get(Grid, geography.grids[-1].code)
        assert grid is not None and grid.township_code == grid.code[:9] + "000"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the loader itself is tested on both
def test_geo_commands_load_and_count(db: Database) -> None:
    env = {"ONECITY_DATABASE_URL": db.url, "ONECITY_ENV": "test", "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [sys.executable, "-m", "onecity", "synth", "geography", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"]["grids"] == 0  # already loaded: nothing to add
    r = subprocess.run(
        [sys.executable, "-m", "onecity", "geo", "stats", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert {k: stats[k] for k in EXPECTED_STATS} == EXPECTED_STATS
    r = subprocess.run(
        [sys.executable, "-m", "onecity", "geo", "locate", "121.4737", "31.2304"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0 and json.loads(r.stdout)["district"] == "310101000000"


def _staff(
    make_user: Callable[..., User], login: Callable[[str], dict[str, str]], role: Role, name: str = "geo.staff"
) -> dict[str, str]:
    make_user(name, role, division_code=XUHUI)
    return login(name)


def test_division_detail_for_any_staff_role(
    client: TestClient, make_user: Callable[..., User], login: Callable[[str], dict[str, str]]
) -> None:
    headers = _staff(make_user, login, Role.AUDITOR)  # any role will do: geography is reference data
    r = client.get(f"/api/v1/divisions/{CITY}", headers=headers)
    assert r.status_code == 200, r.text
    city = r.json()
    assert city["counts"] == {
        "subdistricts": 108,
        "towns": 106,
        "townships": 2,
        "communities": 4563,
        "villages": 1562,
        "grids": 40625,
    }
    assert len(city["children"]) == 16 and city["path"] == []
    assert sum(c["counts"]["grids"] for c in city["children"]) == 40625
    r = client.get(f"/api/v1/divisions/{TIANPINGLU}", headers=headers)
    township = r.json()
    assert [p["code"] for p in township["path"]] == [CITY, XUHUI]
    assert township["kind"] == "subdistrict" and township["counts"]["villages"] == 0
    assert len(township["children"]) == township["counts"]["communities"] > 0
    community = township["children"][0]["code"]
    r = client.get(f"/api/v1/divisions/{community}", headers=headers)
    grids = r.json()["children"]
    assert grids and all(g["level"] == "grid" and g["code"].startswith(community) for g in grids)
    assert r.json()["counts"]["grids"] == len(grids)

    r = client.get(f"/api/v1/divisions/{XUHUI}/geometry", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    feature = r.json()
    assert feature["type"] == "Feature" and feature["properties"]["name"] == "徐汇区"
    r = client.get(f"/api/v1/divisions/{grids[0]['code']}/geometry", headers=headers)
    assert r.status_code == 200 and r.json()["properties"]["community_code"] == community

    r = client.get("/api/v1/geography/locate", params={"lon": 121.4737, "lat": 31.2304}, headers=headers)
    assert r.status_code == 200 and r.json()["district"] == "310101000000"
    r = client.get("/api/v1/geography/locate", params={"lon": 122.6, "lat": 31.0}, headers=headers)
    assert r.status_code == 404


def test_divisions_api_refuses_and_explains(
    client: TestClient, make_user: Callable[..., User], login: Callable[[str], dict[str, str]]
) -> None:
    r = client.get(f"/api/v1/divisions/{CITY}")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    r = client.get(f"/geo/divisions/{CITY}.geojson")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    make_user("resident", division_code=None, kind=PrincipalKind.CITIZEN)
    r = client.get(f"/api/v1/divisions/{CITY}", headers=login("resident"))
    assert r.status_code == 403
    headers = _staff(make_user, login, Role.COUNTER_CLERK)
    r = client.get("/api/v1/divisions/310104999000", headers=headers)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert "310104999000" in r.json()["detail"]
    r = client.get("/api/v1/divisions/31010400", headers=headers)
    assert r.status_code == 422
    r = client.get("/geo/divisions/310104999000.geojson", headers=headers)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_map_data_is_small_and_carries_counts(
    client: TestClient, make_user: Callable[..., User], login: Callable[[str], dict[str, str]]
) -> None:
    headers = _staff(make_user, login, Role.INSPECTOR)
    r = client.get(f"/geo/divisions/{CITY}.geojson", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    districts = r.json()["features"]
    assert len(districts) == 16 and len(r.content) < 200_000
    xuhui = next(f for f in districts if f["id"] == XUHUI)["properties"]
    assert xuhui["name"] == "徐汇区" and xuhui["subdistricts"] == 12 and xuhui["towns"] == 1
    r = client.get("/geo/divisions/310115000000.geojson", headers=headers)  # Pudong: 36 townships
    assert len(r.json()["features"]) == 36 and len(r.content) < 300_000


def test_division_pages_for_staff(client: TestClient, make_user: Callable[..., User]) -> None:
    r = client.get("/divisions", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/divisions")
    make_user("geo.clerk", Role.COUNTER_CLERK, division_code=XUHUI)
    r = sign_in(client, "geo.clerk", PASSWORD, next_path="/divisions")
    assert r.status_code == 303, r.text
    r = client.get("/divisions")
    assert r.status_code == 200
    assert 'href="/divisions"' in r.text  # the navigation links here
    assert "徐汇区" in r.text and "4,563" in r.text and "40,625" in r.text
    assert f"/geo/divisions/{CITY}.geojson" in r.text
    r = client.get(f"/divisions/{TIANPINGLU}")
    assert r.status_code == 200 and "天平路街道" in r.text and "社区居委会" in r.text
    client.cookies.set("lang", "en")
    r = client.get(f"/divisions/{XUHUI}")
    assert r.status_code == 200 and "Tianpinglu Subdistrict" in r.text and "Grids" in r.text
    r = client.get("/divisions/310104999000")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
