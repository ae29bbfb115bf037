"""The base map: Mapbox vector tiles (MVT 2.1) of the city's own geography, built by the platform.

No tile server, no CDN, no downloaded extract: every tile is cut from the geography the hub
holds in its database (``division_shapes`` and ``grids``, whatever loaded them: ``onecity synth
geography`` for the generated city, a real city's own outlines otherwise) the first time a
browser asks for it, and kept in memory after that (``onecity geo tiles`` writes all of them
into an MBTiles file, and the server serves from that file when ``ONECITY_BASEMAP_MBTILES``
names one). With no outlines loaded, the districts come from the public outlines shipped in
``onecity/data``. The layers, each from the zoom where it becomes legible:

========== ======= ===========================================================
layer      minzoom what
========== ======= ===========================================================
district   0       the 16 districts (real outlines)
water      0       the Huangpu and Suzhou Creek, where districts meet along them
township   9       the 216 subdistricts, towns and townships
community  12      residents' and village committees
grid       14      unit grids (GB/T 30428)
road       10      roads of the traffic network, when a part provides them
label      0       a point per division with ``name`` and ``name_en``, by ``level``
========== ======= ===========================================================

The rivers: the public outlines shipped in ``onecity/data`` draw the districts' borders
down the middle of the Huangpu (Pudong against Huangpu, Hongkou, Yangpu, Xuhui and Minhang)
and of Suzhou Creek (Jing'an, Putuo, Changning), so the water layer is those shared borders:
derived from the data, not drawn by hand. Roads come from the parts whose manifest names a
``roads`` module (:attr:`onecity.core.parts.Part.roads`: traffic, with its network's centre
lines); the geography reads the manifests and imports no such part. Each road carries the
zoom it shows from (:data:`ROAD_MINZOOM`: expressways from 10, local streets from 13), so
that a city-wide tile does not carry every lane.

Geometry goes to Web Mercator, is clipped to the tile plus a margin (so outlines do not show
seams), simplified to a quarter of a tile unit, snapped to the tile's integer grid (GEOS keeps
it valid) and encoded with ``mapbox-vector-tile``.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import mapbox_vector_tile  # type: ignore[import-untyped]  # no stubs; one call, typed below
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onecity.core import parts
from onecity.core.db import Database
from onecity.core.divisions import Division, DivisionLevel
from onecity.core.tasks import TaskContext
from onecity.hub.geography.models import DivisionShape, Grid

EXTENT = 4096
MAX_ZOOM = 14
#: Margin around a tile, in tile units, so that strokes and labels near an edge are not cut.
BUFFER = 64
R = 6378137.0
HALF = math.pi * R
#: Tiles kept in memory by one process (about 20 KB each on average: a few tens of MB).
CACHE_TILES = 4096

#: Pairs of districts whose shared border runs down a river, and the river's names.
RIVERS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "huangpu",
        "黄浦江",
        "Huangpu River",
        (
            ("310115", "310101"),
            ("310115", "310104"),
            ("310115", "310109"),
            ("310115", "310110"),
            ("310115", "310112"),
            ("310112", "310120"),
            ("310112", "310117"),
        ),
    ),
    (
        "suzhou",
        "苏州河",
        "Suzhou Creek",
        (("310106", "310107"), ("310105", "310107"), ("310101", "310109"), ("310106", "310109")),
    ),
)
#: Minimum zoom of each layer.
MINZOOM = {"district": 0, "water": 0, "township": 9, "community": 12, "grid": 14, "road": 10, "label": 0}
#: Road classes (GB/T 33171) and the zoom from which each shows.
ROAD_MINZOOM = {"expressway": 10, "arterial": 11, "secondary": 12, "local": 13}
#: Label levels and the zoom from which each shows.
LABEL_MINZOOM = {"district": 0, "township": 10, "community": 14}


def mercator(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.clip(np.asarray(lat, dtype=np.float64), -85.05112878, 85.05112878)
    return lon_a * (HALF / 180.0), R * np.log(np.tan(np.pi / 4 + np.radians(lat_a) / 2))


def _to_mercator(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    def f(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = mercator(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, f), dtype=object)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's (minx, miny, maxx, maxy) in Web Mercator metres (XYZ scheme, y down from the north)."""
    size = 2 * HALF / (1 << z)
    return (-HALF + x * size, HALF - (y + 1) * size, -HALF + (x + 1) * size, HALF - y * size)


