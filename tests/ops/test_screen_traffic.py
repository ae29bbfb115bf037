"""Traffic on the operation centre's wall screen: the district's index and its congested roads, in words, live."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core import clock
from onecity.core.db import table_of
from onecity.traffic import service as traffic
from onecity.traffic.models import IndexValue, Segment, SegmentState
from onecity.traffic.network import Network
from tests.ops.conftest import HUANGPU, Ops
from tests.traffic.conftest import tiny, tiny_root  # noqa: F401  (the fixtures)
from tests.web_support import sign_in


def _live_screen(client: TestClient) -> dict[str, Any]:
    with client.stream("GET", f"/ops/centre/{HUANGPU}/live", params={"max_events": 1, "screen": "true"}) as s:
        body = "".join(s.iter_text())
    return dict(json.loads(body.split("data: ", 1)[1])["screen"])


def _congest(ops: Ops, key: str) -> tuple[str, str]:
    """One interval's states: a road in Huangpu severely and moderately congested, another lightly, the rest smooth."""
    at = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    with ops.db.transaction() as session:
        segs = list(
            session.scalars(
                select(Segment)
                .where(Segment.network == key, Segment.district_code == HUANGPU)
                .order_by(Segment.edge_id)
            )
        )
        by_road: dict[str, list[Segment]] = {}
        for s in segs:
            by_road.setdefault(s.road, []).append(s)
        worst, light = [r for r, ss in by_road.items() if len(ss) >= 2][:2]
        grades = {by_road[worst][0].edge_id: 5, by_road[worst][1].edge_id: 4, by_road[light][0].edge_id: 3}
        rows = [
            {"network": key, "edge_id": s.edge_id, "at": at, "speed_kmh": 40.0 / (g := grades.get(s.edge_id, 1)),
             "flow_vph": None, "occupancy": None, "index": 2.0 * g - 1, "grade": g, "loop_samples": 1,
             "probe_samples": 0}
            for s in segs
        ]  # fmt: skip
        session.execute(table_of(SegmentState).insert(), rows)
        session.execute(
            table_of(IndexValue).insert(),
            [
                {"network": key, "scope": "city", "key": "city", "at": at, "tpi": 3.1, "grade": 2, "km": 90.0},
                {"network": key, "scope": "district", "key": HUANGPU, "at": at, "tpi": 4.6, "grade": 3, "km": 40.0},
            ],
        )
        return by_road[worst][0].name, by_road[light][0].name


def test_the_wall_screen_says_the_districts_traffic_live(
    client: TestClient,
    staff_users: Callable[..., Ops],
    tiny: Network,  # noqa: F811
) -> None:
    ops = staff_users("hp.operator")
    sign_in(client, "hp.operator")
    page = client.get(f"/ops/centre/{HUANGPU}/screen")
    assert page.status_code == 200 and "暂无交通数据" in page.text  # no network loaded yet: said, not an error
    assert _live_screen(client)["traffic"] is None

    with ops.db.transaction() as session:
        key = traffic.install_network(session, tiny)
    worst, light = _congest(ops, key)
    with ops.db.sessions() as session:
        roads = traffic.congested_roads(session, ops.p("hp.operator"), within=HUANGPU[:6])
    assert [r.name for r in roads] == [worst, light]  # each road once, by its worst segment, worst first
    assert [r.grade for r in roads] == [5, 3]

    live = _live_screen(client)["traffic"]
    assert live["tpi"] == "4.6" and live["grade_name"] == "轻度拥堵"  # Huangpu's index, not the city's
    assert [(r["road"], r["grade_name"]) for r in live["congested"]] == [(worst, "严重拥堵"), (light, "轻度拥堵")]
    screen = client.get(f"/ops/centre/{HUANGPU}/screen").text
    assert 'id="screen-traffic"' in screen and worst in screen and "严重拥堵" in screen

    client.get("/lang/en")
    live = _live_screen(client)["traffic"]
    assert live["grade_name"] == "Light congestion" and live["congested"][0]["grade_name"] == "Severe congestion"
    assert all(r["road"].isascii() for r in live["congested"])  # the roads' English names
