"""Reading the geography: a division with its counts and children, outlines for maps, city figures.

Geography is public reference data (no personal data), so there is no division scope and no
audit entry per read; but like every API it serves signed-in staff only (any role), which
:data:`READ` says once for the API, the pages and the map data.

Counts come from code prefixes (a community's code starts with its township's nine digits,
a grid's with its community's twelve), so every figure on a division is one indexed
``LIKE 'prefix%'`` per table, grouped by the child's prefix — two queries whatever the level.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.errors import GEOSException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onecity.core import policy
from onecity.core.divisions import MUNICIPALITY_CODE, Division, DivisionLevel, scope_prefix
from onecity.core.errors import NotFound
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import Role
from onecity.hub.geography.models import DivisionShape, Grid

READ = "hub.geography.read"
policy.register_actions({READ: frozenset(Role)})

#: What a division's children are: the level below, or grids below a community/village.
GRID = "grid"
#: Coordinates sent to browsers are rounded to 1e-5° (about a metre): enough for any map.
TRANSFER_DECIMALS = 5
#: Outlines for maps are simplified to this fraction of the parent's extent (about a pixel).
SIMPLIFY_FRACTION = 1 / 2000


@dataclass
class Counts:
    """What lies inside a division."""

    subdistricts: int = 0
    towns: int = 0
    townships: int = 0
    communities: int = 0
    villages: int = 0
    grids: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Child:
    code: str
    name: str
    name_en: str
    level: str
    kind: str | None
    area_km2: float | None
    counts: Counts = field(default_factory=Counts)


@dataclass
class Detail:
    code: str
    name: str
    name_en: str
    level: str
    kind: str | None
    parent_code: str | None
    area_km2: float | None
    centroid: tuple[float, float] | None
    #: Ancestors from the municipality down, not including this division.
    path: list[Child]
    counts: Counts
    children: list[Child]


def _division(session: Session, code: str) -> Division:
    row = session.get(Division, code)
    if row is None:
        raise NotFound(
            f"there is no division with code {code}; codes are 12-digit GB/T 2260 statistical codes, "
            f"e.g. {MUNICIPALITY_CODE} for Shanghai"
        )
    return row


def _child_prefix_length(division: Division) -> int:
    """How many leading code digits identify a child of ``division``."""
    return {
        DivisionLevel.MUNICIPALITY: 6,
        DivisionLevel.DISTRICT: 9,
        DivisionLevel.TOWNSHIP: 12,
        DivisionLevel.COMMUNITY: 15,
    }[DivisionLevel(division.level)]


def _counts_by_prefix(session: Session, code: str, length: int) -> dict[str, Counts]:
    """Counts of everything inside division ``code``, grouped by the first ``length`` digits of the code."""
    prefix = scope_prefix(code)
    out: dict[str, Counts] = {}
    key = func.substr(Division.code, 1, min(length, 12))
    rows = session.execute(
        select(key, Division.level, Division.kind, func.count())
        .where(
            Division.code.startswith(prefix),
            Division.code != code,
            Division.level.in_([DivisionLevel.TOWNSHIP, DivisionLevel.COMMUNITY]),
        )
        .group_by(key, Division.level, Division.kind)
    )
    for k, level, kind, n in rows:
        c = out.setdefault(k, Counts())
        if level == DivisionLevel.TOWNSHIP:
            attr = {"subdistrict": "subdistricts", "town": "towns", "township": "townships"}.get(kind or "")
        else:
            attr = "villages" if kind == "village" else "communities"
        if attr:
            setattr(c, attr, getattr(c, attr) + int(n))
    gkey = func.substr(Grid.code, 1, length)
    for k, n in session.execute(select(gkey, func.count()).where(Grid.code.startswith(prefix)).group_by(gkey)):
        out.setdefault(k, Counts()).grids += int(n)
    return out


def _total(counts: dict[str, Counts]) -> Counts:
    total = Counts()
    for c in counts.values():
        for name, value in c.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
    return total


def division_detail(session: Session, principal: Principal, code: str) -> Detail:
    """A division, the divisions above it, what it holds and its children with their counts."""
    policy.require(principal, READ)
    division = _division(session, code)
    length = _child_prefix_length(division)
    counts = _counts_by_prefix(session, code, length)
    shape = session.get(DivisionShape, code)
    children: list[Child]
    if division.level == DivisionLevel.COMMUNITY:
        children = [
            Child(code=c, name=c, name_en=c, level=GRID, kind=GRID, area_km2=a, counts=Counts(grids=1))
            for c, a in session.execute(
                select(Grid.code, Grid.area_km2).where(Grid.community_code == code).order_by(Grid.code)
            )
        ]
    else:
        areas = dict(
            session.execute(
                select(DivisionShape.code, DivisionShape.area_km2)
                .join(Division, Division.code == DivisionShape.code)
                .where(Division.parent_code == code)
            ).all()
        )
        children = [
            Child(
                code=d.code,
                name=d.name,
                name_en=d.name_en,
                level=d.level,
                kind=d.kind,
                area_km2=areas.get(d.code),
                counts=counts.get(d.code[:length], Counts()),
            )
            for d in session.scalars(select(Division).where(Division.parent_code == code).order_by(Division.code))
        ]
    path: list[Child] = []
    parent = division.parent_code
    while parent is not None:
        p = _division(session, parent)
        path.insert(0, Child(code=p.code, name=p.name, name_en=p.name_en, level=p.level, kind=p.kind, area_km2=None))
        parent = p.parent_code
    return Detail(
        code=division.code,
        name=division.name,
        name_en=division.name_en,
        level=division.level,
        kind=division.kind,
        parent_code=division.parent_code,
        area_km2=shape.area_km2 if shape else None,
        centroid=(shape.centroid_lon, shape.centroid_lat) if shape else None,
        path=path,
        counts=_total(counts),
        children=children,
    )


def division_geometry(session: Session, principal: Principal, code: str) -> dict[str, Any]:
    """The outline of a division (or of a 15-digit grid) as a GeoJSON Feature, full precision."""
    policy.require(principal, READ)
    if len(code) == 15:
        grid = session.get(Grid, code)
        if grid is None:
            raise NotFound(f"there is no grid with code {code}")
        props: dict[str, Any] = {
            "code": code,
            "level": GRID,
            "community_code": grid.community_code,
            "area_km2": grid.area_km2,
        }
        return {"type": "Feature", "id": code, "geometry": json.loads(grid.geometry), "properties": props}
    division = _division(session, code)
    shape = session.get(DivisionShape, code)
    if shape is None:
        raise NotFound(f"division {code} has no outline yet: run `onecity synth geography` (or `onecity seed`)")
    props = {
        "code": code,
        "name": division.name,
        "name_en": division.name_en,
        "level": division.level,
        "kind": division.kind,
        "area_km2": shape.area_km2,
        "centroid": [shape.centroid_lon, shape.centroid_lat],
    }
    return {"type": "Feature", "id": code, "geometry": json.loads(shape.geometry), "properties": props}


def representative_point(session: Session, code: str) -> tuple[float, float] | None:
    """A point inside division ``code``'s outline (lon, lat), where the gazetteer places the division
    (shapely's point on surface: a concave township's centroid may lie outside it); None when it has
    no outline. Reference data for the platform's own use (an alert whose device has no location),
    so no principal."""
    geometry = session.scalar(select(DivisionShape.geometry).where(DivisionShape.code == code))
    if geometry is None:
        return None
    point = shapely.point_on_surface(shapely.from_geojson(geometry))
    return float(point.x), float(point.y)


def children_geojson(session: Session, principal: Principal, code: str) -> dict[str, Any]:
    """The outlines of a division's children, simplified for a map, as a GeoJSON FeatureCollection.

    Simplified together (``coverage_simplify``) so that neighbours keep sharing their edges
    (no slivers open between them on the map), then rounded to about a metre. Each feature
    carries the child's names and counts, so the map needs no second request.
    """
    detail = division_detail(session, principal, code)
    if detail.level == DivisionLevel.COMMUNITY:
        texts = dict(session.execute(select(Grid.code, Grid.geometry).where(Grid.community_code == code)).all())
    else:
        texts = dict(
            session.execute(
                select(DivisionShape.code, DivisionShape.geometry)
                .join(Division, Division.code == DivisionShape.code)
                .where(Division.parent_code == code)
            ).all()
        )
    children = [c for c in detail.children if c.code in texts]
    if not children:
        raise NotFound(f"the outlines inside division {code} are not loaded: run `onecity synth geography`")
    geoms = shapely.from_geojson([texts[c.code] for c in children])
    geoms = _simplify_for_map(geoms)
    features = [
        {
            "type": "Feature",
            "id": c.code,
            "geometry": json.loads(str(text)),
            "properties": {
                "code": c.code,
                "name": c.name,
                "name_en": c.name_en,
                "level": c.level,
                "kind": c.kind,
                "area_km2": round(c.area_km2, 4) if c.area_km2 is not None else None,
                **c.counts.as_dict(),
            },
        }
        for c, text in zip(children, shapely.to_geojson(geoms), strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def _simplify_for_map(geoms: np.ndarray) -> np.ndarray:
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    tolerance = max(maxx - minx, maxy - miny) * SIMPLIFY_FRACTION
    try:
        simplified = shapely.coverage_simplify(geoms, tolerance)
    except GEOSException:
        # not a clean coverage after all (e.g. outlines loaded from elsewhere): simplify one by one
        simplified = shapely.simplify(geoms, tolerance, preserve_topology=True)
    return np.asarray(shapely.transform(simplified, lambda c: np.round(c, TRANSFER_DECIMALS)))


def geography_stats(session: Session) -> dict[str, Any]:
    """City-wide figures (for ``onecity geo stats`` and checks): counts of each level and of outlines."""
    levels = dict(session.execute(select(Division.level, func.count()).group_by(Division.level)).all())
    kinds = dict(
        session.execute(
            select(Division.kind, func.count())
            .where(Division.level.in_([DivisionLevel.TOWNSHIP, DivisionLevel.COMMUNITY]))
            .group_by(Division.kind)
        ).all()
    )
    grids, grid_area = session.execute(select(func.count(), func.coalesce(func.sum(Grid.area_km2), 0.0))).one()
    city = session.get(DivisionShape, MUNICIPALITY_CODE)
    return {
        "districts": int(levels.get(DivisionLevel.DISTRICT, 0)),
        "townships": {k: int(kinds.get(k, 0)) for k in ("subdistrict", "town", "township")},
        "communities": int(kinds.get("community", 0)),
        "villages": int(kinds.get("village", 0)),
        "grids": int(grids),
        "outlines": int(session.scalar(select(func.count()).select_from(DivisionShape)) or 0),
        "area_km2": round(city.area_km2, 2) if city else None,
        "grid_area_km2": round(float(grid_area), 2),
    }
