"""Catalogue tables: datasets and their fields, each field with a PIPL sensitivity class."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core.db import Base, IdMixin, TimestampMixin


class Sensitivity(StrEnum):
    """PIPL categories: what a field may reveal, hence how it is shared."""

    PUBLIC = "public"
    INTERNAL = "internal"
    PERSONAL = "personal"  # 个人信息
    SENSITIVE = "sensitive"  # 敏感个人信息


class Frequency(StrEnum):
    """EU Publications Office frequency vocabulary (what DCAT-AP's dct:accrualPeriodicity takes)."""

    CONTINUOUS = "CONT"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    ANNUAL = "ANNUAL"
    IRREGULAR = "IRREG"


class Dataset(IdMixin, TimestampMixin, Base):
    __tablename__ = "datasets"

    #: Stable identifier, also the resource name grants use, e.g. ``hub.person``.
    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    owner_agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    #: The area the dataset covers and whose stewards manage it.
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    theme: Mapped[str] = mapped_column(String(40))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    update_frequency: Mapped[Frequency] = mapped_column(String(12))
    lineage: Mapped[str] = mapped_column(Text)
    #: The registry table behind it, when the hub holds the data itself.
    source_table: Mapped[str | None] = mapped_column(String(60))
    issued_on: Mapped[date] = mapped_column(Date)
    #: Lower-cased titles, descriptions, keywords and field names in both languages, kept by the
    #: service functions so that search is one indexed-column ``LIKE`` per term on both databases
    #: (a JSON column's text differs between SQLite and PostgreSQL, so keywords cannot be searched in place).
    search_text: Mapped[str] = mapped_column(Text, default="")


class DatasetField(Base):
    __tablename__ = "dataset_fields"

    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str] = mapped_column(String(100))
    sensitivity: Mapped[Sensitivity] = mapped_column(String(12))
    #: How the field is masked when shared masked (e.g. ``id_number``, ``name``, ``phone``), None: not maskable.
    masking: Mapped[str | None] = mapped_column(String(20))
