"""The geography as the registries see it: communities and villages to live in, grids to place things in.

Read from the tables (``divisions``, ``grids``) rather than from the geography generator, so
that a city loaded from real outlines seeds the same way as the generated one. Arrays are in
code order, which is what makes the seed reproducible whatever order the rows were written in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from onecity.core.divisions import Division, DivisionLevel
from onecity.core.errors import InvalidInput
from onecity.hub.geography.models import Grid
from onecity.synth.registries.census import DISTRICTS

#: Districts in a fixed order; arrays below index into it.
DISTRICT_CODES: tuple[str, ...] = tuple(sorted(DISTRICTS))


@dataclass(frozen=True)
class CityGeography:
    """Communities/villages and grids as column arrays, in code order."""

    district_names: tuple[str, ...]  # by DISTRICT_CODES index
    #: community (居委会) and village (村委会) rows
    unit_codes: npt.NDArray[np.str_]
    unit_names: npt.NDArray[np.str_]
    unit_is_village: npt.NDArray[np.bool_]
    unit_district: npt.NDArray[np.int64]  # index into DISTRICT_CODES
    unit_township_names: npt.NDArray[np.str_]
    grid_codes: npt.NDArray[np.str_]
    grid_unit: npt.NDArray[np.int64]  # index into unit_codes
    grid_area_km2: npt.NDArray[np.float64]
    grid_shapes: npt.NDArray[np.object_]  # prepared shapely polygons

    @property
    def grid_district(self) -> npt.NDArray[np.int64]:
        return self.unit_district[self.grid_unit]


def read_geography(session: Session) -> CityGeography:
    """Load the city's communities, villages and grids; refuse a city without them."""
    township = aliased(Division)
    district = aliased(Division)
    rows = session.execute(
        select(Division.code, Division.name, Division.kind, township.name, district.code)
        .join(township, township.code == Division.parent_code)
        .join(district, district.code == township.parent_code)
        .where(Division.level == DivisionLevel.COMMUNITY)
        .order_by(Division.code)
    ).all()
    if not rows:
        raise InvalidInput(
            "the city has no communities or villages yet: run `onecity synth geography` first "
            "(`onecity seed` does so itself on an empty city)"
        )
    district_index = {c + "000000": i for i, c in enumerate(DISTRICT_CODES)}
    names = dict(
        session.execute(select(Division.code, Division.name).where(Division.level == DivisionLevel.DISTRICT)).all()
    )
    unit_codes = np.array([r[0] for r in rows])
    unit_pos = {c: i for i, c in enumerate(unit_codes.tolist())}
    grids = session.execute(
        select(Grid.code, Grid.community_code, Grid.area_km2, Grid.geometry).order_by(Grid.code)
    ).all()
    if not grids:
        raise InvalidInput("the city has no unit grids yet: run `onecity synth geography` first")
    shapes = shapely.from_geojson([g[3] for g in grids])
    shapely.prepare(shapes)
    return CityGeography(
        district_names=tuple(names.get(c + "000000", c) for c in DISTRICT_CODES),
        unit_codes=unit_codes,
        unit_names=np.array([r[1] for r in rows]),
        unit_is_village=np.array([r[2] == "village" for r in rows]),
        unit_district=np.array([district_index[r[4]] for r in rows], dtype=np.int64),
        unit_township_names=np.array([r[3] for r in rows]),
        grid_codes=np.array([g[0] for g in grids]),
        grid_unit=np.array([unit_pos[g[1]] for g in grids], dtype=np.int64),
        grid_area_km2=np.array([g[2] for g in grids], dtype=np.float64),
        grid_shapes=shapes,
    )


def points_in_grids(
    geo: CityGeography, grid_index: npt.NDArray[np.int64], rng: np.random.Generator
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """One uniformly random point inside each given grid (rejection sampling in the bounding box).

    Vectorised over all points of a chunk at once, whatever grids they fall in; each round
    redraws only the points that fell outside their polygon. (The geography part's
    ``GeoIndex.random_points_in`` draws n points inside one division per call; placing 12
    million components grid by grid would be 40,625 calls per chunk.)
    """
    shapes = geo.grid_shapes[grid_index]
    bounds = shapely.bounds(shapes)
    lon = np.empty(len(grid_index))
    lat = np.empty(len(grid_index))
    todo = np.arange(len(grid_index))
    for _ in range(200):
        if len(todo) == 0:
            break
        b = bounds[todo]
        x = b[:, 0] + rng.random(len(todo)) * (b[:, 2] - b[:, 0])
        y = b[:, 1] + rng.random(len(todo)) * (b[:, 3] - b[:, 1])
        inside = shapely.contains_xy(shapes[todo], x, y)
        lon[todo[inside]] = x[inside]
        lat[todo[inside]] = y[inside]
        todo = todo[~inside]
    if len(todo):  # slivers: fall back to a point guaranteed on the surface
        pts = shapely.point_on_surface(shapes[todo])
        lon[todo], lat[todo] = shapely.get_x(pts), shapely.get_y(pts)
    return lon, lat
