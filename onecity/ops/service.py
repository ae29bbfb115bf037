"""The event loop: one intake for every source, then one function per transition.

::

    collected ──register──▶ registered ──dispatch──▶ dispatched ──accept──▶ disposing ──report_back──▶ reported
        │                       │  ▲                     │                      ▲                         │
        └──reject──▶ rejected   │  └──resolve_dispute── disputed ◀──dispute──┘  └──verify(ok=False): rework─┤
                                │                                                                          ▼
                    suspend ◀───┴── (registered, dispatched, disposing) ── resume        verified ◀──verify(ok)
                                                                                              │
                                                              evaluated ◀──evaluate── closed ◀┘ close

Every transition runs the platform's sequence through :mod:`onecity.core.transition`: check
the policy → lock the case row → check its area (or unit) → check its state → save → a
timeline step → the audit entry from/to → the outbox event (delivered after commit), all in
the caller's transaction.

Registration dispatches at once by the routing rule (智能派单: the subtype's department,
that department's unit for the case's township or district), as the principal
``ops:router``; a dispatcher only steps in when the rule cannot decide (no unit) and the
level above resolves a unit's dispute by choosing the right department.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import orjson
from sqlalchemy import Insert, Table, bindparam, func, insert, select
from sqlalchemy.orm import Session, class_mapper, make_transient_to_detached

from onecity.core import audit, clock, events, policy, transition
from onecity.core.db import DriverStatement, new_id, table_of
from onecity.core.divisions import DivisionLevel, contains, level_of
from onecity.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from onecity.core.identity.principal import Principal, system_principal
from onecity.core.identity.roles import PrincipalKind, Role, Scope
from onecity.core.transition import Change
from onecity.hub.geography.index import Location, grid_index
from onecity.hub.registries.models import Component
from onecity.ops import worktime
from onecity.ops.events import EVENTS, CaseChanged
from onecity.ops.models import CASE_NUMBER, OPEN, TRUSTED, Case, Level, Media, Report, Source, Status, StepRecord, Unit
from onecity.ops.taxonomy import Step, Subtype, UnitLevel, Urgency, taxonomy
from onecity.ops.units import Choice, can_take, choose, has_room, loads, queue

R = Role
policy.register_actions(
    {
        "ops.case.report": frozenset({R.DISPATCHER, R.INSPECTOR, R.OPERATOR}),
        "ops.case.read": frozenset({R.DISPATCHER, R.INSPECTOR, R.OPERATOR, R.AUDITOR}),
        "ops.case.register": frozenset({R.INSPECTOR, R.OPERATOR, R.DISPATCHER}),
        "ops.case.dispatch": frozenset({R.DISPATCHER, R.OPERATOR}),
        "ops.case.dispose": frozenset({R.OPERATOR, R.INSPECTOR}),
        "ops.case.verify": frozenset({R.INSPECTOR}),
        "ops.case.close": frozenset({R.OPERATOR, R.DISPATCHER}),
        "ops.case.evaluate": frozenset({R.OPERATOR, R.DISPATCHER}),
        "ops.case.suspend": frozenset({R.OPERATOR}),
        "ops.case.resolve": frozenset({R.OPERATOR, R.DISPATCHER}),
        "ops.reporter.read": frozenset({R.DISPATCHER, R.OPERATOR}),
        "ops.media.upload": frozenset({R.INSPECTOR, R.OPERATOR, R.DISPATCHER}),
    }
)

RESOURCE = "ops.case"
ROUTER = system_principal("ops:router")
#: Two reports of the same subtype this close, this soon, are one problem (the issue's rule).
DUPLICATE_METRES = 50.0
DUPLICATE_WINDOW = timedelta(hours=24)
#: Alerts of one sensing rule in one township this soon after an open case from that rule are one event
#: seen by several sensors (a storm's water gauges, a crowd's counters, a network outage's silent
#: detectors): they join that case as reports instead of each opening one for the same unit.
SENSOR_EVENT_WINDOW = timedelta(hours=6)
#: The early warning (临期预警) goes out when this share of a step's time is used up: 80 % of a normal
#: case's working hours, half an urgent case's clock hours. At 80 % of a one-hour urgent limit the
#: warning left 12 minutes, less than a second crew needs to reach the place: it could only announce
#: the lateness, not prevent it.
REMIND_AT_SHARE = {Urgency.NORMAL: 0.8, Urgency.URGENT: 0.5}
#: A case still waiting for its unit after this share of its disposal time, while that unit has no free
#: crew on shift, moves to a neighbouring unit of the same department that has one (re-dispatch).
REDISPATCH_AT_SHARE = 0.25
#: How often one case may be moved for capacity (a case does not tour the district).
MAX_REDISPATCHES = 2
#: A result returned for rework gets at least this share of the subtype's disposal limit from the moment
#: it is returned (in the case's own clock: working hours for a normal case, clock hours for an urgent
#: one), or the original deadline when that is later. An urgent hazard still there after a failed fix
#: needs the urgent limit again (a gas leak found unfixed at its deadline gets another hour, not one
#: minute); a normal case keeps its deadline unless less than half its limit is left.
REWORK_LIMIT_SHARE = {Urgency.URGENT: 1.0, Urgency.NORMAL: 0.5}
#: A resident's urgent report skips the inspector's confirmation (快速通道): it is registered and dispatched
#: at once like a trusted source's. Its register limit (a quarter of an hour) is shorter than an
#: inspector's walk to the place; the on-site check still comes, when the result is verified. A city
#: that wants every resident's report confirmed first sets it to False.
URGENT_FAST_TRACK = True
MAX_TEXT = 2000
MAX_MEDIA_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"RIFF": "image/webp"}
URL_RE = re.compile(r"^https?://[^\s]{1,490}$")
EARTH_M = 6_371_008.8


@dataclass(frozen=True)
class Intake:
    case: Case
    report: Report
    #: True when the report joined an existing case (the reporter is told which).
    duplicate: bool


# -- helpers ---------------------------------------------------------------------------------


def locate(session: Session, lon: float, lat: float) -> Location:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidInput("lon and lat must be numbers (WGS 84 degrees)")
    if audit.at_a_time(session):  # the index's first build streams the grids: that needs a transaction
        with Session(session.get_bind()) as reader:
            index = grid_index(reader)
    else:
        index = grid_index(session)
    loc = index.locate_one(lon, lat)
    if loc is None:
        raise InvalidInput(
            f"the point ({lon:.6f}, {lat:.6f}) lies outside Shanghai's grids; "
            "give a WGS 84 longitude/latitude inside the city (e.g. 121.437, 31.188 in Xuhui)"
        )
    return loc


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(math.sqrt(a))


def _text(value: str | None, what: str, *, required: bool = True, limit: int = MAX_TEXT) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidInput(f"{what} is required: say in a few words what is wrong")
        return None
    if len(value) > limit:
        raise InvalidInput(f"{what} is {len(value)} characters; keep it to {limit}")
    return value


def _payload(case: Case, action: str) -> CaseChanged:
    return CaseChanged(
        case_id=case.id,
        action=action,
        status=str(case.status),
        subtype_code=case.subtype_code,
        department=case.department,
        unit_agency_id=case.unit_agency_id,
        division_code=case.division_code,
        township_code=case.township_code,
        district_code=case.district_code,
        level=str(case.level),
        source=str(case.source),
    )


CASES = transition.Machine(Case, object_type="ops_case", noun="ops.case.noun", states="ops.status.", label="case")

_ADD_STEP = insert(table_of(StepRecord))


def _insert_now(session: Session, row: Case | Report) -> None:
    """Write a new case or report at once, with one Core ``INSERT`` compiled once per table, and keep
    ``row`` in ``session`` as the persistent object of what was written.

    Intake writes a case and its report on every call; through the ORM's flush each costs the
    unit of work's sorting, per-column bookkeeping and a statement built for the columns set.
    Every column is given (its default if ``row`` left it unset), so the object holds exactly
    what the row holds and nothing is loaded again; later changes to it (registration, dispatch)
    are flushed as updates, as before.
    """
    session.connection().execute(_INSERTS[type(row)], _every_column(row))
    _keep(session, row)


def _every_column(row: Case | Report) -> dict[str, object]:
    """Every column of a new ``row`` (its default where it left one unset, set on ``row`` too), by column name."""
    mapper = class_mapper(type(row))
    values = row.__dict__
    params: dict[str, object] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in values:
            value = values[prop.key]
        elif column.default is not None and column.default.is_scalar:
            value = column.default.arg
        elif column.default is not None and column.default.is_callable:
            value = column.default.arg(None)
        else:
            value = None
        setattr(row, prop.key, value)
        params[column.key] = str(value) if isinstance(value, StrEnum) else value
    return params


def _keep(session: Session, row: Case | Report) -> None:
    """Keep a row just written in ``session`` as its persistent object (nothing loaded again)."""
    make_transient_to_detached(row)
    session.add(row)


_INSERTS: dict[type[Case | Report], Insert] = {Case: insert(table_of(Case)), Report: insert(table_of(Report))}


def _record(
    change: Change[Case],
    action: str,
    *,
    principal: Principal | None = None,
    note: str | None = None,
    media_id: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """The timeline step of one change, then its audit entry (from/to) and event."""
    case, who, session = change.row, principal or change.principal, change.session
    # The step is a row nobody changes: one Core INSERT (compiled once), not an ORM object for the
    # flush to sort and write. The case's own changes are flushed first (the step refers to it).
    session.flush()
    session.connection().execute(
        _ADD_STEP,
        {
            "case_id": case.id,
            "at": clock.now(),
            "action": action,
            "from_status": change.before,
            "to_status": str(case.status),
            "actor": who.ref,
            "note": note,
            "unit_agency_id": case.unit_agency_id,
            "media_id": media_id,
        },
    )
    change.done(
        f"ops.case.{action}",
        EVENTS[action],
        _payload(case, action),
        principal=who,
        reason=note or action,
        detail=detail,
    )


def _urgency(case: Case) -> Urgency:
    return Urgency(case.urgency)


def _subtype(case: Case) -> Subtype:
    return taxonomy().subtype(case.subtype_code)


def _start_step(case: Case, step: Step, at: datetime, due: datetime | None = None) -> None:
    """Start the clock of ``step``: its limit from the taxonomy, a reminder and the first escalation time."""
    urgency = _urgency(case)
    due = due or worktime.due(at, _subtype(case).limit(step, urgency), urgency)
    case.step, case.step_started_at, case.step_due_at, case.warned_at = step.value, at, due, None
    case.remind_at = worktime.share_of(at, due, REMIND_AT_SHARE[urgency], urgency) if due > at else None
    case.escalate_at = due if case.level != Level.CITY else None


def _finish_step(case: Case, at: datetime) -> bool:
    """Stop the clock; True when the step was done within its limit."""
    on_time = case.step_due_at is None or at <= case.step_due_at
    if not on_time:
        case.late_steps += 1
    case.step = case.step_started_at = case.step_due_at = case.remind_at = case.escalate_at = None
    return on_time


_in_area = transition.in_area(RESOURCE)


def _in_unit(session: Session, principal: Principal, case: Case) -> None:
    """Disposal actions belong to the staff of the unit the case was sent to."""
    if case.unit_agency_id is None or principal.agency_id != case.unit_agency_id:
        raise PermissionDenied(f"case {case.id} was sent to another unit; only that unit's staff dispose of it")


def _begin(
    session: Session,
    principal: Principal,
    case_id: str,
    action: str | None,
    *allowed: Status,
    doing: str,
    unit: bool = False,
) -> Change[Case]:
    """Policy → lock → area (or the unit's own staff) → state: a transition of one case, ready to make."""
    return transition.begin(
        session,
        principal,
        CASES,
        case_id,
        action=action,
        guard=_in_unit if unit else (_in_area if action is not None else None),
        allowed=allowed or None,
        missing=f"no case {case_id}",
        doing=doing,
    )


# -- intake ----------------------------------------------------------------------------------


_CHANNEL_SCOPES = {Source.OPEN311: Scope.OPEN311, Source.SENSOR: Scope.SENSING, Source.CAMERA: Scope.SENSING}


def _require_intake(session: Session, principal: Principal, source: Source) -> None:
    if not principal.is_authenticated:
        policy.require(principal, "ops.case.report")  # raises 401
    if principal.is_machine:
        return
    if principal.kind is PrincipalKind.SYSTEM:
        # an API key reports through the channel its scope names; no scope stands for all of them
        needed = _CHANNEL_SCOPES.get(source)
        if needed is None or needed.value not in principal.scopes:
            raise PermissionDenied(
                f"this API key may not report {source.value} cases"
                + (f"; it needs the {needed.value!r} scope" if needed else "")
            )
        return
    policy.require(principal, "ops.case.report")
    if source is Source.HOTLINE and not principal.has_role(R.DISPATCHER, R.OPERATOR):
        raise PermissionDenied("hotline work orders are taken by dispatchers (12345 call-takers)")
    if source is Source.INSPECTOR and not principal.has_role(R.INSPECTOR):
        raise PermissionDenied("inspector reports are made by grid inspectors")
    if source not in (Source.HOTLINE, Source.INSPECTOR):
        raise PermissionDenied(f"staff report through the hotline or on patrol, not as {source.value}")


def find_same_event(session: Session, subtype_code: str, township: str, event_key: str, at: datetime) -> Case | None:
    """The open sensor case of this subtype in ``township`` whose description starts with ``event_key``
    (its rule's name), opened within :data:`SENSOR_EVENT_WINDOW`; the oldest if several."""
    return session.scalar(
        select(Case)
        .where(
            Case.source == Source.SENSOR,
            Case.subtype_code == subtype_code,
            Case.township_code == township,
            Case.created_at >= at - SENSOR_EVENT_WINDOW,
            Case.status.in_(OPEN),
            Case.description.startswith(event_key, autoescape=True),
        )
        .order_by(Case.created_at, Case.id)
        .limit(1)
    )


def find_duplicate(
    session: Session, subtype_code: str, lon: float, lat: float, component_id: int | None, at: datetime
) -> Case | None:
    """An open case about the same component, or of the same subtype within 50 m and 24 h."""
    if component_id is not None:
        same = session.scalar(
            select(Case)
            .where(Case.component_id == component_id, Case.status.in_(OPEN))
            .order_by(Case.created_at)
            .limit(1)
        )
        if same is not None:
            return same
    dlat = DUPLICATE_METRES / 111_320.0
    dlon = DUPLICATE_METRES / (111_320.0 * max(math.cos(math.radians(lat)), 0.1))
    # The places only, through the session's connection (no ORM objects for the cases nearby, no
    # ORM statement compilation); ``ix_ops_cases_near`` narrows it to one subtype's band of latitude,
    # so it reads a handful of index entries however many cases the day holds. The connection does
    # not autoflush as Session.execute would: flush first, so a case opened earlier in the same
    # transaction is found too.
    if session.autoflush:
        session.flush()
    rows = session.connection().execute(
        _NEARBY,
        {
            "subtype": subtype_code,
            "since": at - DUPLICATE_WINDOW,
            "lat_lo": lat - dlat,
            "lat_hi": lat + dlat,
            "lon_lo": lon - dlon,
            "lon_hi": lon + dlon,
        },
    )
    best: tuple[float, str] | None = None
    for case_id, c_lon, c_lat in rows:
        d = distance_m(lon, lat, c_lon, c_lat)
        if d <= DUPLICATE_METRES and (best is None or d < best[0]):
            best = (d, case_id)
    return session.get(Case, best[1]) if best else None


#: The open cases of a subtype inside a box around a point, opened since a time, oldest first:
#: one statement, compiled once and prepared by the driver.
_NEARBY = (
    select(Case.id, Case.lon, Case.lat)
    .where(
        Case.subtype_code == bindparam("subtype"),
        Case.lat.between(bindparam("lat_lo"), bindparam("lat_hi")),
        Case.lon.between(bindparam("lon_lo"), bindparam("lon_hi")),
        Case.created_at >= bindparam("since"),
        Case.status.in_(OPEN),
    )
    .order_by(Case.created_at, Case.id)
)


def _open_statement() -> DriverStatement:
    """A new case with its report, its first timeline step, its audit entry and its event, in one
    statement that writes nothing when an open case of the same problem lies within 50 m (PostgreSQL).

    ``near`` is :func:`find_duplicate`'s check (the same box through ``ix_ops_cases_near``, the same
    great-circle distance as :func:`distance_m`, the nearest first, then the oldest); the four other
    rows are written from the case's ``INSERT … RETURNING``, so all five rows are written or none.
    Each row travels as one JSON parameter (``json_populate_record`` gives every column its type).
    The statement answers the near case's id (None when it opened one) and how many cases it opened.
    """

    def columns(table: Table, skip: tuple[str, ...] = ()) -> list[str]:
        return [c.name for c in table.c if c.name not in skip]

    def after(table: Table, param: str, skip: tuple[str, ...] = ()) -> str:
        names = columns(table, skip)
        picked = ", ".join("opened.id" if n == "case_id" else f"r.{n}" for n in names)
        return (
            f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {picked} "
            f"FROM opened, json_populate_record(NULL::{table.name}, %({param})s::json) AS r"
        )

    cases = table_of(Case)
    metres = (
        f"2 * {EARTH_M!r} * asin(sqrt(power(sin((radians(lat) - radians(%(lat)s)) / 2), 2)"
        " + cos(radians(%(lat)s)) * cos(radians(lat)) * power(sin(radians(lon - %(lon)s) / 2), 2)))"
    )
    open_ = ", ".join(f"'{s.value}'" for s in OPEN)
    case_columns = ", ".join(columns(cases))
    sql = f"""WITH near AS (SELECT id FROM (
SELECT id, created_at, {metres} AS metres FROM {cases.name} WHERE subtype_code = %(subtype)s
AND lat BETWEEN %(lat_lo)s AND %(lat_hi)s AND lon BETWEEN %(lon_lo)s AND %(lon_hi)s AND created_at >= %(since)s
AND status IN ({open_})) AS box WHERE metres <= {DUPLICATE_METRES!r} ORDER BY metres, created_at, id LIMIT 1),
opened AS (INSERT INTO {cases.name} ({case_columns}) SELECT {case_columns}
FROM json_populate_record(NULL::{cases.name}, %(case)s::json) WHERE NOT EXISTS (SELECT FROM near) RETURNING id),
report AS ({after(table_of(Report), "report")}),
step AS ({after(table_of(StepRecord), "step", skip=("id",))}),
entry AS ({after(table_of(audit.AuditEntry), "entry", skip=("seq", "pos", "prev_hash", "hash"))}),
event AS ({after(table_of(events.OutboxMessage), "event")})
SELECT (SELECT id FROM near), (SELECT count(*) FROM opened)"""
    return DriverStatement(sql)


_OPEN = _open_statement()


def _json(row: dict[str, object]) -> str:
    """A row as one JSON parameter (times with their zone, enumerations by value)."""
    return orjson.dumps(row).decode("utf-8")


def _open_at_once(
    session: Session, principal: Principal, case: Case, report: Report, *, note: str, detail: dict[str, object]
) -> Change[Case] | str:
    """Open ``case`` with ``report`` as one statement (:func:`_open_statement`): the change, or the id
    of the open case within 50 m that the report is about (then nothing was written)."""
    if session.autoflush:  # a case opened earlier in the same transaction is a duplicate too
        session.flush()
    lat, lon = case.lat, case.lon
    dlat = DUPLICATE_METRES / 111_320.0
    dlon = DUPLICATE_METRES / (111_320.0 * max(math.cos(math.radians(lat)), 0.1))
    change = Change(session, principal, CASES, case, None)
    step = {
        "at": clock.now(),
        "action": "collected",
        "from_status": None,
        "to_status": str(case.status),
        "actor": principal.ref,
        "note": note,
        "unit_agency_id": case.unit_agency_id,
        "media_id": None,
    }
    entry, message = change.as_rows(
        "ops.case.collected", EVENTS["collected"], _payload(case, "collected"), reason=note, detail=detail
    )
    params: dict[str, object] = {
        "subtype": case.subtype_code,
        "lat": lat,
        "lon": lon,
        "lat_lo": lat - dlat,
        "lat_hi": lat + dlat,
        "lon_lo": lon - dlon,
        "lon_hi": lon + dlon,
        "since": clock.now() - DUPLICATE_WINDOW,
        "case": _json(_every_column(case)),
        "report": _json(_every_column(report)),
        "step": _json(step),
        "entry": _json(entry),
        "event": _json(message),
    }
    row = _OPEN.first(session, params)
    assert row is not None  # one row, always
    near_id, count = row
    if near_id is not None:
        return str(near_id)
    assert count == 1
    _keep(session, case)
    _keep(session, report)
    events.written(session, (message["id"],))
    return change


def intake(
    session: Session,
    principal: Principal,
    *,
    source: str,
    subtype_code: str,
    description: str,
    lon: float | None = None,
    lat: float | None = None,
    address: str | None = None,
    reporter_name: str | None = None,
    contact: str | None = None,
    media_url: str | None = None,
    component_id: int | None = None,
    external_id: str | None = None,
    urgency: str | None = None,
    event_key: str | None = None,
) -> Intake:
    """The one door for every report, whatever its source: locate, deduplicate, open or join a case.

    A report from a trusted source (the hotline, an inspector, a sensor, a camera, a rating)
    is registered at once and dispatched by the routing rule; a resident's report waits for
    an inspector to confirm it on site, unless it is urgent (:data:`URGENT_FAST_TRACK`): then it
    is dispatched at once too, and checked on site when the unit's result is verified. A report
    of an open case's problem (same component, or same subtype within 50 m and 24 h) joins that
    case, and the result says so. A sensor's report
    with an ``event_key`` (the start of the description every alert of its rule has, ``[rule name]``)
    also joins an open sensor case of the same subtype and key in the same township opened within
    :data:`SENSOR_EVENT_WINDOW`: one event, one case, however many sensors saw it.
    """
    try:
        src = Source(source)
    except ValueError as err:
        raise InvalidInput(f"unknown source {source!r}; one of {[s.value for s in Source]}") from err
    _require_intake(session, principal, src)
    sub = taxonomy().subtype(subtype_code)
    text = _text(description, "description")
    assert text is not None
    component = None
    if component_id is not None:
        component = session.get(Component, component_id)
        if component is None:
            raise InvalidInput(f"no component {component_id} in the component registry; pick one near the place")
        if sub.kind.value == "component" and sub.code != "C" + component.class_code:
            raise InvalidInput(
                f"component {component.code} is of class {component.class_code}, "
                f"not {sub.code[1:]}; report it as C{component.class_code}"
            )
        if lon is None or lat is None:
            lon, lat = component.lon, component.lat
    if lon is None or lat is None:
        raise InvalidInput("say where the problem is: lon and lat (WGS 84), or a component from the registry")
    lon, lat = float(lon), float(lat)
    loc = locate(session, lon, lat)
    if component is not None and distance_m(lon, lat, component.lon, component.lat) > 500:
        raise InvalidInput(f"component {component.code} is more than 500 m from the reported place")
    if principal.kind is not PrincipalKind.SYSTEM:
        policy.require_in_scope(session, principal, RESOURCE, loc.community)
    if media_url is not None and media_url.strip():
        media_url = media_url.strip()
        if not URL_RE.match(media_url):
            raise InvalidInput("media_url must be an http(s) URL of at most 500 characters")
    else:
        media_url = None
    try:
        urg = Urgency(urgency) if urgency else sub.default_urgency
    except ValueError as err:
        raise InvalidInput(f"urgency is one of {[u.value for u in Urgency]}") from err
    name = _text(reporter_name, "reporter name", required=False, limit=100)
    contact_v = _text(contact, "contact", required=False, limit=120)
    addr = _text(address, "address", required=False, limit=200)
    ext = _text(external_id, "external id", required=False, limit=64)
    now = clock.now()
    # PostgreSQL: a new case is one statement with its report, step, audit entry and event
    # (:func:`_open_statement`), the duplicate check inside it; a report about a component, a sensor's
    # event and (statement at a time) a trusted source's registration and dispatch take the long way
    at_once = audit.at_a_time(session)
    fused = (
        component_id is None
        and not (event_key and src is Source.SENSOR)
        and not (at_once and _registered_at_once(src, urg) is not None)
        and session.get_bind().dialect.name == "postgresql"
    )
    if at_once and not fused:
        raise audit.NeedsTransaction("this report is not one statement: run it in a transaction")
    existing: Case | None = None
    if not fused:
        existing = find_duplicate(session, sub.code, lon, lat, component_id, now)
        if existing is None and event_key and src is Source.SENSOR and text.startswith(event_key):
            existing = find_same_event(session, sub.code, loc.township, event_key, now)
    if existing is None and fused:
        case, report = _new_case(
            sub, urg, src, loc, principal, text, addr, media_url, (lon, lat), now, (name, contact_v, ext, component_id)
        )
        got = _open_at_once(
            session,
            principal,
            case,
            report,
            note=text[:200],
            detail={"report_id": report.id, "source": src.value, "subtype": sub.code},
        )
        if isinstance(got, Change):
            if (why := _registered_at_once(src, urg)) is not None:
                _register(got, note=why)
            return Intake(case, report, duplicate=False)
        if at_once:  # joining an open case locks it and writes several rows
            raise audit.NeedsTransaction(f"the report joins case {got}: run it in a transaction")
        existing = session.get(Case, got)
    if existing is not None:
        # the intake's own checks above stand for the policy; the merge is a step on the locked case
        change = _begin(session, principal, existing.id, None, doing="merged")
        case = change.row
        case.report_count += 1
        report = Report(
            id=new_id(),
            case_id=case.id,
            source=src,
            reporter=principal.ref,
            reporter_name=name,
            contact=contact_v,
            description=text,
            subtype_code=sub.code,
            lon=lon,
            lat=lat,
            media_url=media_url,
            external_id=ext,
            duplicate=True,
            created_at=now,
        )
        _insert_now(session, report)
        _record(
            change,
            "merged",
            note=f"{src.value}: {text[:200]}",
            detail={"report_id": report.id, "source": src.value},
        )
        return Intake(case, report, duplicate=True)

    case, report = _new_case(
        sub, urg, src, loc, principal, text, addr, media_url, (lon, lat), now, (name, contact_v, ext, component_id)
    )
    _insert_now(session, case)
    opened = transition.created(session, principal, CASES, case)
    _insert_now(session, report)
    _record(
        opened,
        "collected",
        note=text[:200],
        detail={"report_id": report.id, "source": src.value, "subtype": sub.code},
    )
    if (why := _registered_at_once(src, urg)) is not None:
        _register(opened, note=why)
    return Intake(case, report, duplicate=False)


def _registered_at_once(src: Source, urg: Urgency) -> str | None:
    """Why a new case is registered and dispatched without an inspector's check (the timeline's note), or
    None when it waits for one: a trusted source, or a resident's urgent report (a gas leak, a road
    collapse), fast-tracked because the urgent register limit is a quarter of an hour, less than an
    inspector needs to reach the place, and a crew sent to a false alarm costs less than one sent late
    to a real one; the inspector's on-site check comes at verification, as for every case."""
    if src in TRUSTED:
        return f"trusted source: {src.value}"
    if URGENT_FAST_TRACK and urg is Urgency.URGENT:
        return f"urgent report: {src.value}"
    return None


def _new_case(
    sub: Subtype,
    urg: Urgency,
    src: Source,
    loc: Location,
    principal: Principal,
    text: str,
    addr: str | None,
    media_url: str | None,
    point: tuple[float, float],
    now: datetime,
    more: tuple[str | None, str | None, str | None, int | None],
) -> tuple[Case, Report]:
    """A new case (collected, its registration clock started) and the report that opens it, not yet written.

    ``more``: the reporter's name and contact, the source's own id of the report, the component.
    """
    lon, lat = point
    name, contact, ext, component_id = more
    case = Case(
        id=new_id(),
        subtype_code=sub.code,
        major_code=sub.major_code,
        kind=sub.kind.value,
        urgency=urg.value,
        status=Status.COLLECTED,
        source=src,
        description=text,
        address=addr,
        media_url=media_url,
        lon=lon,
        lat=lat,
        grid_code=loc.grid,
        division_code=loc.community,
        township_code=loc.township,
        district_code=loc.district,
        component_id=component_id,
        department=sub.department,
        level=Level.TOWNSHIP,
        escalations=0,
        late_steps=0,
        rework_count=0,
        report_count=1,
    )
    _start_step(case, Step.REGISTER, now)
    report = Report(
        id=new_id(),
        case_id=case.id,
        source=src,
        reporter=principal.ref,
        reporter_name=name,
        contact=contact,
        description=text,
        subtype_code=sub.code,
        lon=lon,
        lat=lat,
        media_url=media_url,
        external_id=ext,
        duplicate=False,
        created_at=now,
    )
    return case, report


# -- registration and dispatch ---------------------------------------------------------------


def _register(change: Change[Case], *, note: str | None) -> None:
    case, now = change.row, clock.now()
    _finish_step(case, now)
    case.status, case.registered_at = Status.REGISTERED, now
    _start_step(case, Step.DISPATCH, now)
    _record(change, "registered", note=note)
    try:
        choice = choose(change.session, case.department, case)
    except NotFound:
        return  # no unit for the rule: it waits for a dispatcher (and escalates if none acts)
    _dispatch(change, choice.unit, note=_why(choice, case.department), principal=ROUTER)


def _why(choice: Choice, department: str) -> str:
    """The timeline's note on a dispatch by the rule (``ops.pages.step_note`` says it in the reader's words)."""
    return (
        f"routing rule: {department}" + {"home": "", "aid": " (aid: home unit full)", "queued": " (queued)"}[choice.why]
    )


def register_case(
    session: Session,
    principal: Principal,
    case_id: str,
    *,
    subtype_code: str | None = None,
    urgency: str | None = None,
    note: str | None = None,
) -> Case:
    """An inspector confirms a resident's report on site (and may correct its type and urgency)."""
    change = _begin(session, principal, case_id, "ops.case.register", Status.COLLECTED, doing="registered")
    case = change.row
    if subtype_code and subtype_code != case.subtype_code:
        sub = taxonomy().subtype(subtype_code)
        case.subtype_code, case.major_code, case.kind, case.department = (
            sub.code,
            sub.major_code,
            sub.kind.value,
            sub.department,
        )
    if urgency:
        try:
            case.urgency = Urgency(urgency).value
        except ValueError as err:
            raise InvalidInput(f"urgency is one of {[u.value for u in Urgency]}") from err
    _register(change, note=_text(note, "note", required=False))
    return case


def reject_case(session: Session, principal: Principal, case_id: str, *, reason: str) -> Case:
    """Not a case (nothing found on site, or outside city management): closed without dispatch."""
    change = _begin(session, principal, case_id, "ops.case.register", Status.COLLECTED, doing="rejected")
    case = change.row
    why = _text(reason, "the reason for not registering")
    _finish_step(case, clock.now())
    case.status, case.closed_at = Status.REJECTED, clock.now()
    _record(change, "rejected", note=why)
    return case


def _dispatch(
    change: Change[Case],
    unit: Unit,
    *,
    note: str | None,
    action: str = "dispatched",
    principal: Principal | None = None,
) -> None:
    case, now = change.row, clock.now()
    on_time = _finish_step(case, now)
    if case.dispatched_on_time is None:
        case.dispatched_on_time = on_time
    case.status, case.department, case.unit_agency_id = Status.DISPATCHED, unit.department, unit.agency_id
    case.dispatched_at = now
    _start_step(case, Step.DISPOSE, now)
    case.dispose_due_at = case.step_due_at
    _record(
        change,
        action,
        principal=principal,
        note=note,
        detail={"unit_agency_id": unit.agency_id, "department": unit.department},
    )


def dispatch_case(
    session: Session, principal: Principal, case_id: str, *, department: str | None = None, note: str | None = None
) -> Case:
    """A dispatcher sends a registered case the routing rule could not place (or to another department)."""
    change = _begin(session, principal, case_id, "ops.case.dispatch", Status.REGISTERED, doing="dispatched")
    case = change.row
    dept = taxonomy().department(department).key if department else case.department
    unit = choose(session, dept, case).unit
    _dispatch(change, unit, note=_text(note, "note", required=False))
    return case


def redispatch(session: Session, principal: Principal, case_id: str, *, note: str | None = None) -> Case | None:
    """Move a case its unit cannot get to (every crew busy, or off shift for an urgent case) to the nearest
    unit of the same department that has a free crew on shift; None when no unit can take it.

    The clock is not reset: the case keeps its disposal deadline (``dispose_due_at``), so the unit that
    takes it over inherits the time left, and lateness still shows as lateness. The move is one more step
    on the timeline (``redispatched``), audited with the unit it left and the unit it went to. The
    platform does this from the clocks (:func:`onecity.ops.clocks.sweep`); a dispatcher may do it too.
    """
    change = _begin(session, principal, case_id, "ops.case.dispatch", Status.DISPATCHED, doing="redispatched")
    case = change.row
    leaving = case.unit_agency_id
    choice = choose(session, case.department, case, leaving=leaving)
    if choice.unit.agency_id == leaving:
        return None
    if choice.why == "queued":
        # every unit is full: move only to a clearly shorter queue (at least one case per crew shorter)
        here = session.get(Unit, leaving) if leaving else None
        mine = loads(session, [leaving]).get(leaving, 0) if leaving else 0
        if here is None or queue(choice.unit, choice.load + 1) > queue(here, mine) - 1:
            return None
    case.unit_agency_id, case.redispatches = choice.unit.agency_id, case.redispatches + 1
    # the same step and deadline continue at the new unit; only the warning is re-armed if it has not gone out
    _record(
        change,
        "redispatched",
        note=_text(note, "note", required=False) or "capacity: home unit full",
        detail={"from_unit": leaving, "to_unit": choice.unit.agency_id, "due": str(case.step_due_at)},
    )
    return case


def needs_redispatch(session: Session, case: Case, at: datetime) -> bool:
    """Whether a waiting case's unit cannot make it: a quarter of its disposal time gone, not taken on,
    and its unit has no free crew on shift."""
    if case.status != Status.DISPATCHED or case.unit_agency_id is None or case.redispatches >= MAX_REDISPATCHES:
        return False
    if case.step_started_at is None or case.step_due_at is None:
        return False
    if at < case.step_started_at + (case.step_due_at - case.step_started_at) * REDISPATCH_AT_SHARE:
        return False
    unit = session.get(Unit, case.unit_agency_id)
    if unit is None:
        return False
    busy = session.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.unit_agency_id == unit.agency_id, Case.status == Status.DISPOSING)
    )
    return not (can_take(unit, _urgency(case), at) and has_room(unit, int(busy or 0)))


