"""A small real geography written through the tables: communities and villages under real
townships, with grids that are real polygons tiling them. The registry tests seed into it
without depending on how the full city's geography is generated."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from onecity.core.divisions import Division, DivisionLevel
from onecity.hub.geography.models import DivisionShape, Grid

#: (township code, district-ish anchor lon/lat): subdistricts in the centre, towns outside.
TOWNSHIPS = (
    ("310104003000", 121.445, 31.205),  # 天平路街道, Xuhui
    ("310101013000", 121.487, 31.236),  # 外滩街道, Huangpu
    ("310115004000", 121.530, 31.225),  # Pudong
    ("310117102000", 121.265, 31.120),  # Songjiang (town)
    ("310151101000", 121.400, 31.620),  # Chongming (town)
)
STEP = 0.01  # degrees: a grid is ~1 km across


def _square(lon: float, lat: float, size: float) -> dict[str, object]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def small_city_codes() -> list[str]:
    return [t[:9] + f"{serial:03d}" for t, _lon, _lat in TOWNSHIPS for serial in (1, 2, 200)]


def build_small_city(session: Session) -> None:
    """Two communities and a village in each of five real townships, each with 2×2 grids.

    Idempotent row by row (the PostgreSQL test database keeps ``divisions`` between tests).
    """
    for t, (township, lon0, lat0) in enumerate(TOWNSHIPS):
        parent = session.get(Division, township)
        assert parent is not None, f"reference township {township} missing"
        for u, (serial, kind, name) in enumerate(
            ((1, "community", "天平居委会"), (2, "community", "新华居委会"), (200, "village", "联合村委会"))
        ):
            code = township[:9] + f"{serial:03d}"
            if session.get(Division, code) is None:
                session.add(
                    Division(
                        code=code,
                        name=f"{name[:-3]}{t}{name[-3:]}",
                        name_en=f"Unit {code}",
                        level=DivisionLevel.COMMUNITY,
                        kind=kind,
                        parent_code=township,
                    )
                )
                session.flush()
            ulon, ulat = lon0 + u * 2 * STEP, lat0
            if session.get(DivisionShape, code) is None:
                session.add(
                    DivisionShape(
                        code=code,
                        geometry=json.dumps(_square(ulon, ulat, 2 * STEP)),
                        area_km2=4.0,
                        centroid_lon=ulon + STEP,
                        centroid_lat=ulat + STEP,
                    )
                )
            for g in range(4):
                glon, glat = ulon + (g % 2) * STEP, ulat + (g // 2) * STEP
                if session.get(Grid, f"{code}{g + 1:03d}") is not None:
                    continue
                # a square with one corner cut: a real polygon, so rejection sampling is exercised
                ring = [
                    [glon, glat],
                    [glon + STEP, glat],
                    [glon + STEP, glat + STEP],
                    [glon + STEP / 2, glat + STEP],
                    [glon, glat + STEP / 2],
                    [glon, glat],
                ]
                session.add(
                    Grid(
                        code=f"{code}{g + 1:03d}",
                        community_code=code,
                        township_code=township,
                        district_code=township[:6] + "000000",
                        geometry=json.dumps({"type": "Polygon", "coordinates": [ring]}),
                        area_km2=0.9,
                        centroid_lon=glon + STEP / 2,
                        centroid_lat=glat + STEP / 2,
                    )
                )
    session.flush()
