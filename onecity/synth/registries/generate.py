"""The synthetic city's base registries, generated in chunks of NumPy columns.

``CityGenerator(geo, scale, seed).chunks()`` yields ``(table, columns)`` pairs in a fixed
order — persons with their certificates, then legal persons with theirs, then components,
then indicators — each chunk a dict of equal-length lists of database text. Memory stays
flat: a chunk is built, written and dropped; what outlives a chunk is a handful of counters
(ID-number sequences per region/day/sex, certificate serials) and, for choosing legal
representatives, the ids of adults per district (4 bytes a person).

Reproducible to the byte: every draw comes from ``numpy.random.default_rng([seed, stream,
chunk])`` with a fixed chunk size, arrays are in division-code order, nothing iterates a
set or reads the clock (the city is described as of :data:`census.AS_OF`).

Identifiers are unique by construction, not by retrying: an ID number's 3-digit sequence is
the next free slot of its (region, birth date, sex) bucket, permuted within the bucket so
numbers do not run 001, 003, 005…; a credit code's organisation body is a bijection of the
legal person's serial. Each chunk's identifiers are re-checked by the scalar validators of
:mod:`identifiers` on a sample (an independent implementation of the same check digits), and
the database's unique and foreign-key constraints check the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table

from onecity.core.db import table_of
from onecity.hub.registries.certtypes import CERT_TYPES, CertType
from onecity.hub.registries.components import CLASSES
from onecity.hub.registries.identifiers import (
    ID_CHECK_CHARS,
    ID_WEIGHTS,
    ORG_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    validate_resident_id,
    validate_uscc,
)
from onecity.hub.registries.models import (
    Certificate,
    CertificateType,
    Component,
    Indicator,
    LegalPerson,
    Person,
    PersonFacts,
    Premises,
    Vehicle,
)
from onecity.synth.registries import census
from onecity.synth.registries.bulk import Columns
from onecity.synth.registries.geo import DISTRICT_CODES, CityGeography, points_in_grids

CHUNK = 200_000
AS_OF = np.datetime64(census.AS_OF.isoformat(), "D")
YEAR = 365.2425
EPOCH = AS_OF - np.timedelta64(int(101 * 366), "D")
NDAYS = int((AS_OF - EPOCH).astype(np.int64)) + 1
SAMPLE_CHECKS = 50

U = npt.NDArray[np.str_]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

#: Probabilities of holding each personal certificate (scale-independent; documented choices,
#: not published figures): who is married, owns a home, drives.
MARRIED_BY_AGE = ((22, 0.30), (30, 0.78), (40, 0.88), (65, 0.72))
HOUSEHOLD_HEAD = 0.42  # of Shanghai-hukou residents aged 25+
RESIDENCE_PERMIT = 0.75  # of residents from other provinces aged 16+
HOMEOWNER_HUKOU, HOMEOWNER_MIGRANT = 0.45, 0.06  # aged 30+
DRIVER_MALE, DRIVER_FEMALE = 0.42, 0.22  # aged 18–70
SENIOR_CARD = 0.92  # aged 65+, hukou or residence permit
REVOKED_SHARE = 0.003
UNRENEWED_ID_SHARE = 0.015
#: Other registries' facts (documented choices, not published figures): working-age people paying
#: social insurance through an employer, of them who stopped in the last six months, residents 16+
#: with a social security card's bank account, households' sizes (1–6 people; Shanghai's mean is
#: about 2.3), electric bicycle owners aged 16–75 and the share of those bought lately, not registered yet.
EMPLOYED_SHARE = 0.72
LEFT_EMPLOYER_SHARE = 0.04
BANK_ACCOUNT_SHARE = 0.96
HOUSEHOLD_SIZES = (0.28, 0.30, 0.22, 0.12, 0.05, 0.03)
E_BIKE_SHARE = 0.35
E_BIKE_UNREGISTERED = 0.1
#: Premises (documented choices): median building area (m²) and lognormal spread by GB/T 4754 sections —
#: catering about 120 m², shops 80, factories 1,500, warehouses 800, offices otherwise 180 — the use the
#: title or lease registers, and the share of firms renting their premises.
PREMISES_AREA = (("H", 120.0, 0.6), ("F", 80.0, 0.8), ("C", 1500.0, 1.0), ("G", 800.0, 1.0))
PREMISES_USE = (("HFRO", "商业"), ("CBD", "工业"), ("G", "仓储"))
PREMISES_LEASED = 0.7
E_BIKE_BRANDS = ("雅迪", "爱玛", "新日", "台铃", "小牛", "绿源", "九号", "永久", "凤凰")

ROADS = (
    "长乐路",
    "淮海中路",
    "南京西路",
    "四川北路",
    "天目西路",
    "武宁路",
    "长寿路",
    "曹杨路",
    "中山北路",
    "漕溪北路",
    "虹桥路",
    "延安西路",
    "共和新路",
    "控江路",
    "黄兴路",
    "浦东南路",
    "张杨路",
    "世纪大道",
    "沪闵路",
    "莘庄路",
    "牡丹江路",
    "友谊路",
    "城中路",
    "博乐路",
    "人民路",
    "园中路",
    "新松江路",
    "公园路",
    "南桥路",
    "城桥镇人民路",
    "锦绣路",
    "东方路",
    "龙吴路",
    "宜山路",
    "凯旋路",
    "江宁路",
    "大连路",
)
PHONE_PREFIXES = (
    "139",
    "138",
    "137",
    "136",
    "135",
    "150",
    "151",
    "152",
    "158",
    "159",
    "182",
    "183",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "185",
    "186",
    "133",
    "153",
    "180",
    "181",
    "189",
    "177",
    "199",
)
DEPARTMENTS_11 = (
    "发展和改革委员会",
    "财政局",
    "教育局",
    "卫生健康委员会",
    "民政局",
    "人力资源和社会保障局",
    "生态环境局",
    "商务委员会",
    "文化和旅游局",
    "统计局",
)
INSTITUTION_WORDS = (
    "社区卫生服务中心",
    "社区事务受理服务中心",
    "青少年活动中心",
    "图书馆",
    "文化馆",
    "疾病预防控制中心",
)
SOCIAL_WORDS = ("养老服务中心", "社会工作服务社", "青少年服务中心", "职业技能培训中心")


def apportion(weights: npt.ArrayLike, total: int) -> I64:
    """Split ``total`` in proportion to ``weights`` in whole numbers (largest remainder, ties to the first)."""
    w = np.asarray(weights, dtype=np.float64)
    share = w / w.sum() * total
    counts: I64 = np.floor(share).astype(np.int64)
    rest = total - int(counts.sum())
    if rest:
        order = np.lexsort((np.arange(len(w)), -(share - counts)))
        counts[order[:rest]] += 1
    return counts


# Strings are built with Python comprehensions over ``tolist()`` columns and object arrays of
# ready-made strings: on this machine that is 5–10x faster than NumPy's fixed-width unicode
# concatenation (every part of a UCS-4 array is copied at the width of the longest element).

Obj = npt.NDArray[np.object_]


def _obj(values: Sequence[str]) -> Obj:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


#: Every date from 1900 to 2100 as text, looked up by day number (``astype(str)`` is slow).
DATE_BASE = np.datetime64("1900-01-01", "D")
DATE_TEXT: Obj = _obj(np.arange(DATE_BASE, np.datetime64("2100-01-01", "D")).astype(np.str_).tolist())


def _dates(a: npt.NDArray[np.datetime64]) -> list[str | None]:
    """Dates as ``YYYY-MM-DD`` text, ``None`` for NaT."""
    nat = np.isnat(a)
    days = np.where(nat, 0, (a.astype("datetime64[D]") - DATE_BASE).astype(np.int64))
    out = DATE_TEXT[days]
    if nat.any():
        out[nat] = None
    texts: list[str | None] = out.tolist()
    return texts


def _strs(a: npt.NDArray[Any]) -> list[str]:
    return list(map(str, a.tolist()))


def _fixed(chars: npt.NDArray[np.uint8]) -> list[str]:
    """Rows of ASCII bytes (n × w) as n strings."""
    w = chars.shape[1]
    text = chars.tobytes().decode("ascii")
    return [text[i : i + w] for i in range(0, len(text), w)]


def _add_years(d: npt.NDArray[np.datetime64], years: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
    later: npt.NDArray[np.datetime64] = d + np.round(np.asarray(years, dtype=np.float64) * YEAR).astype(
        "timedelta64[D]"
    )
    return later


def _years(d: npt.NDArray[np.datetime64]) -> list[int]:
    years: list[int] = (d.astype("datetime64[Y]").astype(np.int64) + 1970).tolist()
    return years


def _short(district_name: str) -> str:
    return district_name.removesuffix("新区").removesuffix("区")


@dataclass
class Progress:
    """Rows generated so far per registry (the CLI prints rates from these)."""

    persons: int = 0
    legal_persons: int = 0
    components: int = 0
    certificates: int = 0
    indicators: int = 0


@dataclass
class _Holders:
    """Who certificates in a block belong to (the persons or legal persons of one chunk)."""

    kind: str
    pid: I64
    ids: Obj
    names: Obj
    division: Obj

    @property
    def pid_text(self) -> Obj:
        return _obj(_strs(self.pid))


class _PersonCtx(_Holders):
    """The persons of one chunk, with what their certificates depend on."""

    def __init__(
        self,
        pid: I64,
        ids: Obj,
        names: Obj,
        division: Obj,
        male: B,
        birth: npt.NDArray[np.datetime64],
        age_years: I64,
        migrant: B,
        hukou_region: Obj,
        district: I64,
        address: Obj,
        id_region: I64,
    ) -> None:
        super().__init__("person", pid, ids, names, division)
        self.male, self.birth, self.age_years, self.migrant = male, birth, age_years, migrant
        self.hukou_region, self.district, self.address, self.id_region = hukou_region, district, address, id_region


@dataclass
class _CertBlock:
    type_code: str
    idx: I64  # holders (positions in the chunk)
    number: list[str]
    issuer: list[str]
    issued: npt.NDArray[np.datetime64]
    valid_until: npt.NDArray[np.datetime64]
    data: list[str]
    forced_status: U | None = None  # e.g. "revoked" where the holder firm was struck off


class CityGenerator:
    """Generates the registries of a city of ``scale`` × Shanghai from ``seed``."""

    def __init__(self, geo: CityGeography, scale: float, seed: int, chunk: int = CHUNK) -> None:
        if not 0 < scale <= 2:
            raise ValueError("scale must be in (0, 2]")
        self.geo, self.scale, self.seed, self.chunk = geo, scale, seed, chunk
        self.n_persons = round(census.POPULATION * scale)
        self.n_legal = round(census.LEGAL_PERSONS * scale)
        self.n_components = round(census.COMPONENTS * scale)
        self.progress = Progress()
        self._cert_id = 0
        self._serial: dict[str, int] = {t.code.value: 0 for t in CERT_TYPES}
        self.unit_codes = _obj(geo.unit_codes.tolist())
        self.unit_names = _obj(geo.unit_names.tolist())
        self.grid_codes = _obj(geo.grid_codes.tolist())
        self.district_names = _obj(list(geo.district_names))
        self.district_short = _obj([_short(n) for n in geo.district_names])
        self.district_codes = _obj(list(DISTRICT_CODES))
        self.unit_head = _obj(
            [
                f"上海市{geo.district_names[d]}{t}"
                for d, t in zip(geo.unit_district.tolist(), geo.unit_township_names.tolist(), strict=True)
            ]
        )
        self._build_regions()
        self._build_weights()

    # -- set-up ---------------------------------------------------------------------------

    def _rng(self, stream: int, part: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.seed, stream, part])

    def _build_regions(self) -> None:
        codes = list(DISTRICT_CODES) + [h[0] for h in census.HISTORIC_CODES]
        prov_start, prov_len, prov_w = [], [], []
        for _name, share, counties in census.MIGRANT_ORIGINS:
            prov_start.append(len(codes))
            prov_len.append(len(counties))
            prov_w.append(share)
            codes.extend(counties)
        self.region_codes = _obj(codes)
        self.region_digits = np.array([[int(c) for c in code] for code in codes], dtype=np.int64)
        self.prov_start = np.array(prov_start)
        self.prov_len = np.array(prov_len)
        self.prov_p = np.array(prov_w) / sum(prov_w)
        self.historic = [
            (codes.index(old), DISTRICT_CODES.index(new), np.datetime64(f"{year}-01-01", "D"))
            for old, new, year in census.HISTORIC_CODES
        ]
        self.id_counters = np.zeros(len(codes) * NDAYS * 2, dtype=np.int16)

    def _build_weights(self) -> None:
        geo = self.geo
        rng = self._rng(0)
        n_units = len(geo.unit_codes)
        # community populations: the district's census population shared by a lognormal weight,
        # villages smaller than urban communities on average
        noise = rng.lognormal(0.0, 0.45, n_units)
        unit_w = np.where(geo.unit_is_village, 0.45, 1.0) * noise
        pops = np.array([census.DISTRICTS[c][0] for c in DISTRICT_CODES], dtype=np.float64)
        self.district_p = pops / pops.sum()
        present = np.bincount(geo.unit_district, minlength=len(DISTRICT_CODES)) > 0
        per_district = apportion(np.where(present, pops, 0.0), self.n_persons)
        self.unit_persons = np.zeros(n_units, dtype=np.int64)
        firms = np.array([census.FIRMS_BY_DISTRICT[c] for c in DISTRICT_CODES])
        per_district_firms = apportion(np.where(present, firms, 0.0), self.n_legal)
        self.unit_firms = np.zeros(n_units, dtype=np.int64)
        for d in range(len(DISTRICT_CODES)):
            members = np.flatnonzero(geo.unit_district == d)
            if len(members):
                self.unit_persons[members] = apportion(unit_w[members], int(per_district[d]))
                self.unit_firms[members] = apportion(unit_w[members], int(per_district_firms[d]))
        # components: more per grid in urban communities, and more in bigger grids
        g_noise = rng.lognormal(0.0, 0.35, len(geo.grid_codes))
        g_w = np.where(geo.unit_is_village[geo.grid_unit], 0.35, 1.0) * np.sqrt(geo.grid_area_km2 + 1e-4) * g_noise
        self.grid_components = apportion(g_w, self.n_components)
        # migrant probability: age factor × district factor, normalised to the census share
        bands = census.AGE_BANDS
        self.band_p = np.array([b[1] for b in bands]) / sum(b[1] for b in bands)
        self.band_male = np.array([b[2] for b in bands])
        self.band_lo = np.array([b[0] for b in bands], dtype=np.float64)
        self.band_span = np.array([5.0] * (len(bands) - 1) + [float(census.OLDEST_BAND_YEARS)])
        age_p = np.array(census.MIGRANT_BY_AGE)
        dist_s = np.array([census.DISTRICTS[c][1] for c in DISTRICT_CODES])
        expected = float((self.band_p * age_p).sum() * (self.district_p * dist_s).sum())
        self.migrant_p = np.clip(np.outer(dist_s, age_p) * census.MIGRANT_SHARE / expected, 0, 0.95)
        sur = census.SURNAMES
        self.surnames = _obj([s for s, _ in sur])
        self.surname_p = np.array([p for _, p in sur]) / sum(p for _, p in sur)
        self.given_m = _obj(list(census.GIVEN_MALE))
        self.given_f = _obj(list(census.GIVEN_FEMALE))

    # -- the stream -------------------------------------------------------------------------

    def chunks(self) -> Iterator[tuple[Table, Columns]]:
        """Every registry, in order; certificate types first so certificates can reference them."""
        yield table_of(CertificateType), self._certificate_types()
        adults: list[list[npt.NDArray[np.int32]]] = [[] for _ in DISTRICT_CODES]
        district_pop = np.zeros(len(DISTRICT_CODES), dtype=np.int64)
        cum = np.cumsum(self.unit_persons)
        for part, start in enumerate(range(0, self.n_persons, self.chunk)):
            end = min(start + self.chunk, self.n_persons)
            unit = np.searchsorted(cum, np.arange(start, end), side="right")
            persons, certs, holders = self._persons(part, start, unit)
            adult = holders.age_years >= 20
            for d in range(len(DISTRICT_CODES)):
                adults[d].append(holders.pid[adult & (holders.district == d)].astype(np.int32))
            district_pop += np.bincount(holders.district, minlength=len(DISTRICT_CODES))
            self.progress.persons += end - start
            yield table_of(Person), persons
            yield from self._cert_chunks(certs, holders)
            yield from self._person_facts(part, holders)
        adult_pool = [np.concatenate(a) if a else np.zeros(0, np.int32) for a in adults]
        firms_active = np.zeros((len(DISTRICT_CODES), 12), dtype=np.int64)
        firms_new = np.zeros((len(DISTRICT_CODES), 12), dtype=np.int64)
        cum = np.cumsum(self.unit_firms)
        for part, start in enumerate(range(0, self.n_legal, self.chunk)):
            end = min(start + self.chunk, self.n_legal)
            unit = np.searchsorted(cum, np.arange(start, end), side="right")
            firms, certs, lholders = self._legal_persons(part, start, unit, adult_pool, firms_active, firms_new)
            self.progress.legal_persons += end - start
            yield table_of(LegalPerson), firms
            yield from self._cert_chunks(certs, lholders)
            yield table_of(Premises), self._premises(part, firms)
        del adult_pool
        cum = np.cumsum(self.grid_components)
        counters = np.zeros((len(DISTRICT_CODES), len(COMPONENT_CLASSES)), dtype=np.int64)
        for part, start in enumerate(range(0, self.n_components, self.chunk)):
            end = min(start + self.chunk, self.n_components)
            grid = np.searchsorted(cum, np.arange(start, end), side="right")
            self.progress.components += end - start
            yield table_of(Component), self._components(part, start, grid, counters)
        indicators = self._indicators(district_pop, firms_active, firms_new)
        self.progress.indicators += len(indicators["code"])
        yield table_of(Indicator), indicators

    def _cert_chunks(self, blocks: list[_CertBlock], holders: _Holders) -> Iterator[tuple[Table, Columns]]:
        cols = self._certificates(blocks, holders)
        if cols["id"]:
            self.progress.certificates += len(cols["id"])
            yield table_of(Certificate), cols

    # -- certificate types --------------------------------------------------------------------

    def _certificate_types(self) -> Columns:
        return {
            "code": [t.code.value for t in CERT_TYPES],
            "name": [t.name for t in CERT_TYPES],
            "name_en": [t.name_en for t in CERT_TYPES],
            "holder_kind": [t.holder_kind.value for t in CERT_TYPES],
            "issuer_department": [t.issuer_department for t in CERT_TYPES],
            "validity_years": [None if t.validity_years is None else str(t.validity_years) for t in CERT_TYPES],
            "metadata_fields": [
                json.dumps(t.metadata_fields(), ensure_ascii=False, sort_keys=True) for t in CERT_TYPES
            ],
        }

    # -- natural persons --------------------------------------------------------------------

    def _persons(self, part: int, start: int, unit: I64) -> tuple[Columns, list[_CertBlock], _PersonCtx]:
        rng = self._rng(1, part)
        geo = self.geo
        n = len(unit)
        pid = np.arange(start + 1, start + n + 1, dtype=np.int64)
        district = geo.unit_district[unit]
        band = rng.choice(len(self.band_p), size=n, p=self.band_p)
        male = rng.random(n) < self.band_male[band]
        age = self.band_lo[band] + rng.random(n) * self.band_span[band]
        birth = AS_OF - np.maximum(np.floor(age * YEAR).astype(np.int64), 1).astype("timedelta64[D]")
        age_years = np.floor((AS_OF - birth).astype(np.int64) / YEAR).astype(np.int64)
        migrant = rng.random(n) < self.migrant_p[district, band]
        # where the ID number was issued: origin county for migrants and for some Shanghai
        # hukou holders who moved their registration in (talent schemes), else the hukou district
        prov = rng.choice(len(self.prov_p), size=n, p=self.prov_p)
        county = self.prov_start[prov] + np.floor(rng.random(n) * self.prov_len[prov]).astype(np.int64)
        moved = rng.random(n) < 0.15
        other = rng.choice(len(DISTRICT_CODES), size=n, p=self.district_p)
        hukou_district = np.where(moved, other, district)
        talent = ~migrant & (age_years >= 22) & (age_years <= 60) & (rng.random(n) < 0.12)
        id_region = np.where(migrant | talent, county, hukou_district)
        old = rng.random(n) < 0.6
        for old_idx, new_idx, abolished in self.historic:
            swap = ~(migrant | talent) & (hukou_district == new_idx) & (birth < abolished) & old
            id_region[swap] = old_idx
        hukou_region = np.where(migrant, self.region_codes[county], self.district_codes[hukou_district])
        seq = self._sequences(id_region, birth, male)
        ids = _obj(self._id_numbers(id_region, birth, seq))
        for i in np.linspace(0, n - 1, min(n, SAMPLE_CHECKS)).astype(np.int64).tolist():
            validate_resident_id(ids[i])  # an independent check of the vectorised check digits
        names = _obj(self._names(rng, male))
        address = _obj(self._addresses(rng, unit))
        prefix = _obj(list(PHONE_PREFIXES))[rng.integers(0, len(PHONE_PREFIXES), n)].tolist()
        phone: list[str | None] = [
            f"{p}{x:08d}" for p, x in zip(prefix, rng.integers(0, 100_000_000, n).tolist(), strict=True)
        ]
        for i in np.flatnonzero(age_years < 12).tolist():
            phone[i] = None
        columns: Columns = {
            "id": _strs(pid),
            "id_number": ids.tolist(),
            "name": names.tolist(),
            "sex": np.where(male, "M", "F").tolist(),
            "birth_date": _dates(birth),
            "hukou_region": hukou_region.tolist(),
            "division_code": self.unit_codes[unit].tolist(),
            "address": address.tolist(),
            "phone": phone,
            "status": ["alive"] * n,
            "updated_at": [None] * n,
        }
        ctx = _PersonCtx(
            pid,
            ids,
            names,
            self.unit_codes[unit],
            male,
            birth,
            age_years,
            migrant,
            hukou_region,
            district,
            address,
            id_region,
        )
        return columns, self._person_certificates(rng, ctx), ctx

    def _sequences(self, region: I64, birth: npt.NDArray[np.datetime64], male: B) -> I64:
        """The 3-digit sequence: the next free slot of the (region, day, sex) bucket, permuted in it."""
        n = len(region)
        day = (birth - EPOCH).astype(np.int64)
        bucket = (region * NDAYS + day) * 2 + male
        order = np.argsort(bucket, kind="stable")
        sb = bucket[order]
        first = np.r_[True, sb[1:] != sb[:-1]] if n else np.zeros(0, dtype=bool)
        group_start = np.flatnonzero(first)
        sizes = np.diff(np.r_[group_start, n])
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - np.repeat(group_start, sizes)
        k = self.id_counters[bucket].astype(np.int64) + rank
        if n and k.max() >= 500:
            raise RuntimeError("more than 500 people of one sex born on one day in one region: scale too large")
        self.id_counters[sb[first]] += sizes.astype(np.int16)
        sequence: I64 = ((k * 337 + (bucket * 7919) % 500) % 500) * 2 + male
        return sequence

    def _id_numbers(self, region: I64, birth: npt.NDArray[np.datetime64], seq: I64) -> list[str]:
        n = len(region)
        y = birth.astype("datetime64[Y]").astype(np.int64) + 1970
        m = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
        d = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
        digits = np.empty((n, 17), dtype=np.int64)
        digits[:, :6] = self.region_digits[region]
        digits[:, 6:10] = np.stack([y // 1000, y // 100 % 10, y // 10 % 10, y % 10], axis=1)
        digits[:, 10:14] = np.stack([m // 10, m % 10, d // 10, d % 10], axis=1)
        digits[:, 14:17] = np.stack([seq // 100, seq // 10 % 10, seq % 10], axis=1)
        check = (digits @ np.array(ID_WEIGHTS)) % 11
        chars = np.empty((n, 18), dtype=np.uint8)
        chars[:, :17] = digits + 48
        chars[:, 17] = np.frombuffer(ID_CHECK_CHARS.encode(), dtype=np.uint8)[check]
        return _fixed(chars)

    def _names(self, rng: np.random.Generator, male: B) -> list[str]:
        n = len(male)
        sur = self.surnames[rng.choice(len(self.surnames), size=n, p=self.surname_p)].tolist()
        g1 = np.where(
            male,
            self.given_m[rng.integers(0, len(self.given_m), n)],
            self.given_f[rng.integers(0, len(self.given_f), n)],
        ).tolist()
        g2 = np.where(
            male,
            self.given_m[rng.integers(0, len(self.given_m), n)],
            self.given_f[rng.integers(0, len(self.given_f), n)],
        )
        g2[rng.random(n) < census.GIVEN_SINGLE_SHARE] = ""
        return [a + b + c for a, b, c in zip(sur, g1, g2.tolist(), strict=True)]

    def _addresses(self, rng: np.random.Generator, unit: I64) -> list[str]:
        n = len(unit)
        head = self.unit_head[unit].tolist()
        road = _obj(list(ROADS))[rng.integers(0, len(ROADS), n)].tolist()
        nums = rng.integers(1, 1200, (4, n)).tolist()
        village = self.geo.unit_is_village[unit].tolist()
        names = self.unit_names[unit].tolist()
        return [
            f"{h}{nm}{a % 15 + 1}组{b % 300 + 1}号" if v else f"{h}{r}{a}弄{b % 60 + 1}号{c % 30 + 1}{d % 5 + 1:02d}室"
            for h, nm, r, v, a, b, c, d in zip(head, names, road, village, *nums, strict=True)
        ]

    # -- personal certificates ----------------------------------------------------------------

    def _issuer(self, prefix: str, district: I64, suffix: str, *, short: bool = False) -> list[str]:
        """Issuing office names: "上海市浦东新区民政局", or with ``short`` "上海市公安局浦东分局"."""
        names = self.district_short if short else self.district_names
        return [f"{prefix}{s}{suffix}" for s in names[district].tolist()]

    def _numbers(self, type_code: str, heads: Sequence[str], width: int = 8, tail: str = "") -> list[str]:
        """Certificate numbers: a per-type serial (so unique) behind a type-specific head."""
        start = self._serial[type_code]
        self._serial[type_code] = start + len(heads)
        return [f"{h}{s:0{width}d}{tail}" for h, s in zip(heads, range(start + 1, start + len(heads) + 1), strict=True)]

    def _person_certificates(self, rng: np.random.Generator, p: _PersonCtx) -> list[_CertBlock]:
        n = len(p.pid)
        nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        blocks: list[_CertBlock] = []
        age = p.age_years
        u = rng.random((8, n))
        # ID card (16+): valid 10 years if issued at 16–25, 20 years at 26–45, long-term from 46
        idx = np.flatnonzero(age >= 16)
        a = age[idx]
        span = np.where(a <= 25, 10, np.where(a <= 45, 20, 0))
        since = np.minimum(a - 16, np.where(span > 0, span, np.minimum(a - 46, 20) + 1))
        issued = AS_OF - np.floor(u[0, idx] * np.maximum(since, 0.1) * YEAR).astype("timedelta64[D]")
        unrenewed = (u[1, idx] < UNRENEWED_ID_SHARE) & (span > 0)
        issued = np.where(unrenewed, issued - (span * YEAR).astype(np.int64).astype("timedelta64[D]"), issued)
        issued = np.maximum(issued, _add_years(p.birth[idx], 16))
        valid = np.where(span > 0, _add_years(issued, span), nat[idx])
        blocks.append(
            _CertBlock(
                CertType.ID_CARD,
                idx,
                p.ids[idx].tolist(),
                self._issuer("上海市公安局", p.district[idx], "分局", short=True),
                issued,
                valid,
                [f'{{"address":"{x}"}}' for x in p.address[idx].tolist()],
            )
        )
        hukou_sh = ~p.migrant
        # household register: the heads of Shanghai-hukou households
        idx = np.flatnonzero(hukou_sh & (age >= 25) & (u[2] < HOUSEHOLD_HEAD))
        issued = _add_years(p.birth[idx], 25 + u[3, idx] * (age[idx] - 25))
        hr = p.hukou_region[idx].tolist()
        blocks.append(
            _CertBlock(
                CertType.HOUSEHOLD_REGISTER,
                idx,
                self._numbers(CertType.HOUSEHOLD_REGISTER, [f"HJ{r}" for r in hr]),
                self._issuer("上海市公安局", p.district[idx], "分局", short=True),
                issued,
                nat[idx],
                [f'{{"hukou_region":"{r}","relation":"户主"}}' for r in hr],
            )
        )
        # residence permit: most adults from other provinces; valid 3 years, a few lapsed
        idx = np.flatnonzero(p.migrant & (age >= 16) & (u[4] < RESIDENCE_PERMIT))
        issued = AS_OF - np.floor(u[5, idx] * 3 * YEAR).astype("timedelta64[D]")
        issued = np.where(u[6, idx] < 0.04, issued - np.timedelta64(1200, "D"), issued)
        blocks.append(
            _CertBlock(
                CertType.RESIDENCE_PERMIT,
                idx,
                self._numbers(
                    CertType.RESIDENCE_PERMIT, [f"JZ{c}" for c in self.district_codes[p.district[idx]].tolist()], 10
                ),
                self._issuer("上海市公安局", p.district[idx], "分局", short=True),
                issued,
                _add_years(issued, 3),
                [f'{{"hukou_region":"{r}"}}' for r in p.hukou_region[idx].tolist()],
            )
        )
        # birth medical certificate: under-18s born in Shanghai
        idx = np.flatnonzero((age < 18) & (p.id_region < len(DISTRICT_CODES)))
        blocks.append(
            _CertBlock(
                CertType.BIRTH_MEDICAL,
                idx,
                self._numbers(CertType.BIRTH_MEDICAL, ["Q31"] * len(idx), 9),
                self._issuer("上海市", p.district[idx], "妇幼保健院"),
                p.birth[idx],
                nat[idx],
                [f'{{"place_of_birth":"上海市{x}"}}' for x in self.district_names[p.district[idx]].tolist()],
            )
        )
        blocks.extend(self._marriages(rng, p, nat))
        # real-estate title: homeowners
        idx = np.flatnonzero((age >= 30) & (u[7] < np.where(hukou_sh, HOMEOWNER_HUKOU, HOMEOWNER_MIGRANT)))
        issued = _add_years(p.birth[idx], 30 + rng.random(len(idx)) * np.minimum(age[idx] - 30, 25))
        area = np.round(rng.lognormal(np.log(85), 0.35, len(idx)), 2).tolist()
        heads = [
            f"沪({y}){s}字不动产权第"
            for y, s in zip(_years(issued), self.district_short[p.district[idx]].tolist(), strict=True)
        ]
        blocks.append(
            _CertBlock(
                CertType.REAL_ESTATE,
                idx,
                self._numbers(CertType.REAL_ESTATE, heads, 7, "号"),
                ["上海市规划和自然资源局"] * len(idx),
                issued,
                nat[idx],
                [
                    f'{{"address":"{x}","area_m2":{a},"use":"住宅"}}'
                    for x, a in zip(p.address[idx].tolist(), area, strict=True)
                ],
            )
        )
        # driving licence: 6 years at first, then 10, long-term after
        v = rng.random((2, n))
        idx = np.flatnonzero((age >= 18) & (age <= 70) & (v[0] < np.where(p.male, DRIVER_MALE, DRIVER_FEMALE)))
        first = _add_years(p.birth[idx], 18 + v[1, idx] * np.minimum(age[idx] - 18, 30))
        held = (AS_OF - first).astype(np.int64) / YEAR
        period = np.where(held < 6, 6, np.where(held < 16, 10, 0))
        issued = np.where(held < 6, first, np.where(held < 16, _add_years(first, 6), _add_years(first, 16)))
        valid = np.where(period > 0, _add_years(issued, period), nat[idx])
        blocks.append(
            _CertBlock(
                CertType.DRIVING_LICENCE,
                idx,
                self._numbers(CertType.DRIVING_LICENCE, ["31"] * len(idx), 10),
                ["上海市公安局交通警察总队"] * len(idx),
                issued,
                valid,
                [f'{{"vehicle_class":"C1","first_issued_on":"{f}"}}' for f in _dates(first)],
            )
        )
        # senior citizen card: 65+ living in Shanghai with hukou or a residence permit
        idx = np.flatnonzero((age >= 65) & (v[0] < SENIOR_CARD))
        blocks.append(
            _CertBlock(
                CertType.SENIOR_CITIZEN_CARD,
                idx,
                self._numbers(CertType.SENIOR_CITIZEN_CARD, ["JLK"] * len(idx), 10),
                self._issuer("上海市", p.district[idx], "民政局"),
                _add_years(p.birth[idx], 65),
                nat[idx],
                [f'{{"birth_date":"{b}"}}' for b in _dates(p.birth[idx])],
            )
        )
        return blocks

    def _marriages(self, rng: np.random.Generator, p: _PersonCtx, nat: npt.NDArray[np.datetime64]) -> list[_CertBlock]:
        """Pair married men and women of the same district by age rank; each spouse holds a copy."""
        age = p.age_years
        pm = np.zeros(len(age))
        for lo, prob in MARRIED_BY_AGE:
            pm = np.where(age >= lo, prob, pm)
        married = rng.random(len(age)) < pm
        men = np.flatnonzero(married & p.male & (age >= 22))
        women = np.flatnonzero(married & ~p.male & (age >= 20))
        husbands, wives = [], []
        for d in range(len(DISTRICT_CODES)):
            m = men[p.district[men] == d]
            w = women[p.district[women] == d]
            k = min(len(m), len(w))
            husbands.append(m[np.argsort(p.birth[m], kind="stable")][:k])
            wives.append(w[np.argsort(p.birth[w], kind="stable")][:k])
        h, w = np.concatenate(husbands).astype(np.int64), np.concatenate(wives).astype(np.int64)
        later = np.maximum(_add_years(p.birth[h], 22), _add_years(p.birth[w], 20))
        room = np.minimum((AS_OF - later).astype(np.int64), int(10 * YEAR))
        wed = later + np.floor(rng.random(len(h)) * room).astype(np.int64).astype("timedelta64[D]")
        heads = [f"J{c}-{y}-" for c, y in zip(self.district_codes[p.district[h]].tolist(), _years(wed), strict=True)]
        numbers = self._numbers(CertType.MARRIAGE, heads, 7)
        issuer = self._issuer("上海市", p.district[h], "民政局婚姻登记处")
        wed_text = _dates(wed)
        out = []
        for holder, spouse, suffix in ((h, w, "-1"), (w, h, "-2")):
            out.append(
                _CertBlock(
                    CertType.MARRIAGE,
                    holder,
                    [x + suffix for x in numbers],
                    issuer,
                    wed,
                    nat[holder],
                    [
                        f'{{"spouse_name":"{nm}","spouse_id_number":"{i}","registered_on":"{d}"}}'
                        for nm, i, d in zip(p.names[spouse].tolist(), p.ids[spouse].tolist(), wed_text, strict=True)
                    ],
                )
            )
        return out

    def _certificates(self, blocks: list[_CertBlock], h: _Holders) -> Columns:
        """Turn certificate blocks into one certificate chunk (ids in block order)."""
        rng = self._rng(9, self._cert_id)
        cols: dict[str, list[str | None]] = {
            k: []
            for k in (
                "id",
                "type_code",
                "number",
                "holder_kind",
                "holder_id",
                "holder_identifier",
                "holder_name",
                "issuer",
                "issued_on",
                "valid_until",
                "status",
                "revoked_at",
                "division_code",
                "data",
            )
        }
        pid_text = h.pid_text
        for b in blocks:
            n = len(b.idx)
            if n == 0:
                continue
            first = self._cert_id + 1
            self._cert_id += n
            expired = ~np.isnat(b.valid_until) & (b.valid_until < AS_OF)
            revoked = rng.random(n) < REVOKED_SHARE
            status = np.where(revoked, "revoked", np.where(expired, "expired", "valid"))
            if b.forced_status is not None:
                status = np.where(b.forced_status != "", b.forced_status, status)
            rev_list: list[str | None] = [None] * n
            span = np.maximum((AS_OF - b.issued).astype(np.int64), 1) * 86400
            rev_at = b.issued.astype("datetime64[s]") + np.floor(rng.random(n) * span).astype("timedelta64[s]")
            for i in np.flatnonzero(status == "revoked").tolist():
                rev_list[i] = str(rev_at[i]).replace("T", " ")
            cols["id"] += map(str, range(first, first + n))
            cols["type_code"] += [str(b.type_code)] * n
            cols["number"] += b.number
            cols["holder_kind"] += [h.kind] * n
            cols["holder_id"] += pid_text[b.idx].tolist()
            cols["holder_identifier"] += h.ids[b.idx].tolist()
            cols["holder_name"] += h.names[b.idx].tolist()
            cols["issuer"] += b.issuer
            cols["issued_on"] += _dates(b.issued)
            cols["valid_until"] += _dates(b.valid_until)
            cols["status"] += status.tolist()
            cols["revoked_at"] += rev_list
            cols["division_code"] += h.division[b.idx].tolist()
            cols["data"] += b.data
        return cols  # type: ignore[return-value]

    # -- other registries' facts about persons (social insurance, bank, provident fund, vehicles) --

    def _person_facts(self, part: int, p: _PersonCtx) -> Iterator[tuple[Table, Columns]]:
        """One ``person_facts`` row a person and the electric bicycles sold to them, from their own
        stream (stream 5), so the registries generated before them stay as they were."""
        rng = self._rng(5, part)
        n = len(p.pid)
        age = p.age_years
        working = (age >= 18) & (age < np.where(p.male, 60, 55))
        employed = working & (rng.random(n) < EMPLOYED_SHARE)
        left = employed & (rng.random(n) < LEFT_EMPLOYER_SHARE)
        employer = rng.integers(1, max(self.n_legal, 1) + 1, n)
        until = AS_OF - rng.integers(1, 181, n).astype("timedelta64[D]")
        banked = (age >= 16) & (rng.random(n) < BANK_ACCOUNT_SHARE)
        account = [f"6217{x:015d}" for x in rng.integers(0, 10**15, n).tolist()]
        balance = np.round(rng.lognormal(10.6, 0.9, n), 2)
        household = rng.choice(len(HOUSEHOLD_SIZES), size=n, p=HOUSEHOLD_SIZES) + 1
        facts: Columns = {
            "person_id": _strs(p.pid),
            "bank_account": [a if b else None for a, b in zip(account, banked.tolist(), strict=True)],
            "employer_id": [str(e) if w else None for e, w in zip(employer.tolist(), employed.tolist(), strict=True)],
            "employed_until": [d if x else None for d, x in zip(_dates(until), left.tolist(), strict=True)],
            "provident_fund_balance": [
                str(b) if w else None for b, w in zip(balance.tolist(), employed.tolist(), strict=True)
            ],
            "household_size": [str(h) for h in household.tolist()],
            "updated_at": [None] * n,
        }
        yield table_of(PersonFacts), facts
        owner = np.flatnonzero((age >= 16) & (age <= 75) & (rng.random(n) < E_BIKE_SHARE))
        m = len(owner)
        if m == 0:
            return
        vid = p.pid[owner]  # one electric bicycle a person at most: its id is its owner's
        recent = rng.random(m) < E_BIKE_UNREGISTERED
        bought = AS_OF - np.where(recent, rng.integers(1, 60, m), rng.integers(60, 6 * 365, m)).astype("timedelta64[D]")
        registered = bought + rng.integers(1, 15, m).astype("timedelta64[D]")
        brands = _obj(list(E_BIKE_BRANDS))[rng.integers(0, len(E_BIKE_BRANDS), m)]
        yield (
            table_of(Vehicle),
            {
                "id": _strs(vid),
                "holder_kind": ["person"] * m,
                "holder_id": _strs(p.pid[owner]),
                "kind": ["e_bike"] * m,
                "brand": brands.tolist(),
                "frame_number": [f"EB{v:012d}" for v in vid.tolist()],
                "motor_number": [f"M{x:010d}" for x in rng.integers(0, 10**10, m).tolist()],
                "purchased_on": _dates(bought),
                "registered_on": [None if r else d for d, r in zip(_dates(registered), recent.tolist(), strict=True)],
            },
        )

    # -- the premises firms operate from (real-estate titles and filed leases) -------------------

    def _premises(self, part: int, firms: Columns) -> Columns:
        """One premises a firm at its registered address, from its own stream (stream 6), so the registries
        generated before stay as they were: its building area by industry, its use, owned or leased."""
        rng = self._rng(6, part)
        n = len(firms["id"])
        industry = np.array(firms["industry"])
        median, spread = np.full(n, 180.0), np.full(n, 0.9)
        for sections, m, sd in PREMISES_AREA:
            sel = np.isin(industry, list(sections))
            median[sel], spread[sel] = m, sd
        area = np.clip(np.round(rng.lognormal(np.log(median), spread), 2), 8.0, 90_000.0)
        use = np.full(n, "办公", dtype=object)
        for sections, word in PREMISES_USE:
            use[np.isin(industry, list(sections))] = word
        leased = rng.random(n) < PREMISES_LEASED
        return {
            "id": firms["id"],
            "legal_person_id": firms["id"],
            "address": firms["address"],
            "area_m2": [str(a) for a in area.tolist()],
            "use": use.tolist(),
            "tenure": np.where(leased, "leased", "owned").tolist(),
            "recorded_on": firms["established_on"],
        }

    # -- legal persons ------------------------------------------------------------------------

    def _legal_persons(
        self,
        part: int,
        start: int,
        unit: I64,
        adults: Sequence[npt.NDArray[np.int32]],
        active_by_month: I64,
        new_by_month: I64,
    ) -> tuple[Columns, list[_CertBlock], _Holders]:
        rng = self._rng(2, part)
        geo = self.geo
        n = len(unit)
        lid = np.arange(start + 1, start + n + 1, dtype=np.int64)
        district = geo.unit_district[unit]
        kinds = np.array([k for k, _ in census.ORG_KINDS])
        kind_p = np.array([p for _, p in census.ORG_KINDS])
        kind = kinds[rng.choice(len(kinds), size=n, p=kind_p / kind_p.sum())]
        sections = census.INDUSTRY_SECTIONS
        sec_letters = np.array([s[0] for s in sections])
        sec_words = _obj([s[3] for s in sections])
        sec_p = np.array([s[2] for s in sections])
        sec = rng.choice(len(sections), size=n, p=sec_p / sec_p.sum())
        non_market = np.isin(kind, ["11", "12", "51", "52", "53"])
        public_sec = np.array([sec_letters.tolist().index(c) for c in "SPQR"])
        sec = np.where(non_market, public_sec[rng.integers(0, 4, n)], sec)
        sec = np.where(kind == "93", 0, sec)
        industry = sec_letters[sec]
        # established: more firms are young (Shanghai's registrations grew fast since 2014)
        age_years = np.minimum(rng.exponential(7.5, n), 35.0)
        established = AS_OF - np.maximum(np.floor(age_years * YEAR), 1).astype(np.int64).astype("timedelta64[D]")
        new_style = established >= np.datetime64("2015-10-01")
        # credit code: the 6-digit region is the district, or the city for municipal registrations
        city_level = (kind == "91") & (rng.random(n) < 0.10)
        region = np.where(city_level, "310000", np.array(DISTRICT_CODES)[district])
        uscc = _obj(self._uscc(kind, region, self._org_bodies(lid, new_style)))
        for i in np.linspace(0, n - 1, min(n, SAMPLE_CHECKS)).astype(np.int64).tolist():
            validate_uscc(uscc[i])
        tc = _obj(list(census.TRADE_NAME_CHARS))
        t3 = tc[rng.integers(0, len(tc), (3, n))]
        t3[2, rng.random(n) < 0.6] = ""
        trade = [a + b + c for a, b, c in zip(*t3.tolist(), strict=True)]
        suffix = np.where(rng.random(n) < 0.04, "股份有限公司", "有限公司").tolist()
        pick_inst = rng.integers(0, len(INSTITUTION_WORDS), n).tolist()
        pick_soc = rng.integers(0, len(SOCIAL_WORDS), n).tolist()
        dnames = self.district_names[district].tolist()
        words = sec_words[sec].tolist()
        name: list[str] = []
        for i, (k, t, dn) in enumerate(zip(kind.tolist(), trade, dnames, strict=True)):
            if k == "91":
                name.append(f"上海{t}{words[i]}{suffix[i]}")
            elif k == "92":
                name.append(f"{dn}{t}{words[i]}店")
            elif k == "93":
                name.append(f"上海{t}农业专业合作社")
            elif k == "11":
                name.append(f"上海市{dn}{DEPARTMENTS_11[int(lid[i]) % len(DEPARTMENTS_11)]}")
            elif k == "12":
                name.append(f"上海市{dn}{t}{INSTITUTION_WORDS[pick_inst[i]]}")
            elif k == "53":
                name.append(f"上海{t}公益基金会")
            else:
                name.append(f"上海{t}{SOCIAL_WORDS[pick_soc[i]]}")
        reps = np.empty(n, dtype=np.int64)
        for d in range(len(DISTRICT_CODES)):
            sel = np.flatnonzero(district == d)
            pool = adults[d] if len(adults[d]) else np.concatenate([a for a in adults if len(a)])
            reps[sel] = pool[rng.integers(0, len(pool), len(sel))]
        address = self._addresses(rng, unit)
        capital = np.where(kind == "92", rng.lognormal(np.log(5), 0.8, n), rng.lognormal(np.log(100), 1.3, n))
        capital_s = [f"{c:.1f}" for c in capital.tolist()]
        u = rng.random(n)
        status = np.where(u < 0.90, "active", np.where(u < 0.96, "cancelled", "revoked"))
        status = np.where(non_market, "active", status)
        # for the monthly indicators: firms established in each month of the last year, and active ones
        months_ago = (AS_OF.astype("datetime64[M]") - established.astype("datetime64[M]")).astype(np.int64)
        for m in range(12):
            np.add.at(new_by_month[:, m], district[months_ago == 12 - m], 1)
            np.add.at(active_by_month[:, m], district[(months_ago >= 12 - m) & (status == "active")], 1)
        columns: Columns = {
            "id": _strs(lid),
            "uscc": uscc.tolist(),
            "name": name,
            "kind": kind.tolist(),
            "industry": industry.tolist(),
            "legal_rep_id": _strs(reps),
            "division_code": self.unit_codes[unit].tolist(),
            "address": address,
            "established_on": _dates(established),
            "registered_capital": capital_s,
            "status": status.tolist(),
            "updated_at": [None] * n,
        }
        holders = _Holders("legal_person", lid, uscc, _obj(name), self.unit_codes[unit])
        struck_off = np.where(status == "active", "", "revoked")
        nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        blocks = []
        issuer = _obj(self._issuer("上海市", district, "市场监督管理局"))
        mkt = np.flatnonzero(np.isin(kind, ["91", "92", "93"]))
        blocks.append(
            _CertBlock(
                CertType.BUSINESS_LICENCE,
                mkt,
                uscc[mkt].tolist(),
                issuer[mkt].tolist(),
                established[mkt],
                nat[mkt],
                [f'{{"name":"{name[i]}","registered_capital":{capital_s[i]}}}' for i in mkt.tolist()],
                struck_off[mkt],
            )
        )
        food = np.flatnonzero(np.isin(kind, ["91", "92"]) & (industry == "H") & (rng.random(n) < 0.85))
        f_issued = np.maximum(
            established[food],
            AS_OF - np.floor(rng.random(len(food)) * 5 * YEAR).astype(np.int64).astype("timedelta64[D]"),
        )
        blocks.append(
            _CertBlock(
                CertType.FOOD_BUSINESS_LICENCE,
                food,
                self._numbers(
                    CertType.FOOD_BUSINESS_LICENCE, [f"JY2{c}" for c in self.district_codes[district[food]].tolist()], 7
                ),
                issuer[food].tolist(),
                f_issued,
                _add_years(f_issued, 5),
                [f'{{"business_items":"热食类食品制售","premises":"{address[i]}"}}' for i in food.tolist()],
                struck_off[food],
            )
        )
        for kinds_, ctype, head, sfx, iss in (
            (["12"], CertType.INSTITUTION_CERTIFICATE, "事证第1310", "号", "机构编制委员会办公室"),
            (["51", "52", "53"], CertType.SOCIAL_ORG_CERTIFICATE, "沪社证字第", "号", "民政局"),
        ):
            sel = np.flatnonzero(np.isin(kind, kinds_))
            issued = np.maximum(
                established[sel],
                AS_OF - np.floor(rng.random(len(sel)) * 5 * YEAR).astype(np.int64).astype("timedelta64[D]"),
            )
            blocks.append(
                _CertBlock(
                    ctype,
                    sel,
                    self._numbers(ctype, [head] * len(sel), 8, sfx),
                    self._issuer("上海市", district[sel], iss),
                    issued,
                    _add_years(issued, 5),
                    [f'{{"name":"{name[i]}"}}' for i in sel.tolist()],
                )
            )
        return columns, blocks, holders

    def _org_bodies(self, serial: I64, new_style: B) -> npt.NDArray[np.uint8]:
        """8-character organisation code bodies (n × 8 ASCII), a bijection of the serial (so unique).

        Old-style codes are 8 digits; codes issued with the credit code since October 2015
        start "MA" followed by 6 characters of the credit-code alphabet, as Shanghai's do.
        """
        old = (serial * 48_271 + 10_000_019) % 100_000_000
        new = (serial * 7_919 + 12_345) % (31**6)
        alphabet = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
        n = len(serial)
        chars = np.empty((n, 8), dtype=np.uint8)
        for pos in range(7, -1, -1):
            chars[:, pos] = old % 10 + 48
            old //= 10
        newc = np.empty((n, 8), dtype=np.uint8)
        newc[:, 0], newc[:, 1] = ord("M"), ord("A")
        for pos in range(7, 1, -1):
            newc[:, pos] = alphabet[new % 31]
            new //= 31
        return np.where(new_style[:, None], newc, chars)

    def _uscc(self, kind: U, region: U, org_body: npt.NDArray[np.uint8]) -> list[str]:
        n = len(kind)
        head = np.frombuffer(
            "".join(k + r for k, r in zip(kind.tolist(), region.tolist(), strict=True)).encode(), dtype=np.uint8
        ).reshape(n, 8)
        raw = np.concatenate([head, org_body], axis=1)
        # GB 11714 check over the organisation body (letters A=10…Z=35)
        org = raw[:, 8:16].astype(np.int64)
        org_val = np.where(org >= 65, org - 55, org - 48)
        c = 11 - (org_val @ np.array(ORG_WEIGHTS)) % 11
        org_check = np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), c + 48)).astype(np.uint8)
        full = np.concatenate([raw, org_check[:, None]], axis=1)
        lookup = np.full(128, -1, dtype=np.int64)
        for i, ch in enumerate(USCC_ALPHABET):
            lookup[ord(ch)] = i
        c2 = (31 - (lookup[full] @ np.array(USCC_WEIGHTS)) % 31) % 31
        alphabet = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
        return _fixed(np.concatenate([full, alphabet[c2][:, None]], axis=1))

    # -- components ---------------------------------------------------------------------------

    def _components(self, part: int, start: int, grid: I64, counters: I64) -> Columns:
        rng = self._rng(3, part)
        geo = self.geo
        n = len(grid)
        cls_p = np.array([c[3] for c in COMPONENT_CLASSES])
        cls = rng.choice(len(COMPONENT_CLASSES), size=n, p=cls_p / cls_p.sum())
        district = geo.grid_district[grid]
        # serial: the next number of this (district, class), in generation order
        key = district * len(COMPONENT_CLASSES) + cls
        order = np.argsort(key, kind="stable")
        sk = key[order]
        first = np.r_[True, sk[1:] != sk[:-1]] if n else np.zeros(0, dtype=bool)
        gs = np.flatnonzero(first)
        sizes = np.diff(np.r_[gs, n])
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - np.repeat(gs, sizes)
        flat = counters.reshape(-1)
        serial = flat[key] + rank + 1
        flat[sk[first]] += sizes
        class_codes = _obj([c[0] for c in COMPONENT_CLASSES])[cls].tolist()
        owners = _obj([c[2] for c in COMPONENT_CLASSES])[cls].tolist()
        dcodes = self.district_codes[district].tolist()
        lon, lat = points_in_grids(geo, grid, rng)
        u = rng.random(n)
        status = np.where(u < 0.96, "intact", np.where(u < 0.99, "damaged", np.where(u < 0.995, "lost", "removed")))
        return {
            "id": list(map(str, range(start + 1, start + n + 1))),
            "code": [f"{d}{c}{s:08d}" for d, c, s in zip(dcodes, class_codes, serial.tolist(), strict=True)],
            "class_code": class_codes,
            "grid_code": self.grid_codes[grid].tolist(),
            "division_code": self.unit_codes[geo.grid_unit[grid]].tolist(),
            "lon": [f"{x:.6f}" for x in lon.tolist()],
            "lat": [f"{y:.6f}" for y in lat.tolist()],
            "owner_department": [dn + o for dn, o in zip(self.district_names[district].tolist(), owners, strict=True)],
            "status": status.tolist(),
            "updated_at": [None] * n,
        }

    # -- indicators -----------------------------------------------------------------------------

    def _indicators(self, population: I64, active: I64, new: I64) -> Columns:
        """Monthly figures of the last 12 months per district, derived from the registries.

        Population and firms are counted from what was generated; GDP and retail sales take the
        district's published size times the scale, a seasonal factor and a 5 % yearly trend.
        """
        rng = self._rng(4)
        months = [str(np.datetime64(census.AS_OF.isoformat(), "M") - 12 + m) for m in range(12)]
        cols: dict[str, list[str | None]] = {k: [] for k in ("code", "district_code", "month", "value", "unit")}
        for d, dcode in enumerate(DISTRICT_CODES):
            if population[d] == 0:
                continue
            gdp_year = census.GDP_2025[dcode] * self.scale
            for m, month in enumerate(months):
                trend = 1 + 0.05 * (m - 5.5) / 12
                noise = 1 + rng.normal(0, 0.015)
                gdp = gdp_year / 12 * census.SEASONAL[m] * trend * noise
                drift = 1 + 0.0004 * (m - 11)
                figures = (
                    ("resident_population", round(population[d] * drift), "persons"),
                    ("registered_legal_persons", int(active[d, m]), "entities"),
                    ("new_legal_persons", int(new[d, m]), "entities"),
                    ("gdp", round(gdp, 4), "100M CNY"),
                    (
                        "retail_sales",
                        round(gdp * census.RETAIL_SHARE_OF_GDP * (1 + rng.normal(0, 0.02)), 4),
                        "100M CNY",
                    ),
                )
                for code, value, unit in figures:
                    cols["code"].append(code)
                    cols["district_code"].append(dcode + "000000")
                    cols["month"].append(month)
                    cols["value"].append(str(value))
                    cols["unit"].append(unit)
        return cols  # type: ignore[return-value]


#: How common each component class is in the synthetic city: % of all components, by class
#: code (the classes themselves, their names and owners: :mod:`onecity.hub.registries.components`).
CLASS_SHARES: dict[str, float] = {
    "0101": 6.0,
    "0102": 7.0,
    "0103": 7.5,
    "0104": 9.0,
    "0105": 4.0,
    "0106": 2.5,
    "0107": 5.0,
    "0110": 2.0,
    "0111": 0.3,
    "0115": 1.5,
    "0120": 9.0,
    "0125": 0.2,
    "0126": 0.1,
    "0130": 0.2,
    "0201": 0.5,
    "0203": 0.6,
    "0204": 2.5,
    "0207": 3.0,
    "0210": 2.0,
    "0213": 1.0,
    "0301": 0.1,
    "0303": 5.5,
    "0305": 3.0,
    "0308": 1.2,
    "0401": 0.05,
    "0402": 14.0,
    "0404": 1.5,
    "0405": 2.0,
    "0601": 2.5,
    "0606": 0.6,
}

#: (class code, name, owner department suffix, share %) of each class, in the registry's order.
COMPONENT_CLASSES: tuple[tuple[str, str, str, float], ...] = tuple(
    (c.code, c.name, c.owner, CLASS_SHARES[c.code]) for c in CLASSES
)
