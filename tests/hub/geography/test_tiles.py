"""The base map's vector tiles: cut from the city's own geography, valid MVT, the right layers at each zoom."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile  # type: ignore[import-untyped]  # no stubs; its decoded tiles are read as plain dicts
import pytest
import shapely

from onecity.core import parts
from onecity.core.db import Database
from onecity.core.parts import Part
from onecity.hub.geography import tiles

PEOPLES_SQUARE = (121.4737, 31.2304)


@pytest.fixture(scope="module")
def geo_db(geo_sqlite_template: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{geo_sqlite_template}")
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def bm(geo_db: Database) -> tiles.BaseMap:
    return tiles.basemap(geo_db)


def _layers(bm: tiles.BaseMap, z: int, point: tuple[float, float] = PEOPLES_SQUARE) -> dict[str, list[dict[str, Any]]]:
    x, y = tiles.lonlat_tile(*point, z)
    return {k: v["features"] for k, v in mapbox_vector_tile.decode(bm.tile(z, x, y)).items()}


def test_layers_appear_at_their_zooms(bm: tiles.BaseMap) -> None:
    z8 = _layers(bm, 8)
    assert {"district", "water", "label"} <= z8.keys() and "township" not in z8 and "grid" not in z8
    assert {f["properties"]["name"] for f in z8["water"]} == {"黄浦江", "苏州河"}
    z10 = _layers(bm, 10)
    assert "township" in z10 and "community" not in z10
    names = {f["properties"]["name_en"] for f in z10["label"]}
    assert "Huangpu" in " ".join(names)  # labels carry both languages
    z14 = _layers(bm, 14)
    assert {"grid", "community", "township", "district"} <= z14.keys()
    assert all(len(f["properties"]["code"]) == 15 for f in z14["grid"])


def test_tile_geometry_is_in_tile_units_and_valid(bm: tiles.BaseMap) -> None:
    z14 = _layers(bm, 14)
    for f in z14["grid"]:
        shape = shapely.geometry.shape(f["geometry"])
        assert shape.is_valid
        minx, miny, maxx, maxy = shape.bounds
        assert minx >= -tiles.BUFFER and maxx <= tiles.EXTENT + tiles.BUFFER
        assert miny >= -tiles.BUFFER and maxy <= tiles.EXTENT + tiles.BUFFER


def test_tiles_outside_the_city_are_empty_and_bad_addresses_refused(bm: tiles.BaseMap) -> None:
    assert bm.tile(10, 0, 0) == b""
    with pytest.raises(ValueError):
        bm.tile(15, 0, 0)
    with pytest.raises(ValueError):
        bm.tile(3, 8, 0)


def test_division_bounds(geo_db: Database) -> None:
    with geo_db.sessions() as session:
        west, south, east, north = tiles.division_bounds(session, "310104000000") or (0, 0, 0, 0)
        assert west < 121.44 < east and south < 31.19 < north
        assert tiles.division_bounds(session, "319999000000") is None


def test_before_any_geography_the_shipped_districts_are_drawn(sqlite_template: Path) -> None:
    database = Database(f"sqlite:///{sqlite_template}")
    try:
        with database.sessions() as session:
            plain = tiles.BaseMap.from_session(session)
    finally:
        database.dispose()
    x, y = tiles.lonlat_tile(*PEOPLES_SQUARE, 9)
    layers = mapbox_vector_tile.decode(plain.tile(9, x, y))
    assert "district" in layers and "township" not in layers and "water" in layers
    assert "黄浦区" in {f["properties"]["name"] for f in layers["label"]["features"]}


def test_mbtiles_export_serves_the_same_tiles(bm: tiles.BaseMap, tmp_path: Path) -> None:
    path = tmp_path / "city.mbtiles"
    written = tiles.write_mbtiles(path, bm, max_zoom=6)
    assert written >= 7  # one tile per zoom at least
    x, y = tiles.lonlat_tile(*PEOPLES_SQUARE, 6)
    assert tiles.MBTiles(path).tile(6, x, y) == bm.tile(6, x, y)
    assert tiles.MBTiles(path).tile(6, 0, 0) == b""


class _Roads:
    """A part's ``roads`` module: one arterial and one local street."""

    @staticmethod
    def version(session: object) -> str:
        return "v1"

    @staticmethod
    def lines(session: object) -> list[tuple[shapely.LineString, dict[str, str]]]:
        return [
            (
                shapely.LineString([(121.46, 31.23), (121.49, 31.23)]),
                {"name": "延安东路", "name_en": "Yan'an Road (E)", "kind": "arterial"},
            ),
            (
                shapely.LineString([(121.47, 31.225), (121.47, 31.235)]),
                {"name": "小路", "name_en": "Lane", "kind": "local"},
            ),
        ]


def test_a_parts_road_network_is_drawn_each_class_from_its_zoom(
    geo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = Part(name="roads-example", package="tests.hub.geography", roads="tests.hub.geography.roads_example")
    monkeypatch.setitem(sys.modules, "tests.hub.geography.roads_example", _Roads)
    with parts.using([example]), geo_db.sessions() as session:
        with_roads = tiles.BaseMap.from_session(session)
        assert tiles.roads_version(session) == ("v1",)
    assert [f["properties"]["name"] for f in _layers(with_roads, 12)["road"]] == ["延安东路"]
    assert sorted(f["properties"]["name"] for f in _layers(with_roads, 13)["road"]) == ["小路", "延安东路"]
    assert "road" not in _layers(with_roads, 10)
