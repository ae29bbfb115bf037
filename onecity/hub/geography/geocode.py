"""Where is this address, and what is at this point? Geocoding against the city's own gazetteer.

**Forward** (:meth:`Geocoder.geocode`): an address as a call-taker types it or a resident's app
sends it — 徐汇区天平路街道长乐路12弄5号, 长东路12弄 (a typo), ``changlelu 12 nong``
(pinyin), 天平路街道长乐路 (no number), 金塘村3组, 新华社区 — gives ranked suggestions. The
query is cut into its numbers (``12弄``, ``3组``, ``45号``; ``nong``/``zu``/``hao`` in pinyin)
and its words; the words are compared with every road, village and division name both as
characters and as toneless pinyin (so 常乐路 finds 长乐路: a caller's homophone is a
call-taker's commonest typo), with rapidfuzz's partial ratio (the best-aligned substring, so a
name is found inside a longer address). A road found inside the district or township the query
also names outranks the same road elsewhere; the number then picks the lane, group or house
(or, when the road has no such number, the nearest one it has, marked as such).

**Reverse** (:meth:`Geocoder.reverse`): the nearest address entry to a point, with its distance;
the grid, community, township and district come from the geography's grid index, the one
answer to "which grid is this point in".

The gazetteer is read whole from the ``places`` table once per process and database (a few
seconds for a city seeded at 0.001) and kept; :func:`geocoder_for` checks on each call whether
the table changed (its row count and highest id) and reloads it if so. A lookup then asks the
database nothing more (``bench/geocode.py`` measures it).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onecity.core.db import Database
from onecity.hub.geography.gazetteer import (
    ADDRESS_KINDS,
    ROAD,
    compact_en,
    division_aliases,
    normalise,
    pinyin,
)
from onecity.hub.geography.models import Place

#: A road name must score this much (0–100) in characters, or in pinyin, to be a candidate: one
#: wrong character in three is 67; pinyin is looser (syllables share letters), so its bar is higher.
STREET_FLOOR_ZH = 66.0
STREET_FLOOR_PY = 80.0
#: Streets whose numbers are looked at, the likeliest first (the rest cannot reach the top).
STREETS_RESOLVED = 60
#: A division name this much to count as named in the query.
CONTEXT_FLOOR = 75.0
CONTEXT_FLOOR_PY = 88.0
#: The best score a suggestion can have (name 100, context 40, exact number 20): scores are shown /160 × 100.
SCORE_SCALE = 160.0
#: Below this (0–100) a single answer is not given (:meth:`Geocoder.place`).
CONFIDENT = 55.0
#: The best answer must lead the next one in another grid by this much to be taken alone.
MARGIN = 4.0
#: Kinds precise enough to open a case at: not a whole district or township.
PLACEABLE = (*ADDRESS_KINDS, "community", "village")

_NUMBER = re.compile(r"(\d{1,5})(弄|组|号|室|nong|zu|hao|shi)?")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CITY = ("上海市", "上海", "shanghaishi", "shanghai")
_MARKER_KIND = {"弄": "lane", "nong": "lane", "组": "group", "zu": "group", "号": "house", "hao": "house"}
_EN_WORDS = ("subdistrict", "township", "district", "newarea", "town")


@dataclass(frozen=True)
class Record:
    """One gazetteer entry, as the geocoder keeps it."""

    id: int
    kind: str
    name: str
    name_en: str
    pinyin: str
    street: str | None
    number: int | None
    division_code: str
    township_code: str | None
    district_code: str | None
    grid_code: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Match:
    """A suggestion: the entry, how well it matched (0–100) and how precisely it places the query."""

    record: Record
    score: float
    #: ``address`` (the number asked for), ``nearby`` (the road's nearest number), ``street`` (the road),
    #: ``division`` (a community, village, township or district).
    precision: str
    label: str
    label_en: str
    community: str | None
    community_name: str | None
    community_name_en: str | None
    township_name: str | None
    township_name_en: str | None
    district_name: str | None
    district_name_en: str | None

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "name": r.name,
            "name_en": r.name_en,
            "label": self.label,
            "label_en": self.label_en,
            "kind": r.kind,
            "precision": self.precision,
            "score": round(self.score, 1),
            "lon": r.lon,
            "lat": r.lat,
            "grid": r.grid_code,
            "community": self.community,
            "community_name": self.community_name,
            "community_name_en": self.community_name_en,
            "township": r.township_code,
            "township_name": self.township_name,
            "township_name_en": self.township_name_en,
            "district": r.district_code,
            "district_name": self.district_name,
            "district_name_en": self.district_name_en,
        }


@dataclass(frozen=True)
class Query:
    """A query cut into its words (characters and pinyin) and its numbers."""

    zh: str
    py: str
    numbers: dict[str, int]
    bare: int | None


@dataclass
class _Street:
    road: Record | None = None
    numbers: dict[tuple[str, int], Record] = field(default_factory=dict)


def parse_query(text: str) -> Query:
    """Cut an address into words and numbers: 长乐路12弄5号 → 长乐路, {lane: 12, house: 5}."""
    q = normalise(text)
    for city in _CITY:
        if q.startswith(city):
            q = q[len(city) :]
            break
    numbers: dict[str, int] = {}
    bare: int | None = None
    for m in _NUMBER.finditer(q):
        kind = _MARKER_KIND.get(m.group(2) or "")
        if kind is not None:
            numbers.setdefault(kind, int(m.group(1)))
        elif m.group(2) is None and bare is None:
            bare = int(m.group(1))
    words = _NUMBER.sub(" ", q)
    zh = "".join(words.split()) if _CJK.search(words) else ""
    py = pinyin("".join(words.split()))
    return Query(zh=zh, py=py, numbers=numbers, bare=bare)


class Geocoder:
    """The gazetteer in memory, indexed for forward and reverse lookups."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = list(records)
        self.divisions: dict[str, Record] = {}
        self.streets: dict[tuple[str, str], _Street] = defaultdict(_Street)
        for r in self.records:
            if r.kind in ("district", "township", "community", "village"):
                self.divisions[r.division_code] = r
            elif r.street is not None and r.township_code is not None:
                street = self.streets[(r.township_code, r.street)]
                if r.kind == ROAD:
                    street.road = r
                elif r.number is not None:
                    street.numbers[(r.kind, r.number)] = r
        # division names: districts and townships are fuzzy-matched, communities and villages exactly
        self._ctx: dict[str, list[tuple[str, list[str], list[str]]]] = {"district": [], "township": []}
        self._local_zh: dict[str, list[str]] = defaultdict(list)
        self._local_py: dict[str, list[str]] = defaultdict(list)
        street_names = {name for _, name in self.streets}
        street_py = {pinyin(name) for name in street_names}
        for code, r in sorted(self.divisions.items()):
            if r.kind in ("district", "township"):
                # 长寿路街道 is not named by 长寿路: that is the road (in this and other townships)
                aliases = [a for a in division_aliases(r.name, r.kind, r.kind) if a == r.name or a not in street_names]
                en = compact_en(r.name_en)
                for word in _EN_WORDS:
                    en = en.removesuffix(word)
                py = [p for p in dict.fromkeys([pinyin(a) for a in aliases] + [en]) if p not in street_py]
                self._ctx[r.kind].append((code, aliases, py))
                continue
            for a in division_aliases(r.name, "community", r.kind):
                if len(a) >= 2:
                    self._local_zh[a].append(code)
            stem = r.pinyin
            for suffix in ("村委会", "村", "居委会", "社区"):
                stem = stem.removesuffix(pinyin(suffix))
            if len(stem) >= 5:
                self._local_py[stem].append(code)
        # the districts' and townships' names flattened for rapidfuzz: (names, owner index) per script
        self._ctx_codes: dict[str, list[str]] = {}
        self._ctx_flat: dict[str, tuple[list[str], list[int], list[str], list[int]]] = {}
        self._ctx_len: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = {}
        for level, entries in self._ctx.items():
            zh_names: list[str] = []
            zh_owner: list[int] = []
            py_names: list[str] = []
            py_owner: list[int] = []
            for k, (_code, aliases, pys) in enumerate(entries):
                zh_names += aliases
                zh_owner += [k] * len(aliases)
                py_names += pys
                py_owner += [k] * len(pys)
            self._ctx_codes[level] = [e[0] for e in entries]
            self._ctx_flat[level] = (zh_names, zh_owner, py_names, py_owner)
            self._ctx_len[level] = (
                np.array([len(a) for a in zh_names], dtype=np.int64),
                np.array([len(p) for p in py_names], dtype=np.int64),
            )
        by_name: dict[str, list[str]] = defaultdict(list)
        for township, name in sorted(self.streets):
            by_name[name].append(township)
        self._street_names = sorted(by_name)
        self._street_py = [pinyin(n) for n in self._street_names]
        self._street_townships = [by_name[n] for n in self._street_names]
        # reverse geocoding: the address entries' points, in metres around the city's middle
        points = [r for r in self.records if r.kind in ADDRESS_KINDS] or self.records
        self._points = points
        lonlat = np.array([[r.lon, r.lat] for r in points], dtype=np.float64).reshape(-1, 2)
        self._origin = lonlat.mean(axis=0) if len(lonlat) else np.zeros(2)
        self._xy = self._metres(lonlat)

    def __len__(self) -> int:
        return len(self.records)

    @classmethod
    def from_session(cls, session: Session) -> Geocoder:
        rows = session.execute(
            select(
                Place.id,
                Place.kind,
                Place.name,
                Place.name_en,
                Place.pinyin,
                Place.street,
                Place.number,
                Place.division_code,
                Place.township_code,
                Place.district_code,
                Place.grid_code,
                Place.lon,
                Place.lat,
            ).order_by(Place.id)
        ).all()
        return cls([Record(*tuple(row)) for row in rows])

    # -- forward ------------------------------------------------------------------------------------

    def _context(self, level: str, q: Query) -> dict[str, float]:
        """The districts or townships the query names, with how surely (≥ :data:`CONTEXT_FLOOR`).

        A name counts when it stands (nearly) whole inside the query, not the query inside it:
        its characters contained, or a name of four or more characters with one wrong; its
        pinyin contained (four letters or more), or one of eight or more letters nearly so
        (short pinyin matches by chance: dachang ~ changshou). Scored with rapidfuzz over every
        name at once.
        """
        zh_names, zh_owner, py_names, py_owner = self._ctx_flat[level]
        best: dict[int, float] = {}
        if q.zh and zh_names:
            scores = process.cdist([q.zh], zh_names, scorer=fuzz.partial_ratio)[0]
            lengths = self._ctx_len[level][0]
            ok = (lengths <= len(q.zh)) & ((lengths >= 4) | (scores >= 100.0))
            for i in np.flatnonzero(ok & (scores >= CONTEXT_FLOOR)):
                best[zh_owner[i]] = max(best.get(zh_owner[i], 0.0), float(scores[i]))
        if q.py and py_names:
            scores = process.cdist([q.py], py_names, scorer=fuzz.partial_ratio)[0]
            lengths = self._ctx_len[level][1]
            whole = (scores >= 100.0) & (lengths >= 4) & (lengths <= len(q.py))
            near = (scores >= CONTEXT_FLOOR_PY) & (lengths >= 8) & (lengths <= len(q.py))
            for i in np.flatnonzero(whole | near):
                best[py_owner[i]] = max(best.get(py_owner[i], 0.0), float(scores[i]))
        codes = self._ctx_codes[level]
        return {codes[k]: v for k, v in best.items() if v >= CONTEXT_FLOOR}

    def _local(self, q: Query) -> dict[str, float]:
        """Communities and villages whose names stand whole in the query (looked up by its substrings)."""
        local: dict[str, float] = {}
        for text, table, weight, shortest, longest in (
            (q.zh, self._local_zh, 10.0, 2, 12),
            (q.py, self._local_py, 2.0, 5, 40),
        ):
            for size in range(shortest, min(longest, len(text)) + 1):
                for start in range(len(text) - size + 1):
                    for code in table.get(text[start : start + size], ()):
                        score = 60.0 + weight * min(size, 4 if weight == 10.0 else 20)
                        local[code] = max(local.get(code, 0.0), score)
        return local

    def geocode(self, text: str, limit: int = 8) -> list[Match]:
        """Suggestions for an address, best first (at most ``limit``, one per place)."""
        q = parse_query(text)
        if not q.zh and not q.py and not q.numbers and q.bare is None:
            return []
        districts = self._context("district", q)
        townships = self._context("township", q)
        scored: dict[int, tuple[float, str, Record]] = {}

        def offer(record: Record, score: float, precision: str) -> None:
            if score > scored.get(record.id, (-1e9, "", record))[0]:
                scored[record.id] = (score, precision, record)

        def context(township: str | None, district: str | None) -> float:
            bonus = 0.0
            if township is not None and township in townships:
                bonus += 0.4 * townships[township]
            elif district is not None and district in districts:
                bonus += 0.25 * districts[district]
            if townships and township is not None and township not in townships:
                bonus -= 20.0
            if districts and district is not None and district not in districts:
                bonus -= 30.0
            return bonus

        # roads and villages, then their numbers (only for the streets that can still reach the top)
        if self._street_names and (q.zh or q.py):
            n = len(self._street_names)
            zh = process.cdist([q.zh], self._street_names, scorer=fuzz.partial_ratio)[0] if q.zh else np.zeros(n)
            py = process.cdist([q.py], self._street_py, scorer=fuzz.partial_ratio)[0] if q.py else np.zeros(n)
            zh = np.where(zh >= STREET_FLOOR_ZH, zh, 0.0)
            py = np.where(py >= STREET_FLOOR_PY, py, 0.0)
            name_scores: npt.NDArray[np.float64] = np.maximum(zh, py).astype(np.float64)
            streets: list[tuple[float, str, str]] = []
            for i in np.flatnonzero(name_scores > 0):
                name, base = self._street_names[i], float(name_scores[i])
                for township in self._street_townships[i]:
                    streets.append((base + context(township, township[:6] + "000000"), township, name))
            streets.sort(key=lambda t: (-t[0], t[1], t[2]))
            for score, township, name in streets[:STREETS_RESOLVED]:
                self._offer_numbers(self.streets[(township, name)], q, score, offer)
        # communities and villages named exactly; districts and townships named at all
        for code, base in self._local(q).items():
            r = self.divisions[code]
            offer(r, base + context(r.township_code, r.district_code) - 10.0, "division")
        for code, s in townships.items():
            offer(self.divisions[code], 0.8 * s + context(None, code[:6] + "000000"), "division")
        for code, s in districts.items():
            offer(self.divisions[code], 0.7 * s, "division")
        ranked = sorted(scored.values(), key=lambda t: (-t[0], t[2].id))[:limit]
        return [self._match(r, score, precision) for score, precision, r in ranked]

    def _offer_numbers(self, street: _Street, q: Query, base: float, offer: Any) -> None:
        wanted = [(k, q.numbers[k]) for k in ("lane", "group", "house") if k in q.numbers]
        if not wanted and q.bare is not None:
            wanted = [(k, q.bare) for k in ("lane", "group", "house")]
        for kind, n in wanted:
            exact = street.numbers.get((kind, n))
            if exact is not None:
                offer(exact, base + 20.0, "address")
                return
        if wanted and street.numbers:
            kind, n = wanted[0]
            same = [r for (k, _), r in street.numbers.items() if k == kind] or list(street.numbers.values())
            near = min(same, key=lambda r: (abs((r.number or 0) - n), r.id))
            offer(near, base - 5.0, "nearby")
        if street.road is not None:
            offer(street.road, base - (10.0 if wanted else 0.0), "street")
        elif not wanted and street.numbers:
            first = min(street.numbers.values(), key=lambda r: (r.number or 0, r.id))
            offer(first, base - 5.0, "street")

    def place(self, text: str, matches: list[Match] | None = None) -> tuple[Match | None, list[Match]]:
        """The one place an address stands for, if it is sure enough, and the suggestions.

        Sure enough: the best suggestion scores :data:`CONFIDENT` or more, is a place a case can
        be opened at (the lane, group or house asked for, or a community or village; not a whole
        road, a neighbouring number, a township or a district), and leads every suggestion in
        another grid by :data:`MARGIN`.
        """
        if matches is None:  # else the suggestions already made for ``text``
            matches = self.geocode(text, limit=5)
        if not matches:
            return None, matches
        best = matches[0]
        if best.score < CONFIDENT or best.record.kind not in PLACEABLE or best.precision not in ("address", "division"):
            return None, matches  # a whole road, a lane number it does not have, a township: not a place
        for other in matches[1:]:
            if other.record.grid_code != best.record.grid_code and best.score - other.score < MARGIN:
                return None, matches
        return best, matches

    def _match(self, r: Record, score: float, precision: str) -> Match:
        community = self.divisions.get(r.division_code) if len(r.division_code) == 12 else None
        if community is not None and community.kind not in ("community", "village"):
            community = None
        township = self.divisions.get(r.township_code or "")
        district = self.divisions.get(r.district_code or "")
        parts = [d for d in (district, township) if d is not None and d.id != r.id]
        parts_en = [d.name_en for d in reversed(parts)]
        label = " ".join([*(d.name for d in parts), r.name])
        label_en = ", ".join([r.name_en, *parts_en])
        return Match(
            record=r,
            score=min(100.0, max(0.0, score) * 100.0 / SCORE_SCALE),
            precision=precision,
            label=label,
            label_en=label_en,
            community=community.division_code if community else None,
            community_name=community.name if community else None,
            community_name_en=community.name_en if community else None,
            township_name=township.name if township else None,
            township_name_en=township.name_en if township else None,
            district_name=district.name if district else None,
            district_name_en=district.name_en if district else None,
        )

    # -- reverse ------------------------------------------------------------------------------------

    def _metres(self, lonlat: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        k = np.cos(np.radians(self._origin[1]))
        out: npt.NDArray[np.float64] = (lonlat - self._origin) * np.array([111_320.0 * k, 110_540.0])
        return out

    def reverse(self, lon: float, lat: float) -> tuple[Match, float] | None:
        """The nearest address entry to a point and its distance in metres (None: an empty gazetteer)."""
        if not self._points:
            return None
        d2 = ((self._xy - self._metres(np.array([[lon, lat]])))[:, :2] ** 2).sum(axis=1)
        i = int(np.argmin(d2))
        return self._match(self._points[i], 100.0, "address"), float(np.sqrt(d2[i]))

    def division(self, code: str) -> Record | None:
        """A division's entry (names and point), by its 12-digit code."""
        return self.divisions.get(code)


# -- one per process and database ---------------------------------------------------------------------


@dataclass
class _Cached:
    geocoder: Geocoder
    version: tuple[int, int]


_cache: dict[str, _Cached] = {}
_lock = threading.Lock()


def geocoder_for(session: Session) -> Geocoder:
    """This database's gazetteer, loaded on first use and again whenever the ``places`` table changed.

    Changed: another row count or highest id (one indexed query per call, well under a
    millisecond; a rebuild deletes and inserts, so both move).
    """
    url = str(session.get_bind().engine.url)
    count, top = session.execute(select(func.count(), func.coalesce(func.max(Place.id), 0))).one()
    version = (int(count), int(top))
    cached = _cache.get(url)
    if cached is not None and cached.version == version:
        return cached.geocoder
    with _lock:
        cached = _cache.get(url)
        if cached is not None and cached.version == version:
            return cached.geocoder
        geocoder = Geocoder.from_session(session)
        _cache[url] = _Cached(geocoder, version)
        return geocoder


def warm(db: Database, stop: threading.Event | None = None) -> Geocoder:
    """Load ``db``'s gazetteer before the server reports ready (a start-up step: the first address
    a call-taker types or an Open311 app sends is then answered at once, not after the load)."""
    with db.reading() as session:
        return geocoder_for(session)
