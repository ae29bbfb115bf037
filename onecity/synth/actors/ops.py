"""Urban operations in the simulated city: reports at Shanghai's rates, worked by people with limited time.

Rates (per year at scale 1; multiplied by ``--scale``):

* the 12345 hotline: 9 million requests (Shanghai 12345 citizen service hotline, 2023); every
  one is treated as a city-management report here, which overstates the share of hotline
  calls that become street-level cases (many are enquiries) — an assumption on the heavy side;
* grid inspectors' own discoveries: 4 million (an assumption, of the order of Shanghai's grid
  system's published annual totals);
* residents' apps through Open311: 600,000; camera detections: 1,000,000 (assumptions).

Sensor alerts and bad service ratings arrive through the other parts' events and are worked
like the rest. Each report is of a *true* problem the simulator keeps (its true subtype, place
and whether it repeats one already reported); 15 % of reports repeat an existing problem within
20 m, and call-takers pick a wrong type 3 % of the time (inspectors 1 %), which sends the case
to the wrong department until the unit disputes it (90 % of misroutes are caught) and the
level above re-dispatches it by the ground truth.

People: each township's inspectors patrol 07:00–21:00 every day and make a limited number of
on-site checks an hour (60 at scale 1, at least 2; urgent checks go first); disposal units work normal
cases in working hours and urgent ones at any hour, each with a number of crews (20 a
township unit, 60 a district bureau at scale 1, at least 2); a case waits for a free crew.
Work takes a lognormal time with its median at 30 % of the subtype's limit (about 1 % run past
it unaided); a unit that gets the early warning while its crew cannot finish in time sends a second
crew if it has a free one (for an urgent case one taken off a normal job, else lent by a unit of the
department nearby), halving the work left, and works a normal case behind its limit overtime; an urgent
case takes a crew off a normal job rather than wait behind it. A step whose warning is out or whose limit
is two turns away is done first and at once, by inspectors, units and centres alike. People's delays
count from when the platform told them (the case sent, the result reported), not from the actor's
next look. Urgent cases are checked by the duty inspector at any hour. All of it goes through the
service functions as staff principals, so every step is audited and timed like a
real one.
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.divisions import MUNICIPALITY_CODE, Division, DivisionLevel, scope_prefix
from onecity.core.errors import DomainError
from onecity.core.identity.principal import Principal, system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.geography.index import grid_index
from onecity.hub.registries.models import Person
from onecity.ops import clocks, service, worktime
from onecity.ops.models import Case, Report, Status, StepRecord, Unit
from onecity.ops.taxonomy import Step, Urgency, taxonomy
from onecity.ops.units import install_units, set_capacity

log = logging.getLogger(__name__)

YEAR_HOURS = 365.0 * 24
RATES_PER_YEAR = {"hotline": 9_000_000, "inspector": 4_000_000, "open311": 600_000, "camera": 1_000_000}
#: Share of the hotline's calls by hour of day (Shanghai time): quiet at night, busy 9–11 and 14–16.
HOURLY = np.array(
    [
        0.6,
        0.4,
        0.3,
        0.3,
        0.3,
        0.5,
        1.2,
        2.5,
        4.5,
        6.5,
        7.0,
        6.5,
        5.0,
        5.5,
        6.5,
        6.8,
        6.3,
        5.5,
        4.8,
        4.5,
        4.0,
        3.2,
        2.2,
        1.2,
    ]
)
HOURLY = HOURLY / HOURLY.mean()
DUPLICATE_SHARE = 0.15
MISCLASSIFY = {"hotline": 0.03, "open311": 0.03, "inspector": 0.01, "camera": 0.0}
DISPUTE_CAUGHT = 0.9
NOT_A_CASE = 0.04  # residents' reports an inspector finds nothing for
REWORK_SHARE = 0.05
INSPECTOR_HOURS = (7, 21)
#: Disposal work takes a lognormal time: median this share of the limit, this spread (1 % run past it).
WORK_MEDIAN_SHARE, WORK_SIGMA = 0.3, 0.45
#: A result returned for rework takes this long to put right (median hours; the job's own median when shorter).
REWORK_MEDIAN_H = 0.5
#: Urgent cases wait this share of the usual time for a person to pick them up.
URGENT_DELAY_SHARE = 0.25
CREWS_AT_SCALE_1 = {"township": 20, "district": 60}
#: On-site checks (confirming a report, verifying a result) a township's inspectors make in an hour
#: at scale 1 (about 20 inspectors, 3 an hour each); at least 2.
CHECKS_PER_HOUR_AT_SCALE_1 = 60
#: Camera detections: what video analytics flags in the street.
CAMERA_SUBTYPES = ("E0101", "E0102", "E0401", "E0402", "E0403", "E0404", "E0201", "E0501")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@dataclass
class Truth:
    """What the simulator knows and the platform must work out."""

    subtype: str
    department: str
    lon: float
    lat: float
    at: datetime


def _staff(name: str, role: Role, division: str, agency_id: str | None = None) -> Principal:
    return Principal(
        kind=PrincipalKind.STAFF,
        id=f"sim:{name}",
        name=name,
        roles=frozenset({role}),
        agency_id=agency_id,
        division_code=division,
    )


HOTLINE = _staff("hotline", Role.DISPATCHER, MUNICIPALITY_CODE)
APP = Principal(
    kind=PrincipalKind.SYSTEM,
    id="sim:311-app",
    name="sim:311-app",
    division_code=MUNICIPALITY_CODE,
    scopes=frozenset({"open311"}),
)
CAMERAS = Principal(
    kind=PrincipalKind.SYSTEM,
    id="sim:cameras",
    name="sim:cameras",
    division_code=MUNICIPALITY_CODE,
    scopes=frozenset({"sensing"}),
)
INSTALLER = system_principal("sim:ops-install")


@dataclass
class OpsActor:
    scale: float
    #: Only this division (tests and demos of one district); the whole city by default.
    within: str = MUNICIPALITY_CODE
    name: str = "operations"
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("reports", "true_duplicates", "duplicates_merged", "misclassified", "refused", "reinforced"), 0
        )
    )
    by_source: dict[str, int] = field(default_factory=dict)
    truth: dict[str, Truth] = field(default_factory=dict)  # case id -> the problem it is about
    problems: list[Truth] = field(default_factory=list)
    ready: dict[tuple[str, str], datetime] = field(default_factory=dict)
    work_left: dict[str, float] = field(default_factory=dict)
    credit: dict[str, float] = field(default_factory=dict)
    credit_at: dict[str, datetime] = field(default_factory=dict)
    #: Cases a unit put a second crew on after the early warning (case id -> the unit).
    reinforced: dict[str, str] = field(default_factory=dict)
    #: Normal jobs whose crew was taken off for an urgent case (normal case id -> the urgent case): the
    #: job waits until the urgent one is reported back.
    diverted: dict[str, str] = field(default_factory=dict)
    #: Normal cases behind their limit after the early warning, worked outside working hours too.
    overtime: set[str] = field(default_factory=set)
    _db: Database | None = field(default=None, init=False)
    _started: datetime | None = field(default=None, init=False)
    _communities: list[str] = field(default_factory=list, init=False)
    _weights: np.ndarray | None = field(default=None, init=False)
    _units: dict[str, Unit] = field(default_factory=dict, init=False)
    _subtypes: list[str] = field(default_factory=list, init=False)
    _photo: str | None = field(default=None, init=False)

    # -- setup -------------------------------------------------------------------------------

    def _setup(self, db: Database, start: datetime) -> None:
        self._db, self._started = db, start
        with db.transaction() as session:
            install_units(session, INSTALLER, within=None if self.within == MUNICIPALITY_CODE else self.within)
            # the centres declare each unit's crews (dispatch weighs them); a unit declared before is left alone
            centre = _staff("centre-city", Role.OPERATOR, MUNICIPALITY_CODE)
            for unit in session.scalars(select(Unit).where(Unit.crews.is_(None)).order_by(Unit.agency_id)):
                set_capacity(session, centre, unit.agency_id, crews=self._crews(unit))
        with db.sessions() as session:
            rows = session.execute(
                select(Person.division_code, func.count())
                .group_by(Person.division_code)
                .order_by(Person.division_code)  # drawn from by the run's generator: a fixed order
            ).all()
            self._units = {u.agency_id: u for u in session.scalars(select(Unit))}
            known = {c for c in session.scalars(select(Division.code).where(Division.level == DivisionLevel.COMMUNITY))}
        prefix = scope_prefix(self.within)
        rows = [r for r in rows if r[0] in known and r[0].startswith(prefix)]
        if rows:
            self._communities = [r[0] for r in rows]
            w = np.array([r[1] for r in rows], dtype=float)
            self._weights = w / w.sum()
        self._subtypes = [c for c in taxonomy().subtypes if c.startswith("E")]

    def _point(self, db: Database, rng: np.random.Generator) -> tuple[float, float]:
        """Where a new problem is: where people live (by the population register), else anywhere in the city."""
        index = grid_index(db)
        if self._communities and self._weights is not None:
            code = self._communities[int(rng.choice(len(self._communities), p=self._weights))]
            try:
                lonlat, _ = index.random_points_in(code, 1, rng)
                return float(lonlat[0, 0]), float(lonlat[0, 1])
            except DomainError:
                pass
        lonlat, _ = index.random_points_in(self.within, 1, rng)
        return float(lonlat[0, 0]), float(lonlat[0, 1])

    # -- the step ----------------------------------------------------------------------------

    def step(self, db: Database, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        if self._db is None:
            self._setup(db, start)
        hours = (end - start).total_seconds() / 3600
        hour = clock.local(start).hour
        for source, per_year in RATES_PER_YEAR.items():
            rate = per_year * self.scale * hours / YEAR_HOURS
            if source == "hotline" or source == "open311":
                rate *= HOURLY[hour]
            elif source == "inspector":
                lo, hi = INSPECTOR_HOURS
                rate = rate * 24 / (hi - lo) if lo <= hour < hi else 0.0
            for _ in range(int(rng.poisson(rate))):
                self._report(db, source, rng)
        self._work(db, start, end, rng)
        clocks.sweep(db)

    def _report(self, db: Database, source: str, rng: np.random.Generator) -> None:
        tax = taxonomy()
        now = clock.now()
        recent = [p for p in self.problems[-500:] if now - p.at < timedelta(hours=24)]
        duplicate = bool(recent) and rng.random() < DUPLICATE_SHARE
        if duplicate:
            p = recent[int(rng.integers(len(recent)))]
            d, bearing = rng.uniform(0, 20), rng.uniform(0, 2 * math.pi)
            lon = p.lon + d * math.cos(bearing) / (111_320 * math.cos(math.radians(p.lat)))
            lat = p.lat + d * math.sin(bearing) / 111_320
            truth = p
        else:
            lon, lat = self._point(db, rng)
            pool = CAMERA_SUBTYPES if source == "camera" else self._subtypes
            code = pool[int(rng.integers(len(pool)))]
            truth = Truth(code, tax.subtypes[code].department, lon, lat, now)
        reported = truth.subtype
        if rng.random() < MISCLASSIFY[source]:
            others = [c for c in self._subtypes if tax.subtypes[c].department != truth.department]
            reported = others[int(rng.integers(len(others)))]
            self.counts["misclassified"] += 1
        principal = {"hotline": HOTLINE, "open311": APP, "camera": CAMERAS}.get(source)
        if principal is None:
            loc = grid_index(db).locate_one(lon, lat)
            if loc is None:
                return
            principal = _staff(f"inspector-{loc.township}", Role.INSPECTOR, loc.township)
        try:
            with db.transaction() as session:
                got = service.intake(
                    session,
                    principal,
                    source=source,
                    subtype_code=reported,
                    lon=lon,
                    lat=lat,
                    description=f"{tax.subtypes[reported].name}（模拟）",
                    contact="138" + "".join(str(int(x)) for x in rng.integers(0, 10, 8))
                    if source in ("hotline", "open311")
                    else None,
                )
                case_id, merged = got.case.id, got.duplicate
        except DomainError as err:
            log.debug("simulated %s report refused: %s", source, err.detail)
            self.counts["refused"] += 1
            return
        self.counts["reports"] += 1
        self.by_source[source] = self.by_source.get(source, 0) + 1
        self.counts["true_duplicates"] += int(duplicate)
        self.counts["duplicates_merged"] += int(merged)
        if not duplicate:
            self.problems.append(truth)
        self.truth.setdefault(case_id, truth)

    # -- people at work ----------------------------------------------------------------------

    def _after(
        self,
        key: tuple[str, str],
        now: datetime,
        rng: np.random.Generator,
        median_h: float,
        urgent: bool = False,
        since: datetime | None = None,
    ) -> bool:
        """Whether the person who does ``key`` has got to it yet (a lognormal delay from when they learnt
        of it, ``since``, else from first sight; urgent cases are picked up first, in a fraction of the time)."""
        due = self.ready.get(key)
        if due is None:
            median_h = median_h * URGENT_DELAY_SHARE if urgent else median_h
            due = (since or now) + timedelta(hours=float(rng.lognormal(math.log(median_h), 0.5)))
            self.ready[key] = due
        return now >= due

    @staticmethod
    def _told(at: datetime | None, now: datetime, tick: timedelta) -> datetime | None:
        """When the person learnt of a step that started ``at``: then, if that was after this actor's last
        turn (the platform tells the unit or the inspector at once; a case an actor stepping after this one
        opened, such as a traffic incident, is not news a whole tick late), else None (first sight)."""
        return at if at is not None and now - tick <= at <= now else None

    def _check_credit(self, township: str, now: datetime, rate: float) -> float:
        """Checks the township's inspectors can still make: ``rate`` an hour accrue, at most an hour's worth."""
        bank = max(1.0, rate)
        last = self.credit_at.get(township)
        earned = bank if last is None else rate * (now - last).total_seconds() / 3600
        self.credit[township] = min(bank, self.credit.get(township, 0.0) + earned)
        self.credit_at[township] = now
        return self.credit[township]

    def _crews(self, unit: Unit) -> int:
        """The crews a unit has at this scale (declared to the platform at setup; the platform's figure wins)."""
        return unit.crews or max(2, round(CREWS_AT_SCALE_1.get(unit.level, 20) * self.scale))

    def _act(self, db: Database, fn: Any, principal: Principal, case_id: str, **kw: Any) -> bool:
        try:
            with db.transaction() as session:
                fn(session, principal, case_id, **kw)
            return True
        except DomainError as err:
            log.debug("simulated %s on %s refused: %s", fn.__name__, case_id, err.detail)
            self.counts["refused"] += 1
            return False

    def _unit_staff(self, unit_id: str) -> Principal:
        unit = self._units[unit_id]
        return _staff(f"unit-{unit_id[:8]}", Role.OPERATOR, unit.division_code, agency_id=unit_id)

    def _work(self, db: Database, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        now = clock.now()
        tick = end - start
        hours = tick.total_seconds() / 3600
        patrol = INSPECTOR_HOURS[0] <= clock.local(now).hour < INSPECTOR_HOURS[1]
        with db.sessions() as session:
            cases = list(
                session.scalars(
                    select(Case).where(
                        Case.status.in_(
                            (
                                Status.COLLECTED,
                                Status.DISPATCHED,
                                Status.DISPOSING,
                                Status.REPORTED,
                                Status.VERIFIED,
                                Status.CLOSED,
                                Status.DISPUTED,
                            )
                        )
                    )
                )
            )
        busy: dict[str, int] = {}
        rate = max(2.0, CHECKS_PER_HOUR_AT_SCALE_1 * self.scale)  # on-site checks an hour, per township
        disposing = {c.id for c in cases if c.status == Status.DISPOSING}
        for c in cases:
            if self.diverted.get(c.id) in disposing:
                continue  # its crew is counted on the urgent case it was taken off for
            if c.status == Status.DISPOSING and c.unit_agency_id:
                # a case a second crew was put on holds both crews (its own unit's or a neighbour's) until reported
                busy[c.unit_agency_id] = busy.get(c.unit_agency_id, 0) + 1
                helper = self.reinforced.get(c.id)
                if helper is not None:
                    busy[helper] = busy.get(helper, 0) + 1
        if self._photo is None:
            with db.transaction() as session:
                self._photo = service.store_media(session, INSTALLER, PNG).id
        for c in sorted(cases, key=lambda c: (c.step_due_at or now, c.id)):
            key = (c.id, str(c.status))
            township = c.township_code
            urgent = c.urgency == Urgency.URGENT.value
            on_duty = patrol or urgent  # urgent cases: the duty inspector, any hour
            pressing = self._pressing(c, now, tick)
            # an on-site check needs a free inspector (urgent checks, and a check whose limit is near, go first)
            free = (
                on_duty
                and c.status in (Status.COLLECTED, Status.REPORTED)
                and (urgent or pressing or self._check_credit(township, now, rate) >= 1)
            )
            told = self._told(c.step_started_at, now, tick)
            if c.status == Status.COLLECTED and free and (pressing or self._after(key, now, rng, 0.4, urgent, told)):
                self.credit[township] = self.credit.get(township, 0.0) - 1
                inspector = _staff(f"inspector-{township}", Role.INSPECTOR, township)
                if rng.random() < NOT_A_CASE:
                    self._act(db, service.reject_case, inspector, c.id, reason="现场未发现问题（模拟）")
                else:
                    self._act(db, service.register_case, inspector, c.id)
            elif c.status == Status.DISPATCHED and c.unit_agency_id in self._units:
                unit = self._units[c.unit_agency_id]
                truth = self.truth.get(c.id)
                staff = self._unit_staff(unit.agency_id)
                # each unit a case is sent to (a re-dispatch moves it) takes its own time to get to it
                sent = self._told(c.dispatched_at, now, tick) if c.redispatches == 0 else None
                picked = pressing or self._after((c.id, f"dispatched:{unit.agency_id}"), now, rng, 0.25, urgent, sent)
                if not picked:
                    continue
                if truth is not None and truth.department != unit.department and rng.random() < DISPUTE_CAUGHT:
                    self._act(db, service.dispute_case, staff, c.id, reason="不属本单位职责（模拟）")
                    continue
                full = busy.get(unit.agency_id, 0) >= self._crews(unit)
                # an urgent case does not queue behind normal work, nor a warned one behind work due later:
                # a crew is taken off such a normal job for it
                taken_off = (
                    self._divert(unit.agency_id, c.id, cases, None if urgent else c.step_due_at)
                    if full and (urgent or pressing)
                    else None
                )
                if (not full or taken_off) and self._act(db, service.accept_case, staff, c.id):
                    busy[unit.agency_id] = busy.get(unit.agency_id, 0) + (0 if taken_off else 1)
                    limit = taxonomy().subtype(c.subtype_code).limit(Step.DISPOSE, Urgency(c.urgency))
                    self.work_left[c.id] = float(rng.lognormal(math.log(WORK_MEDIAN_SHARE * limit), WORK_SIGMA))
                elif taken_off:
                    self.diverted.pop(taken_off, None)  # not taken on after all: the crew stays on its job
            elif c.status == Status.DISPOSING and c.unit_agency_id in self._units:
                if c.id in self.diverted and self.diverted[c.id] in disposing:
                    continue  # its crew is on an urgent case
                self.diverted.pop(c.id, None)
                overtime = self._reinforce(c, now, busy, cases)
                if urgent or overtime or worktime.is_working_time(now):
                    left = self.work_left.get(c.id, 1.0) - hours
                    self.work_left[c.id] = left
                    if left <= 0:
                        self.overtime.discard(c.id)
                        self._act(
                            db,
                            service.report_back,
                            self._unit_staff(c.unit_agency_id),
                            c.id,
                            media_id=self._photo,
                            note="处置完毕（模拟）",
                        )
            elif c.status == Status.REPORTED and free and (pressing or self._after(key, now, rng, 0.5, urgent, told)):
                self.credit[township] = self.credit.get(township, 0.0) - 1
                inspector = _staff(f"inspector-{township}", Role.INSPECTOR, township)
                truth = self.truth.get(c.id)
                if truth is not None and truth.department != c.department:
                    # on site the inspector sees the problem is another type's: back to the right department
                    self._act(
                        db,
                        service.verify_case,
                        inspector,
                        c.id,
                        ok=False,
                        subtype_code=truth.subtype,
                        note="现场问题类型不符，改派（模拟）",
                    )
                    continue
                ok = rng.random() >= REWORK_SHARE
                note = None if ok else "仍未整改到位（模拟）"
                if self._act(db, service.verify_case, inspector, c.id, ok=ok, note=note) and not ok:
                    # finishing what was left undone: half an hour, or the job's own median when shorter
                    # (half an hour is half a one-hour urgent limit: one such rework in twelve ran late)
                    limit = taxonomy().subtype(c.subtype_code).limit(Step.DISPOSE, Urgency(c.urgency))
                    median = min(REWORK_MEDIAN_H, WORK_MEDIAN_SHARE * limit)
                    self.work_left[c.id] = float(rng.lognormal(math.log(median), 0.5))
            elif c.status == Status.VERIFIED and (pressing or self._after(key, now, rng, 0.3, urgent, told)):
                self._act(db, service.close_case, _staff(f"centre-{township}", Role.OPERATOR, township), c.id)
            elif c.status == Status.CLOSED:
                self._act(
                    db,
                    service.evaluate_case,
                    _staff(f"centre-{township}", Role.OPERATOR, township),
                    c.id,
                    satisfaction=int(rng.choice([3, 4, 5, 5, 5])),
                )
            elif c.status == Status.DISPUTED and self._after(key, now, rng, 1.0):
                disputed_unit = self._units.get(c.unit_agency_id or "")
                truth = self.truth.get(c.id)
                dept = truth.department if truth else c.department
                above = (
                    _staff(f"centre-{c.district_code}", Role.OPERATOR, c.district_code)
                    if disputed_unit is None or disputed_unit.level == "township"
                    else _staff("centre-city", Role.OPERATOR, MUNICIPALITY_CODE)
                )
                self._act(db, service.resolve_dispute, above, c.id, department=dept)

    @staticmethod
    def _pressing(c: Case, now: datetime, tick: timedelta) -> bool:
        """Whether the step's limit is near: the platform's early warning is out, or the limit falls within
        the next two turns. The person watching the queue does such a step first and at once, whatever
        else waits (an inspector's rounds, a unit's usual time to pick a case up, the centre's)."""
        if c.step_due_at is None:
            return False
        return c.warned_at is not None or c.step_due_at - now <= 2 * tick

    def _neighbour(self, unit_id: str, busy: dict[str, int]) -> str | None:
        """A unit of the same department with a free crew to lend (支援) for an urgent case: one of the same
        district first, else any; None when every one is busy."""
        unit = self._units[unit_id]
        district = unit.division_code[:6]
        free = [
            u
            for u in self._units.values()
            if u.agency_id != unit_id and u.department == unit.department and busy.get(u.agency_id, 0) < self._crews(u)
        ]
        if not free:
            return None
        return min(free, key=lambda u: (u.division_code[:6] != district, u.division_code, u.agency_id)).agency_id

    def _divert(
        self, unit_id: str, urgent_id: str, cases: Sequence[Case], later_than: datetime | None = None
    ) -> str | None:
        """Take a crew off the unit's normal job with the most time left for the case ``urgent_id`` (an urgent
        one, or a normal one behind its limit: then only off a job due ``later_than`` it); the job waits until
        that case is reported back (:attr:`diverted`). None when no job can spare its crew."""
        normal = [
            c
            for c in cases
            if c.status == Status.DISPOSING
            and c.unit_agency_id == unit_id
            and c.urgency != Urgency.URGENT.value
            and c.id not in self.diverted
            and c.warned_at is None
            and c.id != urgent_id
            and (later_than is None or (c.step_due_at is not None and c.step_due_at > later_than))
        ]
        if not normal:
            return None
        job = max(normal, key=lambda c: (c.step_due_at or c.updated_at, c.id))
        self.diverted[job.id] = urgent_id
        return job.id

    def _reinforce(self, c: Case, now: datetime, busy: dict[str, int], cases: Sequence[Case] = ()) -> bool:
        """The unit answers the early warning (临期预警) on its desk when the crew on site cannot finish
        before the deadline: it sends a second crew if it has a free one, which halves the work left; when
        none is free it takes one off a normal job due later, and for an urgent case borrows one from a
        unit of the department nearby (a road incident's second crew) when no job can spare one; a normal
        case's crew also works on outside working hours (overtime) until it is done. True while the case
        is worked overtime."""
        unit_id = c.unit_agency_id
        if c.warned_at is None or c.step_due_at is None or unit_id is None or c.id in self.reinforced:
            return c.id in self.overtime
        urgent = c.urgency == Urgency.URGENT.value
        left = self.work_left.get(c.id, 1.0)
        if urgent:
            time_left = (c.step_due_at - now).total_seconds() / 3600
        else:
            time_left = worktime.working_hours_between(now, c.step_due_at)
        if left <= time_left:
            return c.id in self.overtime
        if not urgent:
            self.overtime.add(c.id)
        helper: str | None = unit_id
        if busy.get(unit_id, 0) < self._crews(self._units[unit_id]):
            busy[unit_id] = busy.get(unit_id, 0) + 1
        elif self._divert(unit_id, c.id, cases, None if urgent else c.step_due_at) is None:
            helper = self._neighbour(unit_id, busy) if urgent else None
            if helper is not None:
                busy[helper] = busy.get(helper, 0) + 1
        if helper is not None:
            self.reinforced[c.id] = helper
            self.work_left[c.id] = left / 2
            self.counts["reinforced"] += 1
        return c.id in self.overtime

    # -- the report --------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "events": 0,
            "by_source": {},
            "duplicates_merged": 0,
            "dispatched": 0,
            "misrouted": 0,
            "closed": 0,
            "closed_on_time_rate": None,
            "rejected": 0,
            "escalated": 0,
            "warned": 0,
            "redispatched": 0,
            "median_hours_to_close": None,
        }
        if self._db is None or self._started is None:
            return out
        since = self._started
        with self._db.sessions() as session:
            by_source = dict(
                session.execute(
                    select(Report.source, func.count()).where(Report.created_at >= since).group_by(Report.source)
                ).all()
            )
            merged = (
                session.scalar(
                    select(func.count())
                    .select_from(Report)
                    .where(Report.created_at >= since, Report.duplicate.is_(True))
                )
                or 0
            )
            warned = (
                session.scalar(
                    select(func.count(func.distinct(StepRecord.case_id))).where(
                        StepRecord.at >= since, StepRecord.action == "reminded"
                    )
                )
                or 0
            )
            cases = list(
                session.execute(
                    select(
                        Case.id,
                        Case.status,
                        Case.dispatched_at,
                        Case.escalations,
                        Case.redispatches,
                    ).where(Case.created_at >= since)
                ).all()
            )
            done = closed_cases(session, since)
        hours = sorted((c.closed_at - c.created_at).total_seconds() / 3600 for c in done)
        misrouted = sum(1 for c in done if c.id in self.truth and self.truth[c.id].department != c.department)
        out.update(
            {
                "events": int(sum(by_source.values())),
                "by_source": {str(k): int(v) for k, v in sorted(by_source.items())},
                "duplicates_merged": int(merged),
                "dispatched": sum(1 for c in cases if c.dispatched_at is not None),
                "misrouted": misrouted,
                "closed": len(done),
                "closed_on_time_rate": on_time_rate(done),
                "rejected": sum(1 for c in cases if c.status == Status.REJECTED),
                "escalated": sum(1 for c in cases if c.escalations > 0),
                "warned": int(warned),
                "redispatched": sum(1 for c in cases if c.redispatches > 0),
                "median_hours_to_close": round(float(np.median(hours)), 2) if hours else None,
                "open_at_end": sum(
                    1 for c in cases if c.status not in (Status.CLOSED, Status.EVALUATED, Status.REJECTED)
                ),
                "ground_truth": {
                    "reports_by_simulator": self.counts["reports"],
                    "true_duplicates": self.counts["true_duplicates"],
                    "duplicates_detected": self.counts["duplicates_merged"],
                    "misclassified_at_intake": self.counts["misclassified"],
                    "refused_actions": self.counts["refused"],
                    "reinforced_after_warning": self.counts["reinforced"],
                },
            }
        )
        return out


#: What the run's figures count as a closed case: the centre closed it (结案), evaluated since or not.
#: A resident's report the inspector found nothing for is rejected (不予立案): it gets a ``closed_at``
#: but was never a case, ran no disposal limit and has no ``closed_on_time``; it is counted apart.
CLOSED = (Status.CLOSED, Status.EVALUATED)


@dataclass(frozen=True)
class Closed:
    """A case the figures count as closed (:func:`closed_cases`)."""

    id: str
    district_code: str
    department: str
    created_at: datetime
    closed_at: datetime
    closed_on_time: bool


def closed_cases(session: Session, since: datetime) -> list[Closed]:
    """The cases closed since ``since`` (see :data:`CLOSED`): the one definition of "closed" and "closed
    on time" behind both the operations section's ``closed_on_time_rate`` and the per-day and
    per-district figures of :func:`onecity.sim.breakdown.breakdown`."""
    rows = session.execute(
        select(Case.id, Case.district_code, Case.department, Case.created_at, Case.closed_at, Case.closed_on_time)
        .where(Case.status.in_(CLOSED), Case.closed_at.is_not(None), Case.closed_at >= since)
        .order_by(Case.closed_at, Case.id)
    )
    return [
        Closed(case_id, district, dept, created, closed, bool(on_time))
        for case_id, district, dept, created, closed, on_time in rows
        if closed is not None
    ]


def on_time_rate(closed: list[Closed]) -> float | None:
    """The share of ``closed`` (from :func:`closed_cases`) closed with no step past its limit."""
    return round(sum(1 for c in closed if c.closed_on_time) / len(closed), 4) if closed else None


def actors(scale: float) -> list[OpsActor]:
    return [OpsActor(scale)]