def lonlat_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a point."""
    mx, my = mercator(lon, lat)
    size = 2 * HALF / (1 << z)
    return int((float(mx) + HALF) // size), int((HALF - float(my)) // size)


@dataclass
class Layer:
    name: str
    minzoom: int
    shapes: npt.NDArray[np.object_]  # Web Mercator
    props: list[dict[str, Any]]
    tree: shapely.STRtree

    @classmethod
    def of(
        cls, name: str, shapes: Sequence[BaseGeometry] | npt.NDArray[np.object_], props: list[dict[str, Any]]
    ) -> Layer:
        merc = _to_mercator(np.asarray(shapes, dtype=object)) if len(props) else np.asarray([], dtype=object)
        return cls(name, MINZOOM[name], merc, props, shapely.STRtree(merc))


#: Road centre lines: lon/lat ``LineString`` s with ``name``, ``name_en`` and ``kind`` (a :data:`ROAD_MINZOOM` class).
Roads = list[tuple[BaseGeometry, dict[str, Any]]]


def roads(session: Session) -> Roads:
    """Every installed part's roads (:func:`onecity.core.parts.roads`), each with the zoom it shows from."""
    out: Roads = []
    for module in parts.roads():
        for line, props in module.lines(session):
            out.append((line, {**props, "minzoom": ROAD_MINZOOM.get(props.get("kind", ""), MINZOOM["road"])}))
    return out


def roads_version(session: Session) -> tuple[object, ...]:
    """What changes when any part's roads change (a map built before a network loaded is rebuilt)."""
    return tuple(module.version(session) for module in parts.roads())


@dataclass(frozen=True)
class Area:
    """A division with an outline (lon/lat)."""

    code: str
    name: str
    name_en: str
    level: str
    kind: str
    shape: BaseGeometry


def rivers(districts: Sequence[Area]) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    """The rivers as lines: the borders of the district pairs in :data:`RIVERS`, merged."""
    outlines = {a.code[:6]: a.shape for a in districts if a.level == "district"}
    out: list[tuple[BaseGeometry, dict[str, Any]]] = []
    for key, name, name_en, pairs in RIVERS:
        pieces: list[BaseGeometry] = []
        for a, b in pairs:
            if a in outlines and b in outlines:
                shared = shapely.intersection(shapely.boundary(outlines[a]), shapely.boundary(outlines[b]))
                pieces.extend(g for g in shapely.get_parts(shared) if g.geom_type == "LineString" and g.length > 0)
        if pieces:
            merged = shapely.line_merge(shapely.union_all(pieces))
            out.append((merged, {"key": key, "name": name, "name_en": name_en}))
    return out


def shipped_districts() -> list[Area]:
    """The 16 districts' public outlines from ``onecity/data`` (the base map before any geography is loaded)."""
    text = resources.files("onecity.data").joinpath("shanghai-districts.geojson").read_text(encoding="utf-8")
    out = []
    for f in json.loads(text)["features"]:
        code = f["properties"]["gb"][3:] + "000000"
        out.append(Area(code, f["properties"]["name"], "", "district", "", shapely.geometry.shape(f["geometry"])))
    return out


