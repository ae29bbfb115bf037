"""Open311 with an address and no coordinates, and reading requests a page at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from onecity.core.db import Database
from onecity.hub.geography.models import Place
from onecity.ops.models import Case
from tests.geocode_support import build_area
from tests.ops.conftest import TIANPING_POINT, Ops
from tests.ops.test_open311 import BASE, post


@pytest.fixture
def gazetteer(db: Database) -> Iterator[Place]:
    """The gazetteer of Xuhui and Huangpu (whose grids the operations tests' databases hold,
    :mod:`tests.grids`); a lane of Xuhui to report at. Only the gazetteer is removed after: the
    grids stay for the package's other tests."""
    try:
        build_area(db)
        with db.sessions() as session:
            lane = session.scalars(
                select(Place).where(Place.kind == "lane", Place.district_code == "310104000000").order_by(Place.id)
            ).first()
            assert lane is not None
            session.expunge(lane)
        yield lane
    finally:
        with db.transaction() as session:
            session.execute(delete(Place))


def _township(db: Database, lane: Place) -> str:
    with db.sessions() as session:
        return session.scalars(select(Place.name).where(Place.key == f"division/{lane.township_code}")).one()


def test_address_string_alone_is_geocoded(
    client: TestClient, ops: Ops, open311_key: str, db: Database, gazetteer: Place
) -> None:
    lane = gazetteer
    assert lane.street is not None
    typo = lane.street[:-2] + "东" + lane.street[-1]  # one wrong character in the road's name
    address = f"徐汇区{_township(db, lane)}{typo}{lane.number}弄12号"
    r = post(client, open311_key, lat=None, long=None, address_string=address)
    assert r.status_code == 201, r.text
    case_id = r.json()[0]["service_request_id"]
    with db.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.grid_code == lane.grid_code and case.address == address
    got = client.get(f"{BASE}/requests/{case_id}.json").json()[0]
    assert got["address"] == address and abs(got["lat"] - lane.lat) < 1e-6


def test_an_address_it_cannot_place_is_refused_in_the_readers_language(
    client: TestClient, ops: Ops, open311_key: str, db: Database, gazetteer: Place
) -> None:
    r = post(client, open311_key, lat=None, long=None, address_string="火星基地1号")
    assert r.status_code == 400 and "火星基地1号" in r.json()[0]["description"]
    assert "lat 和 long" in r.json()[0]["description"]
    road_only = f"徐汇区{gazetteer.street}"  # a whole road: not a place to send an inspector to
    r = client.post(
        f"{BASE}/requests.json",
        data={"api_key": open311_key, "service_code": "E0101", "description": "垃圾", "address_string": road_only},
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 400 and "could not be placed" in r.json()[0]["description"]
    assert "Near matches" in r.json()[0]["description"]
    r = post(client, open311_key, lat=None, long=None, address_string="")
    assert r.status_code == 400 and "address_string" in r.json()[0]["description"]
    with db.sessions() as session:
        assert session.query(Case).count() == 0


def test_requests_come_a_page_at_a_time(client: TestClient, ops: Ops, open311_key: str) -> None:
    ids = []
    for i in range(7):
        lon = TIANPING_POINT[0] - i * 0.0008  # 76 m apart: seven cases, none joining another
        r = post(client, open311_key, long=f"{lon:.6f}", description=f"第{i}处垃圾")
        assert r.status_code == 201, r.text
        ids.append(r.json()[0]["service_request_id"])
    first = client.get(f"{BASE}/requests.json", params={"page_size": 3})
    assert first.status_code == 200 and len(first.json()) == 3
    assert 'rel="next"' in first.headers["link"] and "page=2" in first.headers["link"]
    second = client.get(f"{BASE}/requests.json", params={"page_size": 3, "page": 2})
    third = client.get(f"{BASE}/requests.json", params={"page_size": 3, "page": 3})
    assert len(second.json()) == 3 and len(third.json()) == 1 and "link" not in third.headers
    seen = [r["service_request_id"] for p in (first, second, third) for r in p.json()]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 7  # newest first, none twice, none left out
    assert len(client.get(f"{BASE}/requests.json").json()) == 7  # the default page holds 50
    for bad in ({"page": "0"}, {"page_size": "1001"}, {"page_size": "ten"}):
        r = client.get(f"{BASE}/requests.json", params=bad)
        assert r.status_code == 400 and "whole number" in r.json()[0]["description"]