# -- disposal --------------------------------------------------------------------------------


def accept_case(session: Session, principal: Principal, case_id: str) -> Case:
    """The unit takes the case on: disposal is under way (its clock started at dispatch)."""
    change = _begin(session, principal, case_id, "ops.case.dispose", Status.DISPATCHED, doing="accepted", unit=True)
    case = change.row
    case.status = Status.DISPOSING
    _record(change, "accepted")
    return case


def dispute_case(session: Session, principal: Principal, case_id: str, *, reason: str) -> Case:
    """The unit says the case is not theirs; the level above decides (the clock stops meanwhile)."""
    change = _begin(session, principal, case_id, "ops.case.dispose", Status.DISPATCHED, doing="disputed", unit=True)
    case = change.row
    why = _text(reason, "the reason the case is not your unit's")
    case.step = case.step_started_at = case.step_due_at = case.remind_at = case.escalate_at = None
    case.status, case.dispute_reason = Status.DISPUTED, why
    _record(change, "disputed", note=why)
    return case


def _unit_level(session: Session, case: Case) -> UnitLevel:
    unit = session.get(Unit, case.unit_agency_id) if case.unit_agency_id else None
    return UnitLevel(unit.level) if unit else UnitLevel.TOWNSHIP


def resolve_dispute(
    session: Session, principal: Principal, case_id: str, *, department: str, note: str | None = None
) -> Case:
    """The level above the disputing unit names the responsible department; the case goes to its unit.

    A township unit's dispute is decided by the district (or city) operation centre, a
    district bureau's by the city's: nobody rules on a dispute at their own level.
    """
    change = _begin(session, principal, case_id, "ops.case.resolve", Status.DISPUTED, doing="resolved")
    case = change.row
    level = level_of(principal.division_code or "")
    needed = (
        (DivisionLevel.DISTRICT, DivisionLevel.MUNICIPALITY)
        if _unit_level(session, case) is UnitLevel.TOWNSHIP
        else (DivisionLevel.MUNICIPALITY,)
    )
    if level not in needed:
        raise PermissionDenied(
            "a dispatch dispute is resolved by the operation centre one level above the unit "
            f"({' or '.join(n.value for n in needed)})"
        )
    dept = taxonomy().department(department).key
    unit = choose(session, dept, case).unit
    case.dispute_reason = None
    _dispatch(change, unit, note=_text(note, "note", required=False) or f"resolved: {dept}", action="resolved")
    return case


