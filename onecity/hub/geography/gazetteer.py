"""The gazetteer (地名地址库): every name a caller may give for a place, with its point and grid.

Built from what the platform holds, deterministically (the same tables give the same rows):

* **Divisions** — districts, townships (街道, 镇, 乡), residents' committees and villages from
  ``divisions`` and their outlines: the point is the outline's representative point (always
  inside it), the grid the one holding that point.
* **Addresses** — the city has no road centre-lines or door plates of its own yet, so the
  addresses are those its registries hold (``上海市徐汇区天平路街道长乐路12弄5号``), read
  by the registries part and handed to :func:`build` as ``(community code, address)`` pairs.
  Each becomes a *lane* (``长乐路12弄``), a *village group* (``金塘村3组``) or a numbered
  *house* (``新华社区45号``) of its township; the room and the house inside a lane are not
  kept (a lane, 弄, is one compound at one place). Where a lane lies is derived, not surveyed:
  a point drawn inside one of its community's grids by a generator seeded with the lane's own
  key, so a rebuild puts it at the same place. A lane named by residents of several
  communities belongs to the one most of them live in. Each road of a township gets an entry
  of its own at the lane nearest the middle of its lanes.

A real city loads its surveyed address points instead (``onecity geo addresses FILE``,
:func:`load_address_file`): the same rows, ``source = 'file'``, with their own coordinates.

Names are stored with their pinyin (without tones) so that the geocoder matches what a caller
says as well as what they write: 常乐路 and 长乐路 are both ``changlelu``.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pypinyin import lazy_pinyin
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from onecity.core.db import table_of
from onecity.core.divisions import MUNICIPALITY_NAME, Division, DivisionLevel, scope_prefix
from onecity.core.errors import InvalidInput
from onecity.hub.geography.models import DivisionShape, Grid, Place

DIVISION_KINDS = ("district", "township", "community", "village")
ADDRESS_KINDS = ("lane", "group", "house")
ROAD = "road"
#: Grids looked at (nearest centroids first) to find the one holding a division's point.
NEAREST_GRIDS = 8
WRITE_CHUNK = 2000

#: What follows the number in an address, and the kind of place it makes.
MARKERS = {"弄": "lane", "组": "group", "号": "house"}
_NUMBERED = re.compile(r"^(?P<street>\D{1,60}?)(?P<n>\d{1,5})(?P<marker>[弄组号])")
_SPACES = re.compile(r"[\s\u3000,，、.。;；:：()（）#＃-]+")
#: The markers' pinyin, for numbered places (长乐路12弄 → changlelu12nong).
_PY = {"lane": "nong", "group": "zu", "house": "hao"}
_SUFFIX_EN = (("大道", "Avenue"), ("公路", "Highway"), ("路", "Road"), ("街", "Street"), ("巷", "Alley"))
_DIRECTION_EN = {"东": "E", "西": "W", "南": "S", "北": "N", "中": "M"}


# -- names --------------------------------------------------------------------------------------


@lru_cache(maxsize=65_536)
def pinyin(text: str) -> str:
    """Toneless pinyin, syllables joined, lower case; Latin letters and digits kept (长乐路 → changlelu)."""
    syllables: list[str] = lazy_pinyin(text, errors="default")  # not Chinese: kept as it is
    return "".join(syllables).lower().replace("ü", "v")


def normalise(text: str) -> str:
    """What comparisons see: full-width forms folded (NFKC), lower case, no spaces or punctuation."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text)).lower()


def compact_en(name_en: str) -> str:
    """An English name as letters only (``Tianpinglu Subdistrict`` → ``tianpinglusubdistrict``)."""
    return re.sub(r"[^a-z0-9]", "", name_en.lower())


def division_aliases(name: str, level: str, kind: str | None) -> list[str]:
    """The forms people use for a division's name: 浦东新区 → 浦东; 新华社区居委会 → 新华社区, 新华居委, 新华."""
    out = [name]
    if level == DivisionLevel.DISTRICT:
        for suffix in ("新区", "区"):
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                out.append(name[: -len(suffix)])
                break
    elif level == DivisionLevel.TOWNSHIP:
        for suffix in ("街道", "镇", "乡"):
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                out.append(name[: -len(suffix)])
                break
    elif kind == "village":
        stem = name.removesuffix("村委会").removesuffix("村")
        out += [stem + "村", stem]
    else:
        stem = name.removesuffix("居委会").removesuffix("居民委员会").removesuffix("社区")
        out += [stem + "社区", stem + "居委会", stem + "居委", stem]
    return list(dict.fromkeys(a for a in out if a))


