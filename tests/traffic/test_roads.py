"""The traffic network on the hub's base map: read through traffic's manifest, each road once, by class and zoom."""

from __future__ import annotations

import mapbox_vector_tile  # type: ignore[import-untyped]  # no stubs; its decoded tiles are read as plain dicts
import shapely

from onecity.core.db import Database
from onecity.hub.geography import tiles
from onecity.traffic import roads
from onecity.traffic.network import Network
from onecity.traffic.service import install_network


def test_the_loaded_network_draws_on_the_base_map_each_road_once(db: Database, tiny: Network) -> None:
    with db.sessions() as session:
        assert roads.lines(session) == [] and roads.version(session) is None
        before = tiles.roads_version(session)
    with db.transaction() as session:
        key = install_network(session, tiny)
    with db.sessions() as session:
        lines = roads.lines(session)
        assert tiles.roads_version(session) != before  # a map built before the network is rebuilt
        bm = tiles.BaseMap.from_session(session)
    assert roads.version.__module__ == "onecity.traffic.roads" and key
    two_way = sum(1 for s in tiny.segments.values() if s.reverse is not None)
    assert len(tiny.segments) // 2 <= len(lines) <= len(tiny.segments) - two_way // 2  # a divided road drawn once
    assert {p["kind"] for _, p in lines} <= set(tiles.ROAD_MINZOOM)
    assert all(p["name"] and p["name_en"] for _, p in lines)
    centre = shapely.union_all([g for g, _ in lines]).centroid
    x, y = tiles.lonlat_tile(centre.x, centre.y, 14)
    drawn = mapbox_vector_tile.decode(bm.tile(14, x, y))["road"]["features"]
    assert {f["properties"]["name"] for f in drawn} <= {p["name"] for _, p in lines}
    x, y = tiles.lonlat_tile(centre.x, centre.y, 11)
    low = mapbox_vector_tile.decode(bm.tile(11, x, y)).get("road", {"features": []})["features"]
    assert all(f["properties"]["kind"] in ("expressway", "arterial") for f in low)
