"""One grid index per database, from its ``grids`` table: operations, sensing and the geography
API give the same answer for a point, the server builds it before it says it is ready, and a
build stops when the server does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from onecity.api.app import create_app
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.identity.roles import Role
from onecity.hub.geography import index
from onecity.ops import service as ops
from onecity.sensing.models import Thing
from onecity.sensing.sta.service import place_thing

CITY = "310000000000"


def test_operations_sensing_and_the_api_locate_a_point_alike(
    client: TestClient, db: Database, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> None:
    make_user("reader", Role.OPERATOR)
    headers = login("reader")
    shared = index.built(db)
    assert shared is not None  # the app built it at start-up, from this database's grids
    points, grids = shared.random_points_in(CITY, 20, np.random.default_rng(7))
    with db.sessions() as session:
        assert index.grid_index(session) is shared  # everyone in the process uses the one index
        for (lon, lat), grid in zip(points.tolist(), grids.tolist(), strict=True):
            by_ops = ops.locate(session, lon, lat)
            thing = Thing(name="probe", description="", lon=lon, lat=lat)
            place_thing(session, thing)
            r = client.get("/api/v1/geography/locate", params={"lon": lon, "lat": lat}, headers=headers)
            assert r.status_code == 200, r.text
            assert by_ops.grid == thing.grid_code == r.json()["grid"] == grid
            assert by_ops.township == thing.township_code == r.json()["township"]


def test_the_server_builds_the_index_before_it_is_ready(db: Database, settings: Settings) -> None:
    index.forget(db)  # as in a fresh process
    app = create_app(settings, db=db)
    assert index.built(db) is None
    with TestClient(app):
        # start-up is over: the index is there before the first request
        assert index.built(db) is not None
        started = time.perf_counter()
        with db.sessions() as session:
            ops.locate(session, 121.4737, 31.2304)
        assert time.perf_counter() - started < 0.5  # a lookup, not a build (about a second)


def test_a_build_stops_when_the_server_does(db: Database) -> None:
    stop = threading.Event()
    stop.set()
    index.forget(db)
    with db.sessions() as session, pytest.raises(index.Interrupted):
        index.GeoIndex.from_session(session, stop)
    assert index.built(db) is None
