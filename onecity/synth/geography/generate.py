"""Generate Shanghai's geography below the real divisions: township outlines, communities, villages, grids.

What is real and what is made up:

* **Real:** the 16 districts' outlines (``onecity/data/shanghai-districts.geojson``) and the
  216 township-level divisions' names, kinds and codes (``shanghai-township-divisions.csv``);
  the city-wide totals of 4,563 residents' committees (社区居委会), 1,562 village committees
  (村委会) and 40,625 unit grids.
* **Generated, plausibly:** where each township lies inside its district, where the
  communities and villages lie inside their township and what they are called, and the
  grids. Nothing in the public record gives these outlines, so the generator draws them.

How: every level is a Voronoi diagram of seed points clipped to its parent's outline, so the
children partition the parent exactly (they are cut from it; shared edges have the same
vertices on both sides). Seeds are drawn from a population-density surface (People's Square
plus each suburban district seat) so that central townships, communities and grids are
small and suburban ones large; half a Lloyd step then evens out the thinnest cells. A cell
that the clipping splits into pieces keeps the piece with its seed, and each stray piece
joins the neighbour it shares most boundary with, so divisions are connected unless they
hold an island. Which township takes which cell follows urbanity: the densest cells of a
district become its subdistricts (街道), the rest its towns (镇) and, last, its townships (乡).

Determinism: every random draw comes from a NumPy generator seeded with the division code it
is drawing for, nothing iterates over a set or dict whose order could vary, and the GEOS
operations are deterministic, so two runs give the same bytes (a test compares the SHA-256
of a run in another process). The scale factor of ``onecity seed`` never enters: the
geography is the same at every scale.

The district outlines are cleaned first so that they are sure to partition the city: GEOS's
coverage cleaner (``shapely.coverage_clean``) snaps nearly-matching edges together, gives
each overlap to the neighbour it shares most border with and fills each gap narrower than
:data:`SLIVER_GAP_KM` the same way. The file shipped today needs none of it: GEOS's coverage
validator finds no overlap, no unmatched edge and no gap narrower than 1 km between its
outlines (what looks like slivers when the union is closed morphologically are notches of
the coast where two districts meet the sea, which stay sea). The step is there for the next
outline file, and a test holds the result to the validator.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from onecity.core.divisions import MUNICIPALITY_CODE, MUNICIPALITY_NAME, MUNICIPALITY_NAME_EN, DivisionLevel
from onecity.synth.geography import names, projection

# -- published totals the generator must meet -----------------------------------------------

COMMUNITIES_TOTAL = 4563
VILLAGES_TOTAL = 1562
GRIDS_TOTAL = 40625
#: GB/T 10114 practice for the last three digits of a 12-digit code: residents' committees
#: 001–199, village committees 200–399.
COMMUNITY_SERIALS = range(1, 200)
VILLAGE_SERIALS = range(200, 400)
MAX_GRIDS_PER_UNIT = 999

COMMUNITY = "community"
VILLAGE = "village"
#: Township kinds that have villages (towns 镇 and townships 乡, not subdistricts 街道).
RURAL_KINDS = ("town", "township")

# -- the density surface ---------------------------------------------------------------------

#: People's Square, the city's centre.
CITY_CENTRE = (121.4737, 31.2304)
#: Approximate seats of the district governments, used only to make the land near them denser.
DISTRICT_SEATS: dict[str, tuple[float, float]] = {
    "310101": (121.4846, 31.2316),
    "310104": (121.4365, 31.1885),
    "310105": (121.4244, 31.2204),
    "310106": (121.4480, 31.2290),
    "310107": (121.3955, 31.2497),
    "310109": (121.5055, 31.2646),
    "310110": (121.5260, 31.2595),
    "310112": (121.3816, 31.1128),
    "310113": (121.4890, 31.4050),
    "310114": (121.2654, 31.3752),
    "310115": (121.5447, 31.2218),
    "310116": (121.3418, 30.7420),
    "310117": (121.2278, 31.0322),
    "310118": (121.1242, 31.1497),
    "310120": (121.4740, 30.9179),
    "310151": (121.3972, 31.6229),
}
#: The seven central districts (中心城区), where communities are dense and grids small.
CENTRAL_DISTRICTS = ("310101", "310104", "310105", "310106", "310107", "310109", "310110")
#: Grids per km² wanted before scaling to :data:`GRIDS_TOTAL`: inspectors walk a grid in a
#: round, so grids are small where streets are busy and large in the fields.
GRID_DENSITY = {"central": 40.0, "subdistrict": 16.0, "town": 9.0, VILLAGE: 2.2}

DISTRICTS_RESOURCE = "shanghai-districts.geojson"
TOWNSHIPS_RESOURCE = "shanghai-township-divisions.csv"
#: ISO 3166 numeric code for China, which the GeoJSON puts before each district code.
COUNTRY_PREFIX = "156"
#: Gaps between district outlines narrower than this (km) are slivers, not land left out.
SLIVER_GAP_KM = 0.1

Points = npt.NDArray[np.float64]


def _xy(lon: float, lat: float) -> tuple[float, float]:
    x, y = projection.forward_coords(np.array([[lon, lat]]))[0]
    return float(x), float(y)


_CENTRE_XY = _xy(*CITY_CENTRE)
_SEATS_XY = np.array([_xy(*DISTRICT_SEATS[c]) for c in sorted(DISTRICT_SEATS) if c not in CENTRAL_DISTRICTS])


def density(xy: Points) -> npt.NDArray[np.float64]:
    """Relative population density at plane points (km): a city core, its ring, and the suburban seats."""
    rc2 = (xy[:, 0] - _CENTRE_XY[0]) ** 2 + (xy[:, 1] - _CENTRE_XY[1]) ** 2
    d = 0.15 + 3.0 * np.exp(-rc2 / 8.0**2) + 1.0 * np.exp(-rc2 / 22.0**2)
    for sx, sy in _SEATS_XY:
        d += 1.2 * np.exp(-((xy[:, 0] - sx) ** 2 + (xy[:, 1] - sy) ** 2) / 4.5**2)
    return np.asarray(d, dtype=np.float64)


# -- the result ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """A division with an outline: the municipality, a district, township, community or village."""

    code: str
    name: str
    name_en: str
    level: DivisionLevel
    kind: str
    parent_code: str | None
    #: Outline in the km plane (:mod:`projection`); :attr:`Geography.lonlat` has it in degrees.
    shape: BaseGeometry
    #: The Voronoi seed the outline grew from: where its people cluster.
    seed: tuple[float, float] = field(compare=False)


@dataclass(frozen=True)
class GridCell:
    """A unit grid (GB/T 30428): its community or village code plus a 3-digit serial."""

    code: str
    community_code: str
    shape: BaseGeometry

    @property
    def township_code(self) -> str:
        return self.code[:9] + "000"

    @property
    def district_code(self) -> str:
        return self.code[:6] + "000000"


@dataclass(frozen=True, eq=False)
class Geography:
    """The generated city; every outline in the km plane, converted to lon/lat on demand.

    Compared and hashed by identity (outlines are too big to hash): use :meth:`digest` to
    compare two generations."""

    municipality: Unit
    districts: tuple[Unit, ...]
    townships: tuple[Unit, ...]
    communities: tuple[Unit, ...]
    grids: tuple[GridCell, ...]

    @property
    def divisions(self) -> tuple[Unit, ...]:
        """Every unit with an outline, parents before children."""
        return (self.municipality, *self.districts, *self.townships, *self.communities)

    @cached_property
    def unit_lonlat(self) -> npt.NDArray[np.object_]:
        """Outlines of :attr:`divisions` in lon/lat (RFC 7946 ring orientation), same order."""
        return _lonlat([u.shape for u in self.divisions])

    @cached_property
    def grid_lonlat(self) -> npt.NDArray[np.object_]:
        """Outlines of :attr:`grids` in lon/lat, same order."""
        return _lonlat([g.shape for g in self.grids])

    def digest(self) -> str:
        """SHA-256 over every code, name and outline: equal digests mean identical geographies."""
        h = hashlib.sha256()
        for u, geom in zip(self.divisions, self.unit_lonlat, strict=True):
            h.update(f"{u.code}|{u.name}|{u.name_en}|{u.level}|{u.kind}|{u.parent_code}|".encode())
            h.update(shapely.to_wkb(geom))
        for g, geom in zip(self.grids, self.grid_lonlat, strict=True):
            h.update(f"{g.code}|{g.community_code}|".encode())
            h.update(shapely.to_wkb(geom))
        return h.hexdigest()


def _lonlat(shapes: Sequence[BaseGeometry]) -> npt.NDArray[np.object_]:
    return np.asarray(shapely.orient_polygons(projection.to_lonlat(np.asarray(shapes, dtype=object))))


# -- geometry helpers -------------------------------------------------------------------------


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygon parts of an overlay result (clipping can add stray lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    polys: list[shapely.Polygon] = []
    stack = list(shapely.get_parts(geom))
    while stack:
        part = stack.pop(0)
        if isinstance(part, shapely.Polygon) and not part.is_empty:
            polys.append(part)
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            stack[0:0] = list(shapely.get_parts(part))
    if len(polys) == 1:
        return polys[0]
    return shapely.MultiPolygon(polys)


def sample_in(
    region: BaseGeometry,
    n: int,
    rng: np.random.Generator,
    weight: Callable[[Points], npt.NDArray[np.float64]] | None = None,
) -> Points:
    """``n`` points inside ``region``, uniform or with probability proportional to ``weight``.

    Rejection sampling on the bounding box, vectorised; ``weight`` must be at most 1.
    """
    out = np.empty((0, 2))
    minx, miny, maxx, maxy = region.bounds
    shapely.prepare(region)
    while len(out) < n:
        batch = max(64, 4 * (n - len(out)))
        cand = np.column_stack([rng.uniform(minx, maxx, batch), rng.uniform(miny, maxy, batch)])
        keep = shapely.contains_xy(region, cand[:, 0], cand[:, 1])
        if weight is not None:
            keep &= rng.uniform(0.0, 1.0, batch) < weight(cand)
        out = np.concatenate([out, cand[keep]])
    return out[:n]


def _voronoi(seeds: Points, part: BaseGeometry) -> list[BaseGeometry]:
    if len(seeds) == 1:
        return [part]
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=part, ordered=True)
    clipped = shapely.intersection(shapely.get_parts(cells), part)
    return [polygonal(c) for c in clipped]


def voronoi_cells(region: BaseGeometry, seeds: Points) -> list[BaseGeometry]:
    """Cells partitioning ``region``, one per seed (same order), each connected where it can be.

    Each piece of a multi-part region (an island) is cut by the seeds that fall on it; a piece
    with no seed joins the nearest cell. Then stray pieces are handed to neighbours
    (:func:`_rehome_pieces`).
    """
    parts = list(shapely.get_parts(region))
    if len(parts) == 1:
        cells = _voronoi(seeds, region)
    else:
        owner = np.full(len(seeds), -1)
        for k, part in enumerate(parts):
            inside = shapely.contains_xy(part, seeds[:, 0], seeds[:, 1]) & (owner < 0)
            owner[inside] = k
        assert (owner >= 0).all(), "seeds must lie inside the region"
        cells_opt: list[BaseGeometry | None] = [None] * len(seeds)
        orphans: list[BaseGeometry] = []
        for k, part in enumerate(parts):
            idx = np.flatnonzero(owner == k)
            if len(idx) == 0:
                orphans.append(part)
                continue
            for i, cell in zip(idx, _voronoi(seeds[idx], part), strict=True):
                cells_opt[i] = cell
        cells = [c for c in cells_opt if c is not None]
        for orphan in orphans:
            j = int(np.argmin(shapely.distance(np.asarray(cells, dtype=object), orphan)))
            cells[j] = polygonal(shapely.union(cells[j], orphan))
    return _rehome_pieces(cells, seeds)


def _rehome_pieces(cells: list[BaseGeometry], seeds: Points) -> list[BaseGeometry]:
    """Give every piece of a cell that does not hold its seed to the neighbour it borders most."""
    arr = np.asarray(cells, dtype=object)
    split = np.flatnonzero(shapely.get_num_geometries(arr) > 1)
    if len(split) == 0:
        return cells
    cells = list(cells)
    tree = shapely.STRtree(arr)
    for i in split:
        pieces = list(shapely.get_parts(cells[i]))
        home = int(np.argmin(shapely.distance(np.asarray(pieces, dtype=object), shapely.points(seeds[i]))))
        kept = [pieces[home]]
        for k, piece in enumerate(pieces):
            if k == home:
                continue
            best, best_len = -1, 0.0
            for j in sorted(int(v) for v in tree.query(piece)):
                if j == i:
                    continue
                shared = float(shapely.length(shapely.intersection(piece, cells[j])))
                if shared > best_len:
                    best, best_len = j, shared
            if best < 0:
                kept.append(piece)  # an island: it stays with the cell whose seed is nearest
            else:
                cells[best] = polygonal(shapely.union(cells[best], piece))
        cells[i] = kept[0] if len(kept) == 1 else shapely.multipolygons(kept)
    return cells


def relax(region: BaseGeometry, seeds: Points, step: float = 0.5, rounds: int = 1) -> Points:
    """Move seeds ``step`` of the way to their cell's centroid (Lloyd), staying inside the region.

    The cells are clipped to the region's bounding box, not to the region: a third of the
    cost, and the seeds only need nudging (one that would leave the region stays put).
    """
    if len(seeds) < 2:
        return seeds
    for _ in range(rounds):
        cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=region, ordered=True)
        boxed = shapely.clip_by_rect(shapely.get_parts(cells), *region.bounds)
        cent = shapely.get_coordinates(shapely.centroid(boxed))
        moved = seeds + step * (cent - seeds)
        inside = shapely.contains_xy(region, moved[:, 0], moved[:, 1])
        seeds = np.where(inside[:, None], moved, seeds)
    return seeds


def apportion(
    weights: Sequence[float], total: int, minimum: Sequence[int] | int = 0, maximum: Sequence[int] | int | None = None
) -> list[int]:
    """Split ``total`` in proportion to ``weights`` with whole numbers (largest remainder),
    giving each at least ``minimum`` and at most ``maximum``; ties go to the earlier entry."""
    n = len(weights)
    lo = np.broadcast_to(np.asarray(minimum, dtype=np.int64), (n,)).copy()
    hi = np.broadcast_to(np.asarray(maximum if maximum is not None else total, dtype=np.int64), (n,)).copy()
    w = np.asarray(weights, dtype=np.float64)
    if lo.sum() > total or hi.sum() < total:
        raise ValueError(f"cannot split {total} within the bounds given")
    counts = lo.copy()
    free = np.ones(n, dtype=bool)
    while True:
        rest = total - int(counts.sum())
        if rest == 0:
            return [int(c) for c in counts]
        active = free & (counts < hi)
        wa = np.where(active, w, 0.0)
        if wa.sum() <= 0:
            wa = active.astype(np.float64)
        share = wa / wa.sum() * rest
        whole = np.minimum(np.floor(share).astype(np.int64), hi - counts)
        counts += whole
        rest = total - int(counts.sum())
        if rest == 0:
            return [int(c) for c in counts]
        frac = np.where(active & (counts < hi), share - np.floor(share), -1.0)
        order = np.lexsort((np.arange(n), -frac))
        for i in order[:rest]:
            if frac[i] >= 0:
                counts[i] += 1
        free &= counts < hi


def rng_for(code: str, purpose: int = 0) -> np.random.Generator:
    """The random stream for drawing inside one division: seeded by its code, so reproducible."""
    return np.random.default_rng([int(code), purpose])


# -- reading the real divisions -----------------------------------------------------------------


@dataclass(frozen=True)
class _RefTownship:
    code: str
    name: str
    name_en: str
    kind: str


@dataclass(frozen=True)
class _RefDistrict:
    code: str
    name: str
    name_en: str
    townships: tuple[_RefTownship, ...]


def _reference() -> list[_RefDistrict]:
    by_district: dict[str, tuple[str, str, list[_RefTownship]]] = {}
    with resources.files("onecity.data").joinpath(TOWNSHIPS_RESOURCE).open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            code = rec["district_code"] + "000000"
            entry = by_district.setdefault(code, (rec["district_name"], rec["district_name_en"], []))
            entry[2].append(
                _RefTownship(rec["township_code"], rec["township_name"], rec["township_name_en"], rec["township_kind"])
            )
    return [
        _RefDistrict(code, n, e, tuple(sorted(ts, key=lambda t: t.code)))
        for code, (n, e, ts) in sorted(by_district.items())
    ]


def district_outlines() -> dict[str, BaseGeometry]:
    """The real district outlines in the km plane, cleaned into a partition of the city."""
    raw = json.loads(resources.files("onecity.data").joinpath(DISTRICTS_RESOURCE).read_bytes())
    codes: list[str] = []
    geoms: list[BaseGeometry] = []
    for feature in sorted(raw["features"], key=lambda f: f["properties"]["gb"]):
        codes.append(feature["properties"]["gb"][len(COUNTRY_PREFIX) :] + "000000")
        geoms.append(shapely.make_valid(shapely.from_geojson(json.dumps(feature["geometry"]))))
    return dict(zip(codes, clean_partition(list(projection.to_plane(geoms))), strict=True))


def clean_partition(shapes: list[BaseGeometry]) -> list[BaseGeometry]:
    """Make neighbouring outlines a partition: matched edges, no overlaps, no slivers between them."""
    # coverage_clean is new in shapely 2.1; the types-shapely stubs do not declare it yet (and once
    # they do, this ignore must not fail the build: hence unused-ignore)
    cleaned = shapely.coverage_clean(  # type: ignore[attr-defined, unused-ignore]
        np.asarray(shapes, dtype=object), gap_width=SLIVER_GAP_KM
    )
    if not shapely.coverage_is_valid(cleaned, gap_width=SLIVER_GAP_KM):
        # e.g. a sliver open to the sea between two coastal districts: the cleaner fills only
        # enclosed gaps, and guessing where a coast runs is not the generator's job
        bad = shapely.coverage_invalid_edges(cleaned, gap_width=SLIVER_GAP_KM)
        where = [i for i, edge in enumerate(bad) if edge is not None and not edge.is_empty]
        raise ValueError(f"district outlines {where} still leave slivers or overlaps after cleaning; fix the file")
    return [polygonal(s) for s in cleaned]


# -- the generator ----------------------------------------------------------------------------


def _townships(district: _RefDistrict, outline: BaseGeometry) -> list[Unit]:
    """Cut a district into its real townships: densest cells → subdistricts, then towns, then 乡."""
    rng = rng_for(district.code)
    n = len(district.townships)
    parts = sorted(shapely.get_parts(outline), key=lambda p: -p.area)
    total_area = sum(p.area for p in parts)
    # an island gets townships of its own only when it is worth one and a half of them
    eligible = [p for i, p in enumerate(parts) if i == 0 or n * p.area / total_area >= 1.5]
    per_part = apportion([p.area for p in eligible], n, minimum=1)
    peak = float(density(np.asarray([[p.centroid.x, p.centroid.y] for p in parts])).max()) + 5.0

    def weight(xy: Points) -> npt.NDArray[np.float64]:
        return np.asarray((density(xy) / peak) ** 0.8)

    seeds = np.concatenate([sample_in(p, k, rng, weight) for p, k in zip(eligible, per_part, strict=True)])
    seeds = relax(outline, seeds)
    cells = voronoi_cells(outline, seeds)
    urban = density(seeds)
    order = sorted(range(n), key=lambda i: (-urban[i], i))
    kind_rank = {"subdistrict": 0, "town": 1, "township": 2}
    refs = sorted(district.townships, key=lambda t: (kind_rank[t.kind], t.code))
    units = [
        Unit(
            code=ref.code,
            name=ref.name,
            name_en=ref.name_en,
            level=DivisionLevel.TOWNSHIP,
            kind=ref.kind,
            parent_code=district.code,
            shape=cells[i],
            seed=(float(seeds[i, 0]), float(seeds[i, 1])),
        )
        for ref, i in zip(refs, order, strict=True)
    ]
    return sorted(units, key=lambda u: u.code)


def _unit_counts(townships: Sequence[Unit]) -> tuple[list[int], list[int]]:
    """How many communities and villages each township gets, meeting the city totals exactly.

    Communities follow people (area × density, more per km² in subdistricts); villages follow
    farmland (area × how rural the township is) and exist only in towns and townships.
    """
    area = np.array([t.shape.area for t in townships])
    dens = density(np.array([t.seed for t in townships]))
    rural = np.array([t.kind in RURAL_KINDS for t in townships])
    subdistrict = np.array([t.kind == "subdistrict" for t in townships])
    community_w = area * dens**1.3 * np.where(subdistrict, 2.0, 1.0)
    communities = apportion(
        list(community_w),
        COMMUNITIES_TOTAL,
        minimum=np.where(subdistrict, 4, 2).tolist(),
        maximum=len(COMMUNITY_SERIALS),
    )
    rurality = np.clip(1.0 - dens / 2.0, 0.05, 1.0)
    village_w = np.where(rural, area * rurality, 0.0)
    villages = apportion(
        list(village_w), VILLAGES_TOTAL, minimum=0, maximum=np.where(rural, len(VILLAGE_SERIALS), 0).tolist()
    )
    return communities, villages


def _communities(township: Unit, n_communities: int, n_villages: int) -> list[Unit]:
    """Cut a township into residents' and village committees.

    Communities cluster around the township's seed (its built-up centre: a subdistrict is all
    built up, a town's centre is), villages spread over the rest; each cell takes its seed's kind.
    """
    rng = rng_for(township.code)
    region = township.shape
    core = np.asarray(township.seed)
    radius = float(np.sqrt(region.area / np.pi))
    if township.kind == "subdistrict":
        peak = float(density(np.asarray([core])).max()) * 1.5 + 1.0
        seeds_c = sample_in(region, n_communities, rng, lambda xy: np.minimum(1.0, density(xy) / peak))
    else:
        spread = radius * (0.25 + 0.5 * n_communities / (n_communities + n_villages + 1))

        def near_core(xy: Points) -> npt.NDArray[np.float64]:
            weight: npt.NDArray[np.float64] = np.exp(-((xy - core) ** 2).sum(axis=1) / (2 * spread**2))
            return weight

        seeds_c = sample_in(region, n_communities, rng, near_core)
    if n_villages:

        def away_from_core(xy: Points) -> npt.NDArray[np.float64]:
            weight: npt.NDArray[np.float64] = np.minimum(1.0, 0.15 + np.sqrt(((xy - core) ** 2).sum(axis=1)) / radius)
            return weight

        seeds_v = sample_in(region, n_villages, rng, away_from_core)
        seeds = np.concatenate([seeds_c, seeds_v])
    else:
        seeds = seeds_c
    seeds = relax(region, seeds, step=0.4)
    cells = voronoi_cells(region, seeds)
    labels = names.unique_names(len(seeds), rng)
    dist = np.sqrt(((seeds - core) ** 2).sum(axis=1))
    units: list[Unit] = []
    for kind, idx, serials, (suffix_zh, suffix_en) in (
        (COMMUNITY, range(n_communities), COMMUNITY_SERIALS, names.COMMUNITY_SUFFIX),
        (VILLAGE, range(n_communities, len(seeds)), VILLAGE_SERIALS, names.VILLAGE_SUFFIX),
    ):
        # numbered outwards from the centre, as registrars number committees as towns grow
        ordered = sorted(idx, key=lambda i: (dist[i], i))
        for serial, i in zip(serials, ordered, strict=False):
            zh, en = labels[i]
            units.append(
                Unit(
                    code=f"{township.code[:9]}{serial:03d}",
                    name=zh + suffix_zh,
                    name_en=f"{en} {suffix_en}",
                    level=DivisionLevel.COMMUNITY,
                    kind=kind,
                    parent_code=township.code,
                    shape=cells[i],
                    seed=(float(seeds[i, 0]), float(seeds[i, 1])),
                )
            )
    return units


def _grid_counts(communities: Sequence[Unit], township_kinds: dict[str, str]) -> list[int]:
    """Grids per community or village: :data:`GRID_DENSITY` per km², scaled to the city total."""

    def wanted(u: Unit) -> float:
        if u.kind == VILLAGE:
            return GRID_DENSITY[VILLAGE]
        if u.code[:6] in CENTRAL_DISTRICTS:
            return GRID_DENSITY["central"]
        return GRID_DENSITY["subdistrict" if township_kinds[u.code[:9] + "000"] == "subdistrict" else "town"]

    weights = [u.shape.area * wanted(u) for u in communities]
    return apportion(weights, GRIDS_TOTAL, minimum=1, maximum=MAX_GRIDS_PER_UNIT)


def _grids(unit: Unit, n: int) -> list[GridCell]:
    """Cut a community or village into ``n`` grids of about equal area, numbered north-west first."""
    rng = rng_for(unit.code)
    seeds = sample_in(unit.shape, n, rng)
    if n > 1:
        seeds = relax(unit.shape, seeds, step=1.0, rounds=2)
    cells = voronoi_cells(unit.shape, seeds)
    order = sorted(range(n), key=lambda i: (-round(float(seeds[i, 1]), 3), round(float(seeds[i, 0]), 3), i))
    return [
        GridCell(code=f"{unit.code}{serial:03d}", community_code=unit.code, shape=cells[i])
        for serial, i in enumerate(order, start=1)
    ]


def build_geography() -> Geography:
    """Generate the whole geography (a few seconds). Use :func:`generate_geography` for the cached one."""
    outlines = district_outlines()
    districts: list[Unit] = []
    townships: list[Unit] = []
    for ref in _reference():
        outline = outlines[ref.code]
        seat = _xy(*DISTRICT_SEATS[ref.code[:6]])
        districts.append(
            Unit(
                code=ref.code,
                name=ref.name,
                name_en=ref.name_en,
                level=DivisionLevel.DISTRICT,
                kind="district",
                parent_code=MUNICIPALITY_CODE,
                shape=outline,
                seed=seat,
            )
        )
        townships.extend(_townships(ref, outline))
    city = polygonal(shapely.union_all([d.shape for d in districts]))
    municipality = Unit(
        code=MUNICIPALITY_CODE,
        name=MUNICIPALITY_NAME,
        name_en=MUNICIPALITY_NAME_EN,
        level=DivisionLevel.MUNICIPALITY,
        kind="municipality",
        parent_code=None,
        shape=city,
        seed=_CENTRE_XY,
    )
    n_comm, n_vill = _unit_counts(townships)
    communities: list[Unit] = []
    for t, nc, nv in zip(townships, n_comm, n_vill, strict=True):
        communities.extend(_communities(t, nc, nv))
    kinds = {t.code: t.kind for t in townships}
    grids: list[GridCell] = []
    counts = _grid_counts(communities, kinds)
    for unit, n in zip(communities, counts, strict=True):
        grids.extend(_grids(unit, n))
    return Geography(
        municipality=municipality,
        districts=tuple(districts),
        townships=tuple(townships),
        communities=tuple(communities),
        grids=tuple(grids),
    )


@lru_cache(maxsize=1)
def generate_geography() -> Geography:
    """The generated geography, built once per process (it never changes: see the module docstring)."""
    return build_geography()