def report_back(
    session: Session, principal: Principal, case_id: str, *, media_id: str, note: str | None = None
) -> Case:
    """The unit reports the work done, with a photo of the result; an inspector checks it next."""
    change = _begin(session, principal, case_id, "ops.case.dispose", Status.DISPOSING, doing="reported back", unit=True)
    case = change.row
    media = session.get(Media, media_id) if media_id else None
    if media is None:
        raise InvalidInput("a report back needs a photo of the result: upload one first")
    now = clock.now()
    on_time = _finish_step(case, now)
    if case.disposed_on_time is None or not on_time:
        case.disposed_on_time = on_time
    case.status, case.reported_at = Status.REPORTED, now
    case.result_note, case.result_media_id = _text(note, "note", required=False), media.id
    _start_step(case, Step.VERIFY, now)
    _record(change, "reported", note=case.result_note, media_id=media.id)
    return case


def verify_case(
    session: Session,
    principal: Principal,
    case_id: str,
    *,
    ok: bool,
    note: str | None = None,
    media_id: str | None = None,
    subtype_code: str | None = None,
) -> Case:
    """An inspector checks the result on site: passed, or returned to the unit for rework.

    An inspector who finds on site a problem of another type than the case says (the call-taker picked
    the wrong one and the unit did not dispute it) returns it with the right ``subtype_code``: the case is
    re-typed and sent to that type's department (``reclassified``), which gets the type's own disposal
    limit from now, as after a dispute: the misrouting was the platform's, not the new unit's.
    """
    change = _begin(session, principal, case_id, "ops.case.verify", Status.REPORTED, doing="verified")
    case, now = change.row, clock.now()
    _finish_step(case, now)
    if not ok and subtype_code and taxonomy().subtype(subtype_code).department != case.department:
        why = _text(note, "what the problem on site really is")
        sub = taxonomy().subtype(subtype_code)
        case.subtype_code, case.major_code, case.kind = sub.code, sub.major_code, sub.kind.value
        case.department = sub.department
        _dispatch(change, choose(session, sub.department, case).unit, note=why, action="reclassified")
        return case
    if ok:
        case.status, case.verified_at = Status.VERIFIED, now
        _start_step(case, Step.CLOSE, now)
        _record(change, "verified", note=_text(note, "note", required=False), media_id=media_id)
    else:
        why = _text(note, "what is still wrong (for the rework)")
        case.status, case.rework_count = Status.DISPOSING, case.rework_count + 1
        # the rework's limit: the original deadline, or a share of the disposal limit from now when that
        # is later (the unit's first report was on time or is already counted late; the rework itself is
        # counted in rework_count, the case's score and the evaluation's rework rate)
        assert case.dispose_due_at is not None
        urgency = _urgency(case)
        share = REWORK_LIMIT_SHARE[urgency]
        rework_due = worktime.due(now, _subtype(case).limit(Step.DISPOSE, urgency) * share, urgency)
        due = max(case.dispose_due_at, rework_due)
        _start_step(case, Step.DISPOSE, now, due=due)
        case.dispose_due_at = due
        _record(change, "reworked", note=why, media_id=media_id, detail={"due": due.isoformat()})
    return case


