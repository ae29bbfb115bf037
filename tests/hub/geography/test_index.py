"""Point lookup agrees with plain shapely; random points land where they were asked to."""

from __future__ import annotations

import numpy as np
import shapely

from onecity.core.db import Database
from onecity.hub.geography.index import GeoIndex
from onecity.synth.geography.generate import Geography


def test_lookup_agrees_with_shapely_point_by_point(geography: Geography, geo_index: GeoIndex) -> None:
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = geography.unit_lonlat[0].bounds
    lon = rng.uniform(minx, maxx, 400)
    lat = rng.uniform(miny, maxy, 400)
    got = geo_index.lookup(lon, lat)
    for x, y, i in zip(lon, lat, got, strict=True):
        inside = np.flatnonzero(shapely.contains_xy(geo_index.shapes, x, y))
        if len(inside) == 0:
            assert i == -1
        else:
            assert i == inside[0]
    assert 0.2 < (got >= 0).mean() < 0.9  # the bounding box holds sea and Jiangsu too


def test_the_chain_is_right_for_points_in_communities(geography: Geography, geo_index: GeoIndex) -> None:
    rng = np.random.default_rng(11)
    units = geography.communities[::97]
    shapes = geography.unit_lonlat[1 + len(geography.districts) + len(geography.townships) :][::97]
    for unit, shape in zip(units, shapes, strict=True):
        pts = shapely.get_coordinates(shapely.points(_inside(shape, 3, rng)))
        found = geo_index.locate(pts[:, 0], pts[:, 1])
        assert set(found.community) == {unit.code}
        assert set(found.township) == {unit.parent_code}
        assert set(found.district) == {unit.code[:6] + "000000"}
        assert all(g.startswith(unit.code) and len(g) == 15 for g in found.grid)


def _inside(shape: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = shapely.bounds(shape)
    out: list[tuple[float, float]] = []
    while len(out) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(shape, x, y):
            out.append((x, y))
    return np.asarray(out)


def test_points_outside_the_city_find_nothing(geo_index: GeoIndex) -> None:
    assert geo_index.locate_one(122.6, 31.0) is None  # the East China Sea
    assert geo_index.locate_one(120.6, 31.3) is None  # Suzhou
    located = geo_index.locate([0.0, 121.4737], [0.0, 31.2304])
    assert list(located.found) == [False, True]
    assert located.grid[0] == "" and located.district[1] == "310101000000"  # People's Square is in Huangpu


def test_a_point_on_a_shared_vertex_gets_exactly_one_grid(geo_index: GeoIndex) -> None:
    first = geo_index.shapes[0]
    x, y = shapely.get_coordinates(first)[1]  # a vertex of grid 0, shared with neighbours
    i = int(geo_index.lookup([x], [y])[0])
    assert i >= 0
    assert shapely.intersects_xy(geo_index.shapes[i], x, y)


def test_random_points_in_a_division_are_inside_it_and_reproducible(geo_index: GeoIndex, geography: Geography) -> None:
    xuhui = "310104000000"
    pts, grids = geo_index.random_points_in(xuhui, 2000, np.random.default_rng(3))
    assert pts.shape == (2000, 2)
    assert all(g.startswith("310104") for g in grids)
    assert list(geo_index.locate(pts[:, 0], pts[:, 1]).grid) == list(grids)
    again, _ = geo_index.random_points_in(xuhui, 2000, np.random.default_rng(3))
    assert np.array_equal(pts, again)
    # spread by area: each township's share of points is close to its share of the district's area
    townships = [t for t in geography.townships if t.parent_code == xuhui]
    total = sum(t.shape.area for t in townships)
    for t in townships:
        share = sum(1 for g in grids if g.startswith(t.code[:9])) / 2000
        assert abs(share - t.shape.area / total) < 0.05, t.name
    one_grid, codes = geo_index.random_points_in(str(grids[0]), 10, np.random.default_rng(1))
    assert set(codes) == {grids[0]}


def test_index_from_the_database_equals_the_generated_one(db: Database, geo_index: GeoIndex) -> None:
    with db.sessions() as session:
        loaded = GeoIndex.from_session(session)
    assert list(loaded.grid_codes) == list(geo_index.grid_codes)
    rng = np.random.default_rng(5)
    pts, _ = geo_index.random_points_in("310000000000", 5000, rng)
    assert np.array_equal(loaded.lookup(pts[:, 0], pts[:, 1]), geo_index.lookup(pts[:, 0], pts[:, 1]))
    assert np.allclose(loaded.areas_km2, geo_index.areas_km2, rtol=1e-12)
