"""The administrative geography as the pages show it: districts on the map, divisions in forms.

Division names and codes are public reference data (no personal data, no policy check),
read from the ``divisions`` table so the map agrees with what the rest of the platform uses.
The outlines come from the GeoJSON shipped in ``onecity/data``, whose ``gb`` property is
``"156"`` + the 6-digit district code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from onecity.core.divisions import Division, DivisionLevel, scope_prefix

GEOJSON_RESOURCE = "shanghai-districts.geojson"
#: ISO 3166 numeric code for China, which the GeoJSON puts before each district code.
COUNTRY_PREFIX = "156"


@dataclass(frozen=True)
class DistrictSummary:
    code: str
    name: str
    name_en: str
    townships: int

    @property
    def gb(self) -> str:
        """The key of this district's outline in the GeoJSON."""
        return COUNTRY_PREFIX + self.code[:6]

    def label(self, lang: str) -> str:
        return self.name if lang == "zh" else self.name_en


def district_summaries(session: Session) -> list[DistrictSummary]:
    """Every district with its number of township-level divisions, in code order."""
    township = aliased(Division)
    count = (
        select(func.count())
        .select_from(township)
        .where(township.parent_code == Division.code, township.level == DivisionLevel.TOWNSHIP)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Division.code, Division.name, Division.name_en, count)
        .where(Division.level == DivisionLevel.DISTRICT)
        .order_by(Division.code)
    )
    return [DistrictSummary(code=c, name=n, name_en=e, townships=int(k or 0)) for c, n, e, k in rows]


def divisions_within(session: Session, code: str) -> list[Division]:
    """``code`` and the districts and townships inside it, for choosing a division in a form."""
    levels = (DivisionLevel.MUNICIPALITY, DivisionLevel.DISTRICT, DivisionLevel.TOWNSHIP)
    return list(
        session.scalars(
            select(Division)
            .where(Division.code.startswith(scope_prefix(code)), Division.level.in_(levels))
            .order_by(Division.code)
        )
    )


def division_names(session: Session, codes: set[str]) -> dict[str, Division]:
    if not codes:
        return {}
    return {d.code: d for d in session.scalars(select(Division).where(Division.code.in_(codes)))}


@lru_cache(maxsize=1)
def districts_geojson() -> bytes:
    """The district outlines, read once per process (about 20 KB)."""
    return resources.files("onecity.data").joinpath(GEOJSON_RESOURCE).read_bytes()