def close_case(session: Session, principal: Principal, case_id: str, *, note: str | None = None) -> Case:
    """The centre closes a verified case; it counts as on time when no step ran past its limit."""
    change = _begin(session, principal, case_id, "ops.case.close", Status.VERIFIED, doing="closed")
    case, now = change.row, clock.now()
    _finish_step(case, now)
    case.status, case.closed_at = Status.CLOSED, now
    case.closed_on_time = case.late_steps == 0
    _record(change, "closed", note=_text(note, "note", required=False))
    return case


def evaluate_case(session: Session, principal: Principal, case_id: str, *, satisfaction: int | None = None) -> Case:
    """Score a closed case (GB/T 30428 style: time limits kept, no rework, the reporter satisfied)."""
    change = _begin(session, principal, case_id, "ops.case.evaluate", Status.CLOSED, doing="evaluated")
    case = change.row
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise InvalidInput("satisfaction is 1 (very unsatisfied) to 5 (very satisfied)")
    score = 100.0 - 20.0 * case.late_steps - 10.0 * case.rework_count
    if satisfaction is not None:
        score -= (5 - satisfaction) * 5.0
    case.status, case.evaluated_at = Status.EVALUATED, clock.now()
    case.score, case.satisfaction = max(0.0, min(100.0, score)), satisfaction
    _record(change, "evaluated", detail={"score": case.score})
    return case


