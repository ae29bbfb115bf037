"""The generated geography: exact partitions, exact counts, valid codes, plausible names, same bytes every run."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from importlib import resources

import numpy as np
import pytest
import shapely
from shapely.geometry.base import BaseGeometry

from onecity.synth.geography import generate
from onecity.synth.geography.generate import Geography, Unit, apportion

#: Relative tolerance for "the same area": floating-point noise of the overlay, nothing more.
REL = 1e-9


def _reference_townships() -> dict[str, dict[str, str]]:
    with resources.files("onecity.data").joinpath("shanghai-township-divisions.csv").open(encoding="utf-8") as fh:
        return {r["township_code"]: r for r in csv.DictReader(fh)}


def _assert_partition(parent: BaseGeometry, children: Sequence[BaseGeometry], what: str) -> None:
    """Children cover the parent exactly: equal total area, nothing outside it, no overlaps."""
    arr = np.asarray(children, dtype=object)
    total = float(shapely.area(arr).sum())
    assert total == pytest.approx(parent.area, rel=REL), f"{what}: children's areas do not add up to the parent's"
    union = shapely.union_all(arr)
    assert shapely.area(shapely.difference(union, parent)) <= parent.area * REL, f"{what}: a child leaves the parent"
    assert shapely.area(shapely.difference(parent, union)) <= parent.area * REL, f"{what}: a gap inside the parent"
    _assert_no_overlaps(arr, parent.area, what)


def _assert_no_overlaps(arr: np.ndarray, scale: float, what: str) -> None:
    tree = shapely.STRtree(arr)
    a, b = tree.query(arr, predicate="overlaps")
    pairs = a < b
    overlap = float(shapely.area(shapely.intersection(arr[a[pairs]], arr[b[pairs]])).sum()) if pairs.any() else 0.0
    assert overlap <= scale * REL, f"{what}: children overlap by {overlap} km²"


def test_counts_are_the_published_ones(geography: Geography) -> None:
    assert len(geography.districts) == 16
    assert Counter(t.kind for t in geography.townships) == {"subdistrict": 108, "town": 106, "township": 2}
    kinds = Counter(u.kind for u in geography.communities)
    assert kinds == {"community": 4563, "village": 1562}
    assert abs(len(geography.grids) - 40625) <= 406  # within 1 %; the generator in fact hits it exactly
    assert len(geography.grids) == 40625


def test_township_codes_names_and_kinds_are_the_reference_ones(geography: Geography) -> None:
    ref = _reference_townships()
    assert {t.code for t in geography.townships} == set(ref)
    for t in geography.townships:
        r = ref[t.code]
        assert (t.name, t.name_en, t.kind, t.parent_code) == (
            r["township_name"],
            r["township_name_en"],
            r["township_kind"],
            r["district_code"] + "000000",
        )


def test_codes_are_valid_nested_and_unique(geography: Geography) -> None:
    townships = {t.code: t for t in geography.townships}
    codes = [u.code for u in geography.divisions]
    assert len(codes) == len(set(codes))
    for u in geography.communities:
        assert len(u.code) == 12 and u.code.isdigit()
        assert u.parent_code == u.code[:9] + "000" and u.parent_code in townships
        serial = int(u.code[9:])
        assert (1 <= serial <= 199) if u.kind == "community" else (200 <= serial <= 399), u.code
    grid_codes = [g.code for g in geography.grids]
    assert len(grid_codes) == len(set(grid_codes))
    community_codes = {u.code for u in geography.communities}
    per_unit: dict[str, list[int]] = defaultdict(list)
    for g in geography.grids:
        assert len(g.code) == 15 and g.code.isdigit() and g.community_code == g.code[:12]
        assert g.community_code in community_codes
        per_unit[g.community_code].append(int(g.code[12:]))
    assert set(per_unit) == community_codes  # every community and village has grids
    for serials in per_unit.values():
        assert sorted(serials) == list(range(1, len(serials) + 1))  # 001, 002, … without holes


def test_villages_only_in_towns_and_townships_and_communities_everywhere(geography: Geography) -> None:
    kinds = {t.code: t.kind for t in geography.townships}
    village_parents = {kinds[u.parent_code or ""] for u in geography.communities if u.kind == "village"}
    assert village_parents <= {"town", "township"}
    with_communities = {u.parent_code for u in geography.communities if u.kind == "community"}
    assert with_communities == set(kinds)  # every township has residents' committees, towns too
    subdistrict_share = (
        sum(1 for u in geography.communities if u.kind == "community" and kinds[u.parent_code or ""] == "subdistrict")
        / 4563
    )
    assert 0.5 < subdistrict_share < 0.9  # communities mostly in subdistricts


def test_names_are_plausible_and_distinct_within_a_township(geography: Geography) -> None:
    by_township: dict[str, list[Unit]] = defaultdict(list)
    for u in geography.communities:
        by_township[u.parent_code or ""].append(u)
        if u.kind == "community":
            assert u.name.endswith("社区居委会") and len(u.name) == 7 and u.name_en.endswith(" Community")
        else:
            assert u.name.endswith("村村委会") and len(u.name) == 6 and u.name_en.endswith(" Village")
        assert u.name_en.isascii() or "ü" in u.name_en
    for units in by_township.values():
        assert len({u.name[:2] for u in units}) == len(units)
        assert len({u.name_en.split()[0] for u in units}) == len(units)


def test_districts_partition_the_city(geography: Geography) -> None:
    shapes = np.asarray([d.shape for d in geography.districts], dtype=object)
    _assert_partition(geography.municipality.shape, list(shapes), "city")
    # GEOS's validator: shared edges match vertex for vertex, and no sliver is left between neighbours
    assert shapely.coverage_is_valid(shapes, gap_width=generate.SLIVER_GAP_KM)


def test_cleaning_removes_overlaps_and_slivers() -> None:
    """What the cleaning does to outlines that are not a partition (the shipped file is one already)."""
    bottom, top = shapely.box(0, -5, 20, 0), shapely.box(0, 10, 20, 15)
    left = shapely.box(0, 0, 10, 10)
    right = shapely.box(10.03, 0, 20, 10.01)  # 30 m short of its neighbour, 10 m over the top one
    cleaned = generate.clean_partition([bottom, top, left, right])
    assert shapely.coverage_is_valid(np.asarray(cleaned, dtype=object), gap_width=generate.SLIVER_GAP_KM)
    assert sum(c.area for c in cleaned) == pytest.approx(20 * 20, rel=1e-9)
    # a sliver open to the outside cannot be told from a coast: refused, not guessed
    with pytest.raises(ValueError, match="slivers"):
        generate.clean_partition([left, shapely.box(10.03, 0, 20, 10)])


def test_townships_partition_their_district(geography: Geography) -> None:
    for d in geography.districts:
        _assert_partition(d.shape, [t.shape for t in geography.townships if t.parent_code == d.code], d.name)


def test_communities_and_villages_partition_their_township(geography: Geography) -> None:
    children: dict[str, list[BaseGeometry]] = defaultdict(list)
    for u in geography.communities:
        children[u.parent_code or ""].append(u.shape)
    for t in geography.townships:
        _assert_partition(t.shape, children[t.code], t.name)


def test_grids_partition_their_community_and_the_city(geography: Geography) -> None:
    grids = np.asarray([g.shape for g in geography.grids], dtype=object)
    owner = np.asarray([g.community_code for g in geography.grids])
    units = {u.code: u for u in geography.communities}
    # per community: areas add up (vectorised); no grid sticks out of its community
    sums: dict[str, float] = defaultdict(float)
    for code, area in zip(owner, shapely.area(grids), strict=True):
        sums[str(code)] += float(area)
    for code, unit in units.items():
        assert sums[code] == pytest.approx(unit.shape.area, rel=1e-8), code
    parents = np.asarray([units[str(c)].shape for c in owner], dtype=object)
    outside = shapely.area(shapely.difference(grids, parents))
    assert float(outside.max()) <= 1e-9
    # and across the whole city, no two grids overlap
    _assert_no_overlaps(grids, geography.municipality.shape.area, "grids")
    assert float(shapely.area(grids).sum()) == pytest.approx(geography.municipality.shape.area, rel=REL)


def test_grids_are_smaller_in_the_centre(geography: Geography) -> None:
    areas = {"central": [], "suburban": []}  # type: dict[str, list[float]]
    for g in geography.grids:
        areas["central" if g.code[:6] in generate.CENTRAL_DISTRICTS else "suburban"].append(g.shape.area)
    central, suburban = np.median(areas["central"]), np.median(areas["suburban"])
    assert central < suburban / 4, (central, suburban)
    assert 0.005 < central < 0.1  # km²: a few city blocks
    assert len(areas["central"]) > 0.15 * len(geography.grids)


def test_areas_are_shanghais(geography: Geography) -> None:
    """The outlines' equal-area measure agrees with Shanghai's size (the file's outlines include
    some tidal flats and are simplified, so a few percent above the official 6,340 km²)."""
    assert 6300 < geography.municipality.shape.area < 7500
    xuhui = next(d for d in geography.districts if d.code == "310104000000")
    assert 45 < xuhui.shape.area < 65  # officially 54.8 km²


def test_apportion_meets_totals_and_bounds() -> None:
    assert apportion([1, 1, 1], 10) == [4, 3, 3]
    assert sum(apportion([0.2, 5, 3.3], 1000, minimum=10)) == 1000
    assert apportion([0, 0, 1], 5, minimum=1) == [1, 1, 3]
    assert apportion([10, 1], 12, maximum=[5, 100]) == [5, 7]
    with pytest.raises(ValueError):
        apportion([1, 1], 3, maximum=1)


def test_generation_is_byte_identical_in_another_process(geography: Geography) -> None:
    """Same bytes every run: another interpreter, another hash seed, the same SHA-256."""
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    code = "from onecity.synth.geography.generate import build_geography; print(build_geography().digest())"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == geography.digest()
