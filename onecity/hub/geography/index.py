"""Where is this point? Vectorised point → grid → community → township → district lookup,
and random points inside a division for the registries generator.

The grids partition the city and each grid's code starts with its community's, township's
and district's codes (GB/T 30428 nests in GB/T 2260), so finding the grid answers the whole
chain: one spatial query, then string slicing done once per grid in advance. The query is a
shapely 2 ``STRtree`` over the 40,625 grid outlines, asked about a whole array of points at
once (the loop runs in C); ``bench/geo_lookup.py`` measures it against a per-point shapely
loop.

A point on the edge between two grids is inside neither (``within`` is strict) and gets a
second ask with ``intersects``, which picks the grid with the lower code: every point of the
city gets exactly one grid, and a point outside the city gets none (-1 / ``""`` / ``None``).

Every user asks :func:`grid_index` (operations placing a case, sensing placing a thing, the
geography API's ``/geography/locate``), which answers from the database's ``grids`` table:
one index per database, built once per process and shared, so the three always agree.
Building it takes about a second for the 40,625 grids; the server does it before it reports
ready (:func:`warm`, the geography part's start-up step), so no request pays for it, and a
build under way is never started twice: whoever needs the index meanwhile waits for it.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from onecity.core.db import Database
from onecity.core.errors import NotFound
from onecity.hub.geography.models import Grid

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]

#: Grid rows read and parsed at a time while building (a shutdown is noticed between two).
CHUNK_ROWS = 2_000
#: Points asked of the tree at once (keeps the working set in cache; see :meth:`GeoIndex.lookup`).
CHUNK = 65_536
#: Cells per side of the raster that puts a batch of points in spatial order.
RASTER = 1024


@dataclass(frozen=True)
class Location:
    """The divisions one point lies in, most precise first."""

    grid: str
    community: str
    township: str
    district: str


@dataclass(frozen=True)
class Located:
    """The divisions of many points, as arrays aligned with the points (``""`` outside the city)."""

    grid: StrArray
    community: StrArray
    township: StrArray
    district: StrArray

    @property
    def found(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.grid != "")


class GeoIndex:
    """The city's grids, indexed for point lookup and for drawing random points inside a division."""

    def __init__(self, codes: list[str] | StrArray, shapes: npt.ArrayLike, areas_km2: npt.ArrayLike) -> None:
        codes_arr = np.asarray(codes, dtype="<U15")
        order = np.argsort(codes_arr, kind="stable")  # code order: a division's grids are one slice
        self.grid_codes: StrArray = codes_arr[order]
        self.shapes: npt.NDArray[np.object_] = np.asarray(shapes, dtype=object)[order]
        self.areas_km2: FloatArray = np.asarray(areas_km2, dtype=np.float64)[order]
        self.community_codes: StrArray = self.grid_codes.astype("<U12")
        self.township_codes: StrArray = np.char.add(self.grid_codes.astype("<U9"), "000")
        self.district_codes: StrArray = np.char.add(self.grid_codes.astype("<U6"), "000000")
        self._bounds: FloatArray = shapely.bounds(self.shapes)
        self.tree = shapely.STRtree(self.shapes)

    def __len__(self) -> int:
        return len(self.grid_codes)

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def from_session(cls, session: Session, stop: threading.Event | None = None) -> GeoIndex:
        """The index of the ``grids`` table, read in chunks; ``stop`` set between two chunks
        abandons the build (:class:`Interrupted`): a server shutting down does not wait for it."""
        codes: list[str] = []
        shapes: list[npt.NDArray[np.object_]] = []
        areas: list[float] = []
        rows = session.execute(
            select(Grid.code, Grid.geometry, Grid.area_km2).order_by(Grid.code).execution_options(yield_per=CHUNK_ROWS)
        )
        try:
            for chunk in rows.partitions():
                if stop is not None and stop.is_set():
                    raise Interrupted("the grid index was not built: the server is stopping")
                codes.extend(r[0] for r in chunk)
                shapes.append(np.asarray(shapely.from_geojson([r[1] for r in chunk])))
                areas.extend(r[2] for r in chunk)
        finally:
            rows.close()  # PostgreSQL streams through a server-side cursor: release it even when abandoned
        if not codes:
            raise NotFound("the database holds no grids: load the city's geography first")
        return cls(codes, np.concatenate(shapes), areas)

    # -- lookup --------------------------------------------------------------------------------

    def lookup(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> IntArray:
        """Index into :attr:`grid_codes` of the grid holding each point, -1 outside the city.

        Large batches are put in spatial order (rows of a 1024² raster over the city) and
        asked in chunks of :data:`CHUNK`: neighbouring points then walk the same branches of
        the tree and the same grid outlines while they are in the CPU's cache, which about
        doubles the rate on a million random points.
        """
        lon_a = np.asarray(lon, dtype=np.float64).ravel()
        lat_a = np.asarray(lat, dtype=np.float64).ravel()
        if len(lon_a) <= CHUNK:
            return self._lookup(lon_a, lat_a)
        order = self._spatial_order(lon_a, lat_a)
        result = np.empty(len(lon_a), dtype=np.int64)
        for start in range(0, len(order), CHUNK):
            part = order[start : start + CHUNK]
            result[part] = self._lookup(lon_a[part], lat_a[part])
        return result

    def _spatial_order(self, lon: FloatArray, lat: FloatArray) -> IntArray:
        minx, miny = self._bounds[:, 0].min(), self._bounds[:, 1].min()
        maxx, maxy = self._bounds[:, 2].max(), self._bounds[:, 3].max()
        kx = np.clip((lon - minx) / (maxx - minx) * RASTER, 0, RASTER - 1).astype(np.int64)
        ky = np.clip((lat - miny) / (maxy - miny) * RASTER, 0, RASTER - 1).astype(np.int64)
        return np.argsort(ky * RASTER + kx, kind="stable")

    def _lookup(self, lon: FloatArray, lat: FloatArray) -> IntArray:
        points = np.asarray(shapely.points(lon, lat))  # an array for arrays (the stubs say "or a Point")
        result = np.full(len(points), -1, dtype=np.int64)
        _first_hit(result, *self.tree.query(points, predicate="within"))
        missing = np.flatnonzero(result < 0)
        if len(missing):
            # on an edge between grids, or outside the city: ask again, inclusively
            pi, gi = self.tree.query(points[missing], predicate="intersects")
            sub = np.full(len(missing), -1, dtype=np.int64)
            _first_hit(sub, pi, gi)
            result[missing] = sub
        return result

    def locate(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> Located:
        """Grid, community, township and district codes of each point (``""`` outside the city)."""
        idx = self.lookup(lon, lat)
        inside = idx >= 0
        safe = np.where(inside, idx, 0)

        def pick(arr: StrArray) -> StrArray:
            return np.where(inside, arr[safe], "")

        return Located(
            grid=pick(self.grid_codes),
            community=pick(self.community_codes),
            township=pick(self.township_codes),
            district=pick(self.district_codes),
        )

    def locate_one(self, lon: float, lat: float) -> Location | None:
        """The divisions of one point, or None outside the city."""
        i = int(self.lookup([lon], [lat])[0])
        if i < 0:
            return None
        return Location(
            grid=str(self.grid_codes[i]),
            community=str(self.community_codes[i]),
            township=str(self.township_codes[i]),
            district=str(self.district_codes[i]),
        )

    # -- random points -------------------------------------------------------------------------

    def grids_in(self, code: str) -> IntArray:
        """Indices of the grids inside a division (any level: 12-digit code) or of one grid (15 digits)."""
        from onecity.core.divisions import scope_prefix

        prefix = code if len(code) == 15 else scope_prefix(code)
        lo = int(np.searchsorted(self.grid_codes, prefix, side="left"))
        hi = int(np.searchsorted(self.grid_codes, prefix + "\uffff", side="left"))
        if hi <= lo:
            raise NotFound(f"no grids lie in division {code}: is the code right and the geography loaded?")
        return np.arange(lo, hi, dtype=np.int64)

    def points_in_grids(self, grid_index: npt.ArrayLike, rng: np.random.Generator) -> FloatArray:
        """One uniformly random (lon, lat) inside each grid given by index; shape (n, 2).

        Rejection sampling on each grid's bounding box, all grids at once: about half the
        draws of a Voronoi cell land inside, so a few rounds finish any batch.
        """
        idx = np.asarray(grid_index, dtype=np.int64).ravel()
        out = np.empty((len(idx), 2))
        todo = np.arange(len(idx))
        while len(todo):
            b = self._bounds[idx[todo]]
            x = rng.uniform(b[:, 0], b[:, 2])
            y = rng.uniform(b[:, 1], b[:, 3])
            ok = shapely.contains_xy(self.shapes[idx[todo]], x, y)
            out[todo[ok], 0] = x[ok]
            out[todo[ok], 1] = y[ok]
            todo = todo[~ok]
        return out

    def random_points_in(self, code: str, n: int, rng: np.random.Generator) -> tuple[FloatArray, StrArray]:
        """``n`` random points spread evenly by area over division (or grid) ``code``.

        Returns ``(lonlat, grid_codes)``: an (n, 2) array of lon/lat and the grid code of each
        point, so a caller placing city components or people has both their coordinates and
        their grid without a second lookup. Reproducible for a given ``rng`` state.
        """
        idx = self.grids_in(code)
        weights = self.areas_km2[idx]
        chosen = np.sort(rng.choice(idx, size=n, p=weights / weights.sum()))
        return self.points_in_grids(chosen, rng), self.grid_codes[chosen]


def _first_hit(result: IntArray, point_idx: IntArray, grid_idx: IntArray) -> None:
    """Write into ``result`` the lowest grid index each point matched (float noise can give two)."""
    if len(point_idx) == 0:
        return
    order = np.lexsort((grid_idx, point_idx))
    pi, gi = point_idx[order], grid_idx[order]
    first = np.flatnonzero(np.r_[True, pi[1:] != pi[:-1]])
    result[pi[first]] = gi[first]


class Interrupted(Exception):
    """A build abandoned because the process is stopping."""


# -- the shared index ----------------------------------------------------------------------------

#: The index of each database (by its engine) in this process.
_BY_ENGINE: weakref.WeakKeyDictionary[Engine, GeoIndex] = weakref.WeakKeyDictionary()
#: Indices by what their grids are (count, first and last code, total area): databases holding
#: the same grids (copies of one city, a test's databases) share one index.
_BY_CONTENT: dict[tuple[int, str, str, float], GeoIndex] = {}
_KEEP_CONTENTS = 4
#: One build at a time: whoever needs an index while one is built waits for it, never builds twice.
_BUILDING = threading.Lock()


def _engine(source: Session | Database) -> Engine:
    if isinstance(source, Database):
        return source.engine
    return source.get_bind().engine


def grid_index(source: Session | Database, stop: threading.Event | None = None) -> GeoIndex:
    """The point index of ``source``'s database (a session sees its own transaction's grids).

    Built on first use in this process, then shared by everyone using the same database;
    raises :class:`NotFound` when the database holds no grids.
    """
    engine = _engine(source)
    found = _BY_ENGINE.get(engine)
    if found is not None:
        return found
    with _BUILDING:
        found = _BY_ENGINE.get(engine)
        if found is None:
            found = _build(source, stop)
            _BY_ENGINE[engine] = found
    return found


def _build(source: Session | Database, stop: threading.Event | None) -> GeoIndex:
    def build(session: Session) -> GeoIndex:
        count, first, last, area = session.execute(
            select(func.count(), func.min(Grid.code), func.max(Grid.code), func.sum(Grid.area_km2))
        ).one()
        if not count:
            raise NotFound("the database holds no grids: load the city's geography first")
        key = (int(count), str(first), str(last), round(float(area), 6))
        index = _BY_CONTENT.get(key)
        if index is None:
            index = GeoIndex.from_session(session, stop)
            while len(_BY_CONTENT) >= _KEEP_CONTENTS:
                _BY_CONTENT.pop(next(iter(_BY_CONTENT)))
            _BY_CONTENT[key] = index
        return index

    if isinstance(source, Database):
        with source.reading() as session:  # seconds of reading: never holding SQLite's writer meanwhile
            return build(session)
    return build(source)


def warm(db: Database, stop: threading.Event | None = None) -> GeoIndex | None:
    """Build ``db``'s index now, before anyone asks (the server's start-up step); ``None`` when
    the database holds no grids yet (it is built on first use once they are loaded)."""
    try:
        return grid_index(db, stop)
    except NotFound:
        log.info("no grids in the database yet: the point index is built once they are loaded")
        return None


def built(source: Session | Database) -> GeoIndex | None:
    """``source``'s index if this process has built it, without building it."""
    return _BY_ENGINE.get(_engine(source))


def forget(source: Session | Database) -> None:
    """Drop ``source``'s index after its grids changed (a geography loaded); the next use rebuilds it."""
    with _BUILDING:
        _BY_ENGINE.pop(_engine(source), None)
        _BY_CONTENT.clear()


def warm_for_message(db: Database, _envelope: object) -> None:
    """A consumer's ``prepare``: build the index before the message's transaction opens, so no
    write lock is held while it is built."""
    warm(db)