class BaseMap:
    """The layers of one geography, and the tiles cut from them (kept, most recently used first)."""

    def __init__(
        self,
        areas: Sequence[Area],
        grids: Sequence[tuple[str, BaseGeometry]] = (),
        roads: Sequence[tuple[BaseGeometry, dict[str, Any]]] = (),
    ) -> None:
        def level(name: str) -> tuple[list[BaseGeometry], list[dict[str, Any]]]:
            picked = [a for a in areas if a.level == name]
            props = [{"code": a.code, "name": a.name, "name_en": a.name_en or a.name, "kind": a.kind} for a in picked]
            return [a.shape for a in picked], props

        self.layers: list[Layer] = []
        for lvl in ("district", "township", "community"):
            self.layers.append(Layer.of(lvl, *level(lvl)))
        self.layers.append(Layer.of("grid", [g for _, g in grids], [{"code": c} for c, _ in grids]))
        water = rivers(areas)
        self.layers.append(Layer.of("water", [w for w, _ in water], [p for _, p in water]))
        self.layers.append(Layer.of("road", [r for r, _ in roads], [p for _, p in roads]))
        labelled = [a for a in areas if a.level in LABEL_MINZOOM]
        anchors = shapely.point_on_surface(np.asarray([a.shape for a in labelled], dtype=object))
        self.layers.append(
            Layer.of(
                "label",
                anchors,
                [
                    {
                        "code": a.code,
                        "name": a.name,
                        "name_en": a.name_en or a.name,
                        "level": a.level,
                        "minzoom": LABEL_MINZOOM[a.level],
                    }
                    for a in labelled
                ],
            )
        )
        shapes = np.asarray([a.shape for a in areas], dtype=object)
        self.bounds = tuple(float(v) for v in shapely.total_bounds(shapes)) if len(shapes) else (0.0, 0.0, 0.0, 0.0)
        self._cache: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def tile(self, z: int, x: int, y: int) -> bytes:
        """The encoded tile (empty bytes where the city has nothing: an empty tile is valid MVT)."""
        if not (0 <= z <= MAX_ZOOM and 0 <= x < (1 << z) and 0 <= y < (1 << z)):
            raise ValueError(f"no tile {z}/{x}/{y}: zoom 0–{MAX_ZOOM}, x and y below 2^zoom")
        key = (z, x, y)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        data = self._build(z, x, y)
        with self._lock:
            self._cache[key] = data
            while len(self._cache) > CACHE_TILES:
                self._cache.popitem(last=False)
        return data

    def _build(self, z: int, x: int, y: int) -> bytes:
        minx, miny, maxx, maxy = tile_bounds(z, x, y)
        unit = (maxx - minx) / EXTENT
        pad = BUFFER * unit
        clip = (minx - pad, miny - pad, maxx + pad, maxy + pad)
        box = shapely.box(*clip)
        out = []
        for layer in self.layers:
            if z < layer.minzoom or not len(layer.props):
                continue
            idx = layer.tree.query(box, predicate="intersects")
            if layer.name in ("label", "road"):
                idx = np.asarray([i for i in idx if layer.props[i]["minzoom"] <= z], dtype=np.int64)
            if not len(idx):
                continue
            idx = np.sort(idx)
            geoms = layer.shapes[idx]
            if layer.name != "label":
                geoms = shapely.clip_by_rect(shapely.simplify(geoms, unit / 4, preserve_topology=True), *clip)
            # to tile units (y up: the encoder flips it), snapped to the integer grid so they stay valid
            geoms = shapely.set_precision(
                shapely.transform(geoms, lambda xy: (xy - (minx, miny)) / unit), 1.0, mode="valid_output"
            )
            features = [
                {"geometry": g, "properties": layer.props[i], "id": int(i) + 1}
                for g, i in zip(geoms, idx, strict=True)
                if g is not None and not g.is_empty
            ]
            if features:
                out.append({"name": layer.name, "features": features})
        if not out:
            return b""
        data: bytes = mapbox_vector_tile.encode(
            out,
            default_options={
                "extents": EXTENT,
                "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
            },
        )
        return data

    def tiles_covering(self, max_zoom: int = MAX_ZOOM) -> list[tuple[int, int, int]]:
        """Every tile over the city's bounding box up to ``max_zoom`` (what an MBTiles export holds)."""
        lon0, lat0, lon1, lat1 = self.bounds
        out: list[tuple[int, int, int]] = []
        for z in range(max_zoom + 1):
            x0, y0 = lonlat_tile(lon0, lat1, z)
            x1, y1 = lonlat_tile(lon1, lat0, z)
            out.extend((z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
        return out

    @classmethod
    def from_session(cls, session: Session) -> BaseMap:
        """The base map of what the database holds (districts from the shipped outlines if it holds none)."""
        rows = session.execute(
            select(
                Division.code, Division.name, Division.name_en, Division.level, Division.kind, DivisionShape.geometry
            )
            .join(DivisionShape, DivisionShape.code == Division.code)
            .where(Division.level.in_((DivisionLevel.DISTRICT, DivisionLevel.TOWNSHIP, DivisionLevel.COMMUNITY)))
            .order_by(Division.code)
        ).all()
        shapes: list[BaseGeometry] = list(shapely.from_geojson([r.geometry for r in rows])) if rows else []
        areas = [
            Area(r.code, r.name, r.name_en, str(r.level), r.kind or "", g) for r, g in zip(rows, shapes, strict=True)
        ]
        if not any(a.level == "district" for a in areas):
            names = {
                d.code: d for d in session.scalars(select(Division).where(Division.level == DivisionLevel.DISTRICT))
            }
            for d in shipped_districts():
                ref = names.get(d.code)
                areas.append(
                    Area(d.code, ref.name if ref else d.name, ref.name_en if ref else "", "district", "", d.shape)
                )
        grid_rows = session.execute(select(Grid.code, Grid.geometry).order_by(Grid.code)).all()
        grids = (
            list(zip([r.code for r in grid_rows], shapely.from_geojson([r.geometry for r in grid_rows]), strict=True))
            if grid_rows
            else []
        )
        return cls(areas, grids, roads(session))


#: How often a process checks whether the geography in its database changed (then it rebuilds the map).
RECHECK_SECONDS = 60.0
_built: dict[str, tuple[BaseMap, tuple[object, ...], float]] = {}
_build_lock = threading.Lock()


def _stamp(session: Session) -> tuple[object, ...]:
    return (
        int(session.scalar(select(func.count()).select_from(DivisionShape)) or 0),
        int(session.scalar(select(func.count()).select_from(Grid)) or 0),
        roads_version(session),
    )


def basemap(db: Database, session: Session | None = None) -> BaseMap:
    """The base map of ``db``'s geography, built once per process and rebuilt when the geography changes
    (checked at most every :data:`RECHECK_SECONDS`). A request passes its own session, so that waiting for
    the first build holds no second connection."""
    got = _built.get(db.url)
    if got is not None and time.monotonic() - got[2] < RECHECK_SECONDS:
        return got[0]
    with _build_lock:
        got = _built.get(db.url)
        if got is not None and time.monotonic() - got[2] < RECHECK_SECONDS:
            return got[0]
        if session is None:
            with db.reading() as own:  # seconds of reading: never holding SQLite's writer meanwhile
                return _build(db, own, got)
        return _build(db, session, got)


def _build(db: Database, session: Session, got: tuple[BaseMap, tuple[object, ...], float] | None) -> BaseMap:
    stamp = _stamp(session)
    built = got[0] if got is not None and got[1] == stamp else BaseMap.from_session(session)
    _built[db.url] = (built, stamp, time.monotonic())
    return built


def refresh(ctx: TaskContext) -> None:
    """The periodic task: build the map when the server starts, and again when the geography changed."""
    basemap(ctx.db)


def division_bounds(session: Session, code: str) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of a division's outline in lon/lat, for a map to fit; None if not loaded."""
    text = session.scalar(select(DivisionShape.geometry).where(DivisionShape.code == code))
    if text is None:
        return None
    b = shapely.bounds(shapely.from_geojson(text))
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


# -- MBTiles ---------------------------------------------------------------------------------


def write_mbtiles(
    path: Path, bm: BaseMap, *, max_zoom: int = MAX_ZOOM, progress: Callable[[int, int], None] | None = None
) -> int:
    """Write every tile over the city into an MBTiles 1.3 file (TMS rows); returns the number written."""
    todo = bm.tiles_covering(max_zoom)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    written = 0
    try:
        con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        con.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB,"
            " PRIMARY KEY (zoom_level, tile_column, tile_row))"
        )
        lon0, lat0, lon1, lat1 = bm.bounds
        meta = {
            "name": "onecity",
            "format": "pbf",
            "minzoom": "0",
            "maxzoom": str(max_zoom),
            "bounds": f"{lon0:.5f},{lat0:.5f},{lon1:.5f},{lat1:.5f}",
            "center": f"{(lon0 + lon1) / 2:.5f},{(lat0 + lat1) / 2:.5f},9",
        }
        con.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
        for n, (z, x, y) in enumerate(todo, 1):
            data = bm._build(z, x, y)
            if data:
                con.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, data))
                written += 1
            if progress is not None:
                progress(n, len(todo))
        con.commit()
    finally:
        con.close()
    tmp.replace(path)
    return written


class MBTiles:
    """Tiles read from an MBTiles file written by :func:`write_mbtiles` (read-only, one connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def tile(self, z: int, x: int, y: int) -> bytes:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.con = con
        row = con.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, x, (1 << z) - 1 - y),
        ).fetchone()
        return bytes(row[0]) if row else b""