# -- suspension ------------------------------------------------------------------------------


def suspend_case(session: Session, principal: Principal, case_id: str, *, reason: str) -> Case:
    """Stop the clock (a typhoon, a court order, works that need a permit first)."""
    change = _begin(
        session,
        principal,
        case_id,
        "ops.case.suspend",
        Status.REGISTERED,
        Status.DISPATCHED,
        Status.DISPOSING,
        doing="suspended",
    )
    case = change.row
    why = _text(reason, "the reason for suspending")
    case.suspended_from, case.suspended_at, case.suspend_reason = str(case.status), clock.now(), why
    case.status, case.remind_at, case.escalate_at = Status.SUSPENDED, None, None
    _record(change, "suspended", note=why)
    return case


def resume_case(session: Session, principal: Principal, case_id: str, *, note: str | None = None) -> Case:
    """Restart the clock where it stopped: the time suspended is added to the step's limit."""
    change = _begin(session, principal, case_id, "ops.case.suspend", Status.SUSPENDED, doing="resumed")
    case, now = change.row, clock.now()
    assert case.suspended_at is not None and case.suspended_from is not None
    paused = now - case.suspended_at
    if case.step_due_at is not None and case.step_started_at is not None:
        case.step_due_at += paused
        case.step_started_at += paused
        urgency = _urgency(case)
        case.remind_at = worktime.share_of(case.step_started_at, case.step_due_at, REMIND_AT_SHARE[urgency], urgency)
        case.escalate_at = case.step_due_at if case.level != Level.CITY else None
    if case.dispose_due_at is not None:
        case.dispose_due_at += paused
    case.status, case.suspended_from, case.suspended_at = Status(case.suspended_from), None, None
    _record(change, "resumed", note=_text(note, "note", required=False))
    return case