def street_en(street: str) -> str:
    """A road's English name as Shanghai's signs give it: 淮海中路 → Huaihai Road (M); 金塘村 → Jintang Village."""
    if street.endswith("村"):
        return pinyin(street[:-1]).capitalize() + " Village"
    for suffix, word in _SUFFIX_EN:
        if street.endswith(suffix) and len(street) > len(suffix):
            stem = street[: -len(suffix)]
            direction = ""
            if len(stem) > 2 and stem[-1] in _DIRECTION_EN:
                direction, stem = f" ({_DIRECTION_EN[stem[-1]]})", stem[:-1]
            return f"{pinyin(stem).capitalize()} {word}{direction}"
    return pinyin(street).capitalize()


def place_name(kind: str, street: str, number: int) -> tuple[str, str]:
    """The Chinese and English names of a numbered place: 长乐路12弄 / Lane 12, Changle Road."""
    street_e = street_en(street)
    if kind == "lane":
        return f"{street}{number}弄", f"Lane {number}, {street_e}"
    if kind == "group":
        return f"{street}{number}组", f"Group {number}, {street_e}"
    return f"{street}{number}号", f"No. {number}, {street_e}"


# -- parsing addresses ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedAddress:
    kind: str
    street: str
    number: int


def parse_address(text: str, heads: Sequence[str] = ()) -> ParsedAddress | None:
    """The lane, village group or house an address names, after its city, district and township.

    ``heads`` are the names that may stand before the street (the district's and township's,
    long and short); they are taken off in order when present. ``None`` when the address has
    no numbered street (a bare division name, a PO box…).
    """
    rest = normalise(text)
    for head in (MUNICIPALITY_NAME, "上海", *heads):
        if head and rest.startswith(head):
            rest = rest[len(head) :]
    m = _NUMBERED.match(rest)
    if m is None:
        return None
    street = m.group("street")
    kind = MARKERS[m.group("marker")]
    if kind == "group":
        street = street.removesuffix("村委会") + ("" if street.removesuffix("村委会").endswith("村") else "村")
    else:
        street = street.removesuffix("居委会")
    if not street or street.isdigit():
        return None
    return ParsedAddress(kind, street, int(m.group("n")))


# -- building -------------------------------------------------------------------------------------


@dataclass
class BuildReport:
    """What :func:`build` wrote."""

    divisions: int = 0
    roads: int = 0
    addresses: int = 0
    unplaced: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Grids:
    """The grids of the area being built: centroids for the nearest ones, outlines parsed on demand."""

    def __init__(self, session: Session, prefixes: Sequence[str]) -> None:
        stmt = select(Grid.code, Grid.centroid_lon, Grid.centroid_lat).order_by(Grid.code)
        if prefixes:
            stmt = stmt.where(or_(*(Grid.code.startswith(p) for p in prefixes)))
        rows = session.execute(stmt).all()
        self.session = session
        self.codes = np.array([r[0] for r in rows], dtype="<U15")
        self.xy = np.array([[r[1], r[2]] for r in rows], dtype=np.float64).reshape(-1, 2)
        self._shapes: dict[str, BaseGeometry] = {}

    def slice(self, prefix: str) -> tuple[int, int]:
        lo = int(np.searchsorted(self.codes, prefix, side="left"))
        hi = int(np.searchsorted(self.codes, prefix + "\uffff", side="left"))
        return lo, hi

    def shapes(self, codes: Sequence[str]) -> list[BaseGeometry]:
        missing = [c for c in codes if c not in self._shapes]
        for start in range(0, len(missing), 500):
            part = missing[start : start + 500]
            for code, text in self.session.execute(select(Grid.code, Grid.geometry).where(Grid.code.in_(part))):
                self._shapes[code] = shapely.from_geojson(text)
        return [self._shapes[c] for c in codes]

    def nearest(self, prefix: str, lon: float, lat: float) -> list[str]:
        """The codes of division ``prefix``'s grids whose centroids are nearest the point."""
        lo, hi = self.slice(prefix)
        if hi <= lo:
            return []
        d2 = ((self.xy[lo:hi] - (lon, lat)) ** 2).sum(axis=1)
        order = np.argsort(d2, kind="stable")[:NEAREST_GRIDS] + lo
        return [str(self.codes[i]) for i in order]

    def holding(self, prefix: str, lon: float, lat: float) -> tuple[str, float, float] | None:
        """The grid of division ``prefix`` that holds the point (or the nearest one, and a point inside it)."""
        codes = self.nearest(prefix, lon, lat)
        if not codes:
            return None
        for code, shape in zip(codes, self.shapes(codes), strict=True):
            if shapely.intersects_xy(shape, lon, lat):
                return code, lon, lat
        inner = shapely.point_on_surface(self.shapes(codes[:1])[0])
        return codes[0], float(inner.x), float(inner.y)

    def choose(self, prefix: str, key: str) -> tuple[str, np.random.Generator] | None:
        """One of division ``prefix``'s grids for ``key`` (the same for the same key), and the key's generator."""
        lo, hi = self.slice(prefix)
        if hi <= lo:
            return None
        rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
        return str(self.codes[lo + int(rng.integers(hi - lo))]), rng

    def point_in(self, code: str, rng: np.random.Generator) -> tuple[str, float, float]:
        """A point inside grid ``code`` drawn with ``rng``."""
        shape = self.shapes([code])[0]
        minx, miny, maxx, maxy = shape.bounds
        for _ in range(64):
            x, y = float(rng.uniform(minx, maxx)), float(rng.uniform(miny, maxy))
            if shapely.contains_xy(shape, x, y):
                return code, round(x, 7), round(y, 7)
        inner = shapely.point_on_surface(shape)
        return code, float(inner.x), float(inner.y)


