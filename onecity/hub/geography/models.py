"""Geography tables. Division rows themselves live in the core (``divisions``); the hub adds
their outlines and the unit grids (GB/T 30428) that tile each community or village."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, String, Text
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