def note_case(session: Session, principal: Principal, case_id: str, *, note: str) -> Case:
    """Add a line to the timeline without changing the state (a sensor alert cleared, a call back)."""
    change = _begin(session, principal, case_id, "ops.case.read", doing="noted")
    _record(change, "noted", note=_text(note, "note"))
    case = change.row
    return case


def close_sensed_case(session: Session, principal: Principal, case_id: str, *, note: str) -> Case:
    """The sensors that opened a case see its problem gone (a traffic incident's road runs freely
    again): that measurement is the on-site check, so the case is verified and closed at once,
    from whatever step it was in. Only the platform itself does this, and only for a sensor's case."""
    if not principal.is_machine:
        raise PermissionDenied("only the platform closes a case on its sensors' word")
    change = _begin(session, principal, case_id, None, doing="closed")
    case = change.row
    if case.source != Source.SENSOR:
        raise Conflict(f"case {case.id} came from {case.source}, not from a sensor: an inspector verifies it")
    if case.status not in OPEN:
        return case
    now = clock.now()
    text = _text(note, "note")
    _finish_step(case, now)
    case.status, case.verified_at = Status.VERIFIED, now
    _record(change, "verified", note=text)
    case.status, case.closed_at = Status.CLOSED, now
    case.closed_on_time = case.late_steps == 0
    _record(change, "closed", note=text)
    return case