def _within(prefixes: Sequence[str]) -> list[str]:
    return [scope_prefix(code) for code in prefixes]


def _in_scope(code: str, prefixes: Sequence[str]) -> bool:
    return not prefixes or any(code.startswith(p) for p in prefixes)


def build(
    session: Session,
    addresses: Iterable[tuple[str, str]] = (),
    *,
    within: Sequence[str] = (),
    source: str = "registries",
    ordered: bool = False,
) -> BuildReport:
    """(Re)write the gazetteer of the divisions in ``within`` (12-digit codes; all when empty).

    ``addresses`` are ``(community or village code, address text)`` pairs, typically every
    address the registries hold; those outside ``within`` or without a numbered street are
    skipped. Replaces the entries built before from the same sources in the same area, in the
    caller's transaction; entries loaded from a file are kept. ``ordered`` says the pairs come
    in community-code order, so each township is placed and written as soon as its last
    address has been read (memory holds one township, whatever the size of the city).
    """
    prefixes = _within(within)
    report = BuildReport()
    divisions = {
        d.code: d
        for d in session.scalars(select(Division).where(Division.level != DivisionLevel.MUNICIPALITY))
        if _in_scope(d.code, prefixes) or any(p.startswith(scope_prefix(d.code)) for p in prefixes)
    }
    if not any(d.level == DivisionLevel.COMMUNITY for d in divisions.values()):
        raise InvalidInput(
            "the city has no communities or villages yet: load its geography first "
            "(`onecity seed`, or `onecity synth geography`)"
        )
    grids = _Grids(session, prefixes)
    if not len(grids.codes):
        raise InvalidInput(
            "the city has no unit grids yet: load its geography first (`onecity seed`, or `onecity synth geography`)"
        )
    shapes = dict(
        session.execute(
            select(DivisionShape.code, DivisionShape.geometry).where(DivisionShape.code.in_(list(divisions)))
        ).all()
    )
    rows: list[dict[str, Any]] = []

    # divisions: the representative point of the outline, in the grid holding it
    wanted = sorted(c for c in divisions if c in shapes and _in_scope(c, prefixes))
    points = shapely.point_on_surface(shapely.from_geojson([shapes[c] for c in wanted]))
    xy = shapely.get_coordinates(points)
    grids.shapes(
        sorted({g for c, (x, y) in zip(wanted, xy, strict=True) for g in grids.nearest(scope_prefix(c), x, y)})
    )
    for code, (x, y) in zip(wanted, xy, strict=True):
        d = divisions[code]
        held = grids.holding(scope_prefix(code), float(x), float(y))
        if held is None:
            continue
        kind = (
            str(d.level) if d.level != DivisionLevel.COMMUNITY else ("village" if d.kind == "village" else "community")
        )
        township = code[:9] + "000" if d.level in (DivisionLevel.COMMUNITY, DivisionLevel.TOWNSHIP) else None
        rows.append(
            _row(
                key=f"division/{code}",
                kind=kind,
                name=d.name,
                name_en=d.name_en,
                street=None,
                number=None,
                division=code,
                township=township,
                place=held,
                source="geography",
            )
        )
    report.divisions = len(rows)

    # addresses: one entry per lane, village group or house, in the community most of its residents give.
    # Township by township (a lane, a group and a road belong to one township): memory holds one
    # township's entries at a time, not the whole city's (millions at scale 1), and each township's
    # entries are written as soon as they are placed. The order of the rows (hence their ids) is
    # that of one global sort: divisions, then entries by (township, street, kind, number), then roads.
    heads_of: dict[str, tuple[str, ...]] = {}

    def heads(community: str) -> tuple[str, ...]:
        t_code = community[:9] + "000"
        if t_code not in heads_of:
            out: list[str] = []
            for code in (community[:6] + "000000", t_code):
                d = divisions.get(code)
                if d is not None:
                    out += sorted(division_aliases(d.name, d.level, d.kind), key=len, reverse=True)[:1]
            heads_of[t_code] = tuple(out)
        return heads_of[t_code]

    writer = _Writer(session, prefixes, sources=("geography", source))
    writer.write(rows)
    kinds = Counter(r["kind"] for r in rows)
    roads: list[dict[str, Any]] = []

    def place_township(t9: str, votes: dict[tuple[str, str, int], Counter[str]]) -> None:
        by_street: dict[str, list[dict[str, Any]]] = defaultdict(list)
        chosen: list[tuple[tuple[str, str, int], str, str, np.random.Generator]] = []
        for (street, kind, number), counts in sorted(votes.items()):
            community = min(counts, key=lambda c: (-counts[c], c))
            choice = grids.choose(community, f"{kind}/{t9}/{street}/{number}")
            if choice is not None:
                chosen.append(((street, kind, number), community, choice[0], choice[1]))
        grids.shapes(sorted({c[2] for c in chosen}))  # one query per 500 grids, not one per lane
        placed_rows: list[dict[str, Any]] = []
        for (street, kind, number), community, grid_code, rng in chosen:
            placed = grids.point_in(grid_code, rng)
            zh, en = place_name(kind, street, number)
            row = _row(
                key=f"{kind}/{t9}/{street}/{number}",
                kind=kind,
                name=zh,
                name_en=en,
                street=street,
                number=number,
                division=community,
                township=t9 + "000",
                place=placed,
                source=source,
            )
            placed_rows.append(row)
            by_street[street].append(row)
        writer.write(placed_rows)
        report.addresses += len(placed_rows)
        kinds.update(r["kind"] for r in placed_rows)
        # roads: at the lane nearest the middle of the road's lanes in the township
        for street, members in sorted(by_street.items()):
            if members[0]["kind"] == "group":
                continue  # a village's groups: the village itself is the entry
            xy = np.array([[m["lon"], m["lat"]] for m in members])
            mid = int(np.argmin(((xy - xy.mean(axis=0)) ** 2).sum(axis=1)))
            m = members[mid]
            roads.append(
                _row(
                    key=f"road/{t9}/{street}",
                    kind=ROAD,
                    name=street,
                    name_en=street_en(street),
                    street=street,
                    number=None,
                    division=t9 + "000",
                    township=t9 + "000",
                    place=(m["grid_code"], m["lon"], m["lat"]),
                    source=source,
                )
            )

    by_township: dict[str, dict[tuple[str, str, int], Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    current: str | None = None
    for community, text in addresses:
        if not _in_scope(community, prefixes) or community not in divisions:
            continue
        parsed = parse_address(text, heads(community))
        if parsed is None:
            report.unplaced += 1
            continue
        t9 = community[:9]
        if ordered and t9 != current:
            if current is not None and t9 < current:
                raise ValueError("addresses given as ordered are not in community order")
            # the addresses come in community order: every township before this one is complete
            for prev in sorted(by_township):
                place_township(prev, by_township.pop(prev))
            current = t9
        by_township[t9][(parsed.street, parsed.kind, parsed.number)][community] += 1
    for t9 in sorted(by_township):
        place_township(t9, by_township.pop(t9))
    roads.sort(key=lambda r: (r["township_code"], r["street"]))
    writer.write(roads)
    report.roads = len(roads)
    kinds.update(r["kind"] for r in roads)
    report.kinds = dict(kinds)
    return report


def _row(
    *,
    key: str,
    kind: str,
    name: str,
    name_en: str,
    street: str | None,
    number: int | None,
    division: str,
    township: str | None,
    place: tuple[str, float, float],
    source: str,
) -> dict[str, Any]:
    grid, lon, lat = place
    return {
        "key": key[:160],
        "kind": kind,
        "name": name[:120],
        "name_en": name_en[:200],
        "pinyin": (pinyin(name) if street is None or number is None else pinyin(street) + f"{number}{_PY[kind]}")[:300],
        "street": street,
        "number": number,
        "division_code": division,
        "township_code": township,
        "district_code": division[:6] + "000000",
        "grid_code": grid,
        "lon": lon,
        "lat": lat,
        "source": source,
    }


class _Writer:
    """Deletes the entries a build replaces, then appends rows: COPY on PostgreSQL, batched inserts elsewhere."""

    COLUMNS = (
        "key",
        "kind",
        "name",
        "name_en",
        "pinyin",
        "street",
        "number",
        "division_code",
        "township_code",
        "district_code",
        "grid_code",
        "lon",
        "lat",
        "source",
    )

    def __init__(self, session: Session, prefixes: Sequence[str], sources: Sequence[str]) -> None:
        self.session = session
        stmt = delete(Place).where(Place.source.in_(list(sources)))
        if prefixes:
            stmt = stmt.where(or_(*(Place.division_code.startswith(p) for p in prefixes)))
        session.execute(stmt)
        self.copy = session.get_bind().dialect.name == "postgresql"

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if not self.copy:
            for start in range(0, len(rows), WRITE_CHUNK):
                self.session.execute(table_of(Place).insert(), rows[start : start + WRITE_CHUNK])
            return
        raw: Any = self.session.connection().connection.driver_connection  # the session's own transaction
        cols = ", ".join(self.COLUMNS)
        with raw.cursor() as cur, cur.copy(f"COPY places ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in self.COLUMNS))


# -- a city's own address file ------------------------------------------------------------------------


def load_address_file(session: Session, path: Path) -> int:
    """Load surveyed address points: a CSV with ``address,lon,lat`` (UTF-8, a header row).

    Every row is checked first (a numbered street, a point inside the city's grids) and the
    whole file is refused with the first bad line named; then the file's entries replace those
    of the last file. Returns the number of entries written.
    """
    from onecity.hub.geography.index import grid_index

    index = grid_index(session)
    township_names = {
        d.code: d for d in session.scalars(select(Division).where(Division.level != DivisionLevel.COMMUNITY))
    }
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"address", "lon", "lat"} <= set(reader.fieldnames):
            raise InvalidInput(f"{path.name}: the header must name the columns address, lon and lat")
        for line, rec in enumerate(reader, start=2):
            try:
                lon, lat = float(rec["lon"]), float(rec["lat"])
            except (TypeError, ValueError) as err:
                raise InvalidInput(f"{path.name} line {line}: lon and lat must be numbers") from err
            loc = index.locate_one(lon, lat)
            if loc is None:
                raise InvalidInput(f"{path.name} line {line}: ({lon}, {lat}) is outside the city's grids")
            heads = [
                a
                for code in (loc.district, loc.township)
                if (d := township_names.get(code)) is not None
                for a in sorted(division_aliases(d.name, d.level, d.kind), key=len, reverse=True)[:1]
            ]
            parsed = parse_address(rec["address"] or "", heads)
            if parsed is None:
                raise InvalidInput(
                    f"{path.name} line {line}: no numbered street (…路12弄, …村3组, …45号) in the address"
                )
            key = f"{parsed.kind}/{loc.township[:9]}/{parsed.street}/{parsed.number}"
            if key in seen:
                continue
            seen.add(key)
            zh, en = place_name(parsed.kind, parsed.street, parsed.number)
            rows.append(
                _row(
                    key=key,
                    kind=parsed.kind,
                    name=zh,
                    name_en=en,
                    street=parsed.street,
                    number=parsed.number,
                    division=loc.community,
                    township=loc.township,
                    place=(loc.grid, lon, lat),
                    source="file",
                )
            )
    session.execute(delete(Place).where(Place.key.in_(list(seen))))
    _Writer(session, (), sources=("file",)).write(rows)
    return len(rows)
