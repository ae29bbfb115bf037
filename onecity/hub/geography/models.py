"""Geography tables. Division rows themselves live in the core (``divisions``); the hub adds
their outlines and the unit grids (GB/T 30428) that tile each community or village."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core.db import Base


class DivisionShape(Base):
    """Outline of a division as GeoJSON (WGS 84 lon/lat), with figures derived from it."""

    __tablename__ = "division_shapes"

    code: Mapped[str] = mapped_column(ForeignKey("divisions.code", ondelete="CASCADE"), primary_key=True)
    geometry: Mapped[str] = mapped_column(Text)
    area_km2: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)


class Grid(Base):
    """A unit grid (单元网格): the community/village code plus a 3-digit serial (15 digits)."""

    __tablename__ = "grids"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    community_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    township_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    geometry: Mapped[str] = mapped_column(Text)
    area_km2: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)


class Place(Base):
    """One entry of the gazetteer (地名地址库): a division, a road, a lane (弄), a village group (组)
    or a numbered house, with the point it stands for and the grid that point lies in.

    Written by :mod:`onecity.hub.geography.gazetteer` (divisions from the geography, addresses
    from what the registries hold or from the city's own address file); read whole into memory
    by :mod:`onecity.hub.geography.geocode`. ``key`` names an entry whatever its id, so that a
    rebuild writes each once.
    """

    __tablename__ = "places"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: ``lane/<township9>/<street>/<n>``, ``division/<code>`` …: what makes an entry the same one.
    key: Mapped[str] = mapped_column(String(160), unique=True)
    #: district, township, community, village, road, lane, group or house
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(200))
    #: The name's pinyin without tones, syllables joined (长乐路 → changlelu): typed and heard names.
    pinyin: Mapped[str] = mapped_column(String(300))
    #: A lane's, group's or house's road or village (长乐路, 金塘村); a road's own name.
    street: Mapped[str | None] = mapped_column(String(60))
    number: Mapped[int | None] = mapped_column(Integer)
    #: The most precise division the entry lies in (itself for a division).
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    township_code: Mapped[str | None] = mapped_column(String(12))
    district_code: Mapped[str | None] = mapped_column(String(12))
    grid_code: Mapped[str] = mapped_column(String(15))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    #: Where the entry came from: ``geography``, ``registries`` or ``file``.
    source: Mapped[str] = mapped_column(String(16))
