"""Urban-operations tables: cases, the reports that opened or joined them, each step, disposal units, photos.

A case is owned by the community its place lies in (``division_code``), so the access
policy's prefix rule makes it visible to that township's, that district's and the city's
operation centres and to no other. The unit grid, township and district are kept beside it
(the grid is not a division; township and district make the centres' counts one index scan).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core import clock
from onecity.core.db import Base, DivisionScopedMixin, IdMixin, TimestampMixin
from onecity.hub.registries.models import BigId


class Status(StrEnum):
    COLLECTED = "collected"  # 信息收集: reported, not yet confirmed
    REGISTERED = "registered"  # 立案
    DISPATCHED = "dispatched"  # 派遣
    DISPOSING = "disposing"  # 处置中
    REPORTED = "reported"  # 处置反馈 (reported back, with a photo)
    VERIFIED = "verified"  # 核查通过
    CLOSED = "closed"  # 结案
    EVALUATED = "evaluated"  # 已评价
    DISPUTED = "disputed"  # 派遣争议, waiting for the level above
    SUSPENDED = "suspended"  # 挂起: the clock stops
    REJECTED = "rejected"  # 不予立案 (not a case: no problem found, outside remit)


#: Statuses of a case still being worked (the centres' "open" count; duplicates join these).
OPEN = (
    Status.COLLECTED,
    Status.REGISTERED,
    Status.DISPATCHED,
    Status.DISPOSING,
    Status.REPORTED,
    Status.VERIFIED,
    Status.DISPUTED,
    Status.SUSPENDED,
)
DONE = (Status.CLOSED, Status.EVALUATED, Status.REJECTED)


class Source(StrEnum):
    OPEN311 = "open311"  # residents' apps through Open311 GeoReport v2
    HOTLINE = "hotline"  # the 12345 call-taker
    INSPECTOR = "inspector"  # a grid inspector on patrol
    SENSOR = "sensor"  # a sensing alert
    CAMERA = "camera"  # a camera detection
    RATING = "rating"  # a 1–2 star service rating with a complaint


#: Sources whose reports are registered without an inspector's check: staff took them, or a
#: machine measured them. Residents' own reports are checked on site first.
TRUSTED = frozenset({Source.HOTLINE, Source.INSPECTOR, Source.SENSOR, Source.CAMERA, Source.RATING})


class Level(StrEnum):
    """Which operation centre answers for the case now (escalation moves it up)."""

    TOWNSHIP = "township"
    DISTRICT = "district"
    CITY = "city"


class Shift(StrEnum):
    """When a unit's crews are out (urgent cases count clock hours, so an urgent case needs a unit on shift)."""

    ROUND_THE_CLOCK = "round_the_clock"  # 24 小时值守: crews on every hour
    DAY = "day"  # 07:00–19:00 every day (street cleansing, enforcement patrols)
    OFFICE = "office"  # working hours of the platform's calendar (09:00–17:00 on working days)


class Unit(Base):
    """A disposal unit: one department's unit in one township or district, an agency of its own.

    ``crews`` is how many cases it works at once (None: not declared, no limit is assumed);
    ``shift`` when its crews are out. Dispatch weighs both (:func:`onecity.ops.units.choose`).
    """

    __tablename__ = "ops_units"
    __table_args__ = (UniqueConstraint("department", "division_code"),)

    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    department: Mapped[str] = mapped_column(String(30))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    level: Mapped[str] = mapped_column(String(10))
    crews: Mapped[int | None] = mapped_column(Integer)
    shift: Mapped[str] = mapped_column(
        String(16), default=Shift.ROUND_THE_CLOCK.value, server_default="round_the_clock"
    )