# -- clocks (called by the sweep) ------------------------------------------------------------

NEXT_LEVEL = {Level.TOWNSHIP: Level.DISTRICT, Level.DISTRICT: Level.CITY}


def remind(session: Session, principal: Principal, case_id: str) -> bool:
    change = _begin(session, principal, case_id, None, doing="reminded")
    case = change.row
    if case.remind_at is None or case.remind_at > clock.now() or case.status in (Status.SUSPENDED, Status.DISPUTED):
        return False
    case.remind_at, case.warned_at = None, clock.now()
    _record(
        change,
        "reminded",
        note=f"{case.step} due {clock.local(case.step_due_at):%Y-%m-%d %H:%M}" if case.step_due_at else None,
    )
    return True


def escalate(session: Session, principal: Principal, case_id: str) -> bool:
    """Move an overdue case up one level (township → district → city), where it shows as escalated."""
    change = _begin(session, principal, case_id, None, doing="escalated")
    case, now = change.row, clock.now()
    if case.escalate_at is None or case.escalate_at > now or case.status in (Status.SUSPENDED, Status.DISPUTED):
        return False
    nxt = NEXT_LEVEL.get(Level(case.level))
    if nxt is None:
        case.escalate_at = None
        return False
    case.level, case.escalations = nxt, case.escalations + 1
    # the next level gets one more step limit before it escalates again
    if nxt is Level.CITY or case.step_started_at is None or case.step_due_at is None:
        case.escalate_at = None
    else:
        case.escalate_at = case.escalate_at + max(case.step_due_at - case.step_started_at, timedelta(minutes=15))
    _record(
        change,
        "escalated",
        note=f"{case.step} overdue since {clock.local(case.step_due_at):%Y-%m-%d %H:%M}"
        if case.step_due_at
        else "overdue",
        detail={"level": nxt.value},
    )
    return True


