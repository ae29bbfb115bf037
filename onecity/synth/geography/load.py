"""Write the generated geography into the database: community/village rows, outlines, grids.

:func:`load_geography` is what ``onecity seed`` and ``onecity synth geography`` call. It is
idempotent table by table (it inserts only the rows whose codes are missing), so it is safe
to run again after an interruption or on a database where only some of it is present. Rows
go in with one multi-row ``INSERT`` per few thousand rows, which is what makes 47,000 rows
take a couple of seconds rather than a minute through the ORM's unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from onecity.core.divisions import Division, DivisionLevel, load_reference_divisions, scope_prefix
from onecity.hub.geography import index
from onecity.hub.geography.models import DivisionShape, Grid
from onecity.synth.geography import projection
from onecity.synth.geography.generate import (
    COMMUNITIES_TOTAL,
    GRIDS_TOTAL,
    VILLAGES_TOTAL,
    Geography,
    generate_geography,
)

CHUNK = 5000
#: Reference divisions with an outline besides the municipality's.
DISTRICTS, TOWNSHIPS = 16, 216


@dataclass(frozen=True)
class LoadResult:
    """How many rows of each kind were added (0 everywhere when everything was already there)."""

    reference_divisions: int
    communities: int
    shapes: int
    grids: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _figures(plane: Any, lonlat: Any) -> tuple[list[str], list[float], np.ndarray]:
    """GeoJSON text, area (km², measured in the equal-area plane) and lon/lat centroid of each outline."""
    text = [str(t) for t in shapely.to_geojson(lonlat)]
    areas = [float(a) for a in shapely.area(plane)]
    centroids = projection.inverse_coords(shapely.get_coordinates(shapely.centroid(plane)))
    return text, areas, centroids


@lru_cache(maxsize=1)
def _rows(geo: Geography) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(community/village division rows, shape rows, grid rows), built once per process."""
    divisions = [
        {
            "code": u.code,
            "name": u.name,
            "name_en": u.name_en,
            "level": DivisionLevel.COMMUNITY.value,
            "kind": u.kind,
            "parent_code": u.parent_code,
        }
        for u in geo.communities
    ]
    units = geo.divisions
    text, areas, cent = _figures(np.asarray([u.shape for u in units], dtype=object), geo.unit_lonlat)
    shapes = [
        {
            "code": u.code,
            "geometry": text[i],
            "area_km2": areas[i],
            "centroid_lon": float(cent[i, 0]),
            "centroid_lat": float(cent[i, 1]),
        }
        for i, u in enumerate(units)
    ]
    gtext, gareas, gcent = _figures(np.asarray([g.shape for g in geo.grids], dtype=object), geo.grid_lonlat)
    grids = [
        {
            "code": g.code,
            "community_code": g.community_code,
            "township_code": g.township_code,
            "district_code": g.district_code,
            "geometry": gtext[i],
            "area_km2": gareas[i],
            "centroid_lon": float(gcent[i, 0]),
            "centroid_lat": float(gcent[i, 1]),
        }
        for i, g in enumerate(geo.grids)
    ]
    return divisions, shapes, grids


def _chunks(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while batch := list(islice(it, CHUNK)):
        yield batch


def _insert_missing(session: Session, table: Any, rows: list[dict[str, Any]]) -> int:
    present = set(session.scalars(select(table.c.code)))
    missing = [r for r in rows if r["code"] not in present]
    for batch in _chunks(missing):
        session.execute(insert(table), batch)
    return len(missing)


def _complete(session: Session) -> bool:
    """Whether every generated row is present, judged by counts (a cheap check, not a diff)."""
    units = COMMUNITIES_TOTAL + VILLAGES_TOTAL
    communities = session.scalar(
        select(func.count()).select_from(Division).where(Division.level == DivisionLevel.COMMUNITY)
    )
    shapes = session.scalar(select(func.count()).select_from(DivisionShape))
    grids = session.scalar(select(func.count()).select_from(Grid))
    return (communities, shapes, grids) == (units, 1 + DISTRICTS + TOWNSHIPS + units, GRIDS_TOTAL)


def load_geography(session: Session, geography: Geography | None = None, *, within: str | None = None) -> LoadResult:
    """Make the database hold the whole geography (or the part ``within`` one district or
    township: a test's small city); returns what had to be added.

    Runs in the caller's transaction and does not commit. The reference divisions (city,
    districts, townships) are loaded first if missing, since everything hangs off them.
    The process's point index of this database is dropped when grids were added
    (:func:`onecity.hub.geography.index.forget`): the next use rebuilds it.
    """
    added_ref = load_reference_divisions(session)
    if geography is None and within is None and _complete(session):
        # already there (``onecity seed`` run again, a restart): skip the seconds of generation
        return LoadResult(reference_divisions=added_ref, communities=0, shapes=0, grids=0)
    geo = geography or generate_geography()
    divisions, shapes, grids = _rows(geo)
    if within is not None:
        prefix = scope_prefix(within)
        divisions, shapes, grids = (
            [r for r in rows if r["code"].startswith(prefix)] for rows in (divisions, shapes, grids)
        )
    added_div = _insert_missing(session, Division.__table__, divisions)
    added_shapes = _insert_missing(session, DivisionShape.__table__, shapes)
    added_grids = _insert_missing(session, Grid.__table__, grids)
    session.flush()
    if added_grids:
        index.forget(session)
    return LoadResult(reference_divisions=added_ref, communities=added_div, shapes=added_shapes, grids=added_grids)


def index_of(geo: Geography | None = None) -> index.GeoIndex:
    """The point index of the generated geography itself, no database needed (benchmarks, tests
    of the index); a deployment's is :func:`onecity.hub.geography.index.grid_index`."""
    _divisions, _shapes, grids = _rows(geo or generate_geography())
    geometry = [r["geometry"] for r in grids]
    return index.GeoIndex([r["code"] for r in grids], shapely.from_geojson(geometry), [r["area_km2"] for r in grids])