class Case(IdMixin, TimestampMixin, DivisionScopedMixin, Base):
    __tablename__ = "ops_cases"
    __table_args__ = (
        Index("ix_ops_cases_dedupe", "subtype_code", "created_at"),
        # intake's duplicate check: a subtype's cases in a band of latitude (a few entries, not a day's)
        Index("ix_ops_cases_near", "subtype_code", "lat"),
        Index("ix_ops_cases_created_at", "created_at"),  # Open311's date window, newest first
    )

    subtype_code: Mapped[str] = mapped_column(String(6))
    major_code: Mapped[str] = mapped_column(String(4), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    urgency: Mapped[str] = mapped_column(String(8))
    status: Mapped[Status] = mapped_column(String(12), index=True)
    source: Mapped[Source] = mapped_column(String(12), index=True)
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(200))
    media_url: Mapped[str | None] = mapped_column(String(500))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str] = mapped_column(String(15))
    township_code: Mapped[str] = mapped_column(String(12), index=True)
    district_code: Mapped[str] = mapped_column(String(12), index=True)
    component_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("components.id"), index=True)
    #: The department responsible (from the subtype; a dispute's resolution may change it).
    department: Mapped[str] = mapped_column(String(30))
    unit_agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    level: Mapped[Level] = mapped_column(String(10), default=Level.TOWNSHIP)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    #: The timed step under way, when it started and falls due (None once closed or while suspended).
    step: Mapped[str | None] = mapped_column(String(10))
    step_started_at: Mapped[datetime | None]
    step_due_at: Mapped[datetime | None]
    #: When the reminder for the current step is due (None once sent); see :mod:`onecity.ops.clocks`.
    remind_at: Mapped[datetime | None] = mapped_column(index=True)
    #: When the case next escalates a level if the step is still not done (None at the city level).
    escalate_at: Mapped[datetime | None] = mapped_column(index=True)
    #: When the early warning of the current step went out (at 80 % of its limit, half for an urgent
    #: case; None once a step starts).
    warned_at: Mapped[datetime | None]
    #: Times the case was moved to another unit of its department because its unit could not make the limit.
    redispatches: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Steps finished after their limit; a case is closed on time when this stays 0.
    late_steps: Mapped[int] = mapped_column(Integer, default=0)
    registered_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    dispose_due_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    evaluated_at: Mapped[datetime | None]
    dispatched_on_time: Mapped[bool | None] = mapped_column(Boolean)
    disposed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    closed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    report_count: Mapped[int] = mapped_column(Integer, default=1)
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    suspended_from: Mapped[str | None] = mapped_column(String(12))
    suspended_at: Mapped[datetime | None]
    suspend_reason: Mapped[str | None] = mapped_column(Text)
    result_note: Mapped[str | None] = mapped_column(Text)
    result_media_id: Mapped[str | None] = mapped_column(ForeignKey("ops_media.id"))
    score: Mapped[float | None] = mapped_column(Float)
    satisfaction: Mapped[int | None] = mapped_column(Integer)

    @property
    def number(self) -> str:
        """The case number people say on the phone, shaped like the services' (``20261205C951E128``).

        The day it was opened (Shanghai) and the first eight hex digits of its random id, so it needs
        no column; :func:`onecity.ops.service.get_case` finds a case by it as well as by its id.
        """
        return case_number(self.created_at, self.id)


def case_number(created_at: datetime | None, case_id: str) -> str:
    day = clock.local(created_at).strftime("%Y%m%d") if created_at is not None else ""
    return f"{day}{case_id[:8].upper()}"


#: A case number as :func:`case_number` writes it.
CASE_NUMBER = re.compile(r"^(\d{8})([0-9A-Fa-f]{8})$")


class Report(IdMixin, Base):
    """One report of a problem; several reports of the same problem share one case."""

    __tablename__ = "ops_reports"

    case_id: Mapped[str] = mapped_column(ForeignKey("ops_cases.id"), index=True)
    source: Mapped[Source] = mapped_column(String(12))
    reporter: Mapped[str] = mapped_column(String(120))
    #: Personal data of a resident who left their name and number; reading it is audited.
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    subtype_code: Mapped[str] = mapped_column(String(6))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    media_url: Mapped[str | None] = mapped_column(String(500))
    #: The originating record elsewhere (alert id, rating id, camera detection id, partner app id).
    external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class StepRecord(Base):
    """The case's timeline: every transition, reminder and escalation, with who and why."""

    __tablename__ = "ops_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("ops_cases.id"), index=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    unit_agency_id: Mapped[str | None] = mapped_column(String(36))
    media_id: Mapped[str | None] = mapped_column(String(36))


class Media(IdMixin, Base):
    """A photo taken on site (an inspector's report, a unit's proof of disposal)."""

    __tablename__ = "ops_media"

    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(120))
    division_code: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime]