# -- reading ---------------------------------------------------------------------------------


def _by_number(session: Session, number: str) -> Case | None:
    """The case a case number (:func:`onecity.ops.models.case_number`) names: opened that day, its id so begun."""
    m = CASE_NUMBER.match(number)
    if m is None:
        return None
    try:
        day = datetime.strptime(m.group(1), "%Y%m%d").replace(tzinfo=clock.SHANGHAI)
    except ValueError:
        return None
    found = session.scalars(
        select(Case).where(
            Case.id.startswith(m.group(2).lower(), autoescape=True),
            Case.created_at >= day,
            Case.created_at < day + timedelta(days=1),
        )
    ).all()
    return found[0] if len(found) == 1 else None


def get_case(session: Session, principal: Principal, case_id: str) -> Case:
    """One case, for staff of its area or of the unit it was sent to."""
    policy.require(principal, "ops.case.read")
    case = session.get(Case, case_id) or _by_number(session, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if not (principal.agency_id and principal.agency_id == case.unit_agency_id):
        policy.require_in_scope(session, principal, RESOURCE, case.division_code)
    return case


def timeline(session: Session, principal: Principal, case_id: str) -> list[StepRecord]:
    get_case(session, principal, case_id)
    return list(session.scalars(select(StepRecord).where(StepRecord.case_id == case_id).order_by(StepRecord.id)))


def reports_of(session: Session, principal: Principal, case_id: str, *, purpose: str | None) -> list[Report]:
    """The reports that make up a case with the reporters' names and numbers (an audited personal read)."""
    case = get_case(session, principal, case_id)
    policy.require(principal, "ops.reporter.read")
    rows = list(session.scalars(select(Report).where(Report.case_id == case_id).order_by(Report.created_at)))
    for r in rows:
        if r.reporter_name or r.contact:
            audit.personal_read(
                session,
                principal,
                "ops.reporter.read",
                f"ops-reporter:{r.id}",
                purpose,
                object_type="ops_report",
                object_id=r.id,
                division_code=case.division_code,
                fields=["reporter_name", "contact"],
            )
    return rows


def unit_cases(
    session: Session, principal: Principal, *, statuses: tuple[Status, ...] | None = None, limit: int = 200
) -> list[Case]:
    """The cases sent to the principal's own unit, oldest due first."""
    policy.require(principal, "ops.case.dispose")
    if principal.agency_id is None or session.get(Unit, principal.agency_id) is None:
        raise PermissionDenied("your account belongs to no disposal unit")
    stmt = select(Case).where(Case.unit_agency_id == principal.agency_id)
    if statuses:
        stmt = stmt.where(Case.status.in_(statuses))
    return list(session.scalars(stmt.order_by(Case.dispose_due_at, Case.created_at).limit(limit)))


def area_cases(
    session: Session,
    principal: Principal,
    *,
    statuses: tuple[Status, ...] | None = None,
    division_code: str | None = None,
    limit: int = 200,
) -> list[Case]:
    """Cases in the principal's area (optionally one division inside it), newest first."""
    policy.require(principal, "ops.case.read")
    stmt = select(Case).where(policy.scope_clause(session, principal, RESOURCE, Case.division_code))
    if division_code:
        from onecity.core.divisions import scope_prefix

        if principal.division_code is None or not (
            contains(principal.division_code, division_code) or contains(division_code, principal.division_code)
        ):
            policy.require_in_scope(session, principal, RESOURCE, division_code)
        stmt = stmt.where(Case.division_code.startswith(scope_prefix(division_code)))
    if statuses:
        stmt = stmt.where(Case.status.in_(statuses))
    return list(session.scalars(stmt.order_by(Case.created_at.desc()).limit(limit)))


# -- photos ----------------------------------------------------------------------------------


def store_media(session: Session, principal: Principal, data: bytes, *, division_code: str | None = None) -> Media:
    """Keep a photo taken on site (JPEG, PNG or WebP, at most 5 MB); returns its row."""
    policy.require(principal, "ops.media.upload")
    if not data:
        raise InvalidInput("the photo is empty")
    if len(data) > MAX_MEDIA_BYTES:
        raise InvalidInput(f"the photo is {len(data) // 1024} KB; at most {MAX_MEDIA_BYTES // 1024 // 1024} MB")
    kind = next((t for magic, t in IMAGE_TYPES.items() if data.startswith(magic)), None)
    if kind == "image/webp" and data[8:12] != b"WEBP":
        kind = None
    if kind is None:
        raise InvalidInput("the photo must be a JPEG, PNG or WebP image")
    media = Media(
        content_type=kind,
        data=data,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=principal.ref,
        division_code=division_code or principal.division_code,
        created_at=clock.now(),
    )
    session.add(media)
    session.flush()
    audit.record(
        session,
        principal,
        "ops.media.uploaded",
        object_type="ops_media",
        object_id=media.id,
        division_code=media.division_code,
        detail={"bytes": len(data), "type": kind},
    )
    return media


def get_media(session: Session, principal: Principal, media_id: str) -> Media:
    """A site photo, for staff whose area and the photo's area lie one inside the other (a township's
    inspector sees the district bureau's proof for a case in their township, not another district's)."""
    policy.require(principal, "ops.case.read")
    media = session.get(Media, media_id)
    if media is None:
        raise NotFound(f"no photo {media_id}")
    mine, its = principal.division_code, media.division_code
    if its and not (policy.in_scope(session, principal, RESOURCE, its) or (mine and contains(its, mine))):
        raise PermissionDenied(f"this photo belongs to division {its}, outside your area ({mine})")
    return media
