"""The operations pages: operation centres (city, district, township), the 12345 call-taker, the
grid inspector's phone page, the disposal unit's desk and one page per case.

Each button posts one form (with the session's CSRF token) to one service function and
comes back to the page it came from; a refused action shows the service's own message.
The centre page's figures refresh over server-sent events (``/ops/centre/{code}/live``)
without reloading; its map draws the city's own division outlines with ECharts and the
open cases on top.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onecity.api.deps import DatabaseDep, PrincipalDep, SessionDep
from onecity.core import clock, policy
from onecity.core.divisions import MUNICIPALITY_CODE, Division, scope_prefix
from onecity.core.errors import AuthenticationRequired, DomainError, InvalidInput, NotFound, PermissionDenied
from onecity.core.identity.models import Agency, ApiKey, User
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import Role
from onecity.hub.geography import geocode, tiles
from onecity.hub.geography.geocode import geocoder_for
from onecity.hub.registries.models import Component
from onecity.ops import centre, service
from onecity.ops.models import OPEN, Case, Media, Status, Unit
from onecity.ops.taxonomy import taxonomy
from onecity.sensing import service as sensing
from onecity.sensing.models import Thing
from onecity.traffic import service as traffic
from onecity.web.deps import PagePrincipalDep
from onecity.web.i18n import say, status_key, translator
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)
Code = Annotated[str, Path(pattern=r"^\d{12}$")]
CaseId = Annotated[str, Path(max_length=36)]
Text = Annotated[str, Form(max_length=2000)]
LIVE_SECONDS = 3.0


# -- helpers ---------------------------------------------------------------------------------


def _subtypes(lang: str) -> list[tuple[str, str, str]]:
    """(code, label, group) for the type pickers, grouped by major class."""
    tax = taxonomy()
    out = []
    for s in sorted(tax.subtypes.values(), key=lambda s: s.code):
        major = tax.majors[s.major_code]
        out.append((s.code, s.name if lang == "zh" else s.name_en, major.name if lang == "zh" else major.name_en))
    return out


def _unit_names(session: Session, cases: list[Case], lang: str) -> dict[str, str]:
    ids = {c.unit_agency_id for c in cases if c.unit_agency_id}
    if not ids:
        return {}
    agencies = session.scalars(select(Agency).where(Agency.id.in_(ids)))
    return {a.id: (a.name if lang == "zh" else a.name_en) for a in agencies}


def _view(request: Request) -> dict[str, Any]:
    lang = current_language(request)
    tax = taxonomy()

    def sub_label(code: str) -> str:
        sub = tax.subtypes.get(code)
        return code if sub is None else (sub.name if lang == "zh" else sub.name_en)

    return {"tax": tax, "sub_label": sub_label, "now": clock.now()}


def _error(request: Request, err: DomainError) -> tuple[str, str]:
    lang = current_language(request)
    return (translator(lang)(status_key(err.status)), say(lang, err))


def _is_unit_staff(session: Session, principal: Principal) -> bool:
    return bool(principal.agency_id) and session.get(Unit, principal.agency_id) is not None


# -- landing ---------------------------------------------------------------------------------


@router.get("/ops", response_class=HTMLResponse)
def landing(session: SessionDep, principal: PagePrincipalDep) -> Response:
    """Each person lands on their own desk: unit staff, inspectors, call-takers, centre operators."""
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in to use the operations pages")
    if _is_unit_staff(session, principal):
        return RedirectResponse("/ops/unit", status_code=303)
    if principal.has_role(Role.INSPECTOR):
        return RedirectResponse("/ops/inspector", status_code=303)
    if principal.has_role(Role.DISPATCHER) and not principal.has_role(Role.OPERATOR):
        return RedirectResponse("/ops/hotline", status_code=303)
    policy.require(principal, "ops.case.read")
    return RedirectResponse(f"/ops/centre/{centre.centre_code(principal)}", status_code=303)


# -- the operation centre --------------------------------------------------------------------


def _places(session: Session, codes: set[str], lang: str) -> dict[str, str]:
    """Division names for codes (communities, townships)."""
    codes = {c for c in codes if c}
    if not codes:
        return {}
    out = {
        d.code: (d.name if lang == "zh" else d.name_en)
        for d in session.scalars(select(Division).where(Division.code.in_(codes)))
    }
    return out


def _case_filter(
    status: str | None, major: str | None, area: str | None, overdue: str | None, escalated: str | None
) -> centre.CaseFilter:
    return centre.CaseFilter(
        status=status or None,
        major=major or None,
        area=area or None,
        overdue=overdue in ("1", "on", "true"),
        escalated=escalated in ("1", "on", "true"),
    )


Filter = Annotated[str | None, Query(max_length=12)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=centre.MAX_PAGE_SIZE)]


def _case_list(
    request: Request, session: Session, principal: Principal, code: str, flt: centre.CaseFilter, page: int, size: int
) -> dict[str, Any]:
    """The case list's context: the page of cases, their places and units, the filter as a query string."""
    lang = current_language(request)
    got = centre.open_cases(session, principal, code, flt, page=page, page_size=size)
    places = _places(session, {c.division_code for c in got.cases} | {c.township_code for c in got.cases}, lang)
    query = {
        k: v
        for k, v in {
            "status": flt.status,
            "major": flt.major,
            "area": flt.area,
            "overdue": "1" if flt.overdue else None,
            "escalated": "1" if flt.escalated else None,
            "size": str(size) if size != centre.PAGE_SIZE else None,
        }.items()
        if v
    }
    return {
        "list": got,
        "flt": flt,
        "places": places,
        "list_units": _unit_names(session, got.cases, lang),
        "list_query": query,
        "list_url": f"/ops/centre/{code}",
    }


@router.get("/ops/centre/{code}", response_class=HTMLResponse)
def centre_page(
    code: Code,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    status: Filter = None,
    major: Annotated[str | None, Query(max_length=4)] = None,
    area: Filter = None,
    overdue: Annotated[str | None, Query(max_length=5)] = None,
    escalated: Annotated[str | None, Query(max_length=5)] = None,
    page: PageNo = 1,
    size: PageSize = centre.PAGE_SIZE,
    full: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    summary = centre.summary(session, principal, code)
    lang = current_language(request)
    t = translator(lang)
    division = session.get(Division, code)
    path: list[Division] = []
    if division is not None:
        parent = division.parent_code
        while parent:
            d = session.get(Division, parent)
            if d is None:
                break
            if policy.in_scope(session, principal, service.RESOURCE, d.code):
                path.insert(0, d)
            parent = d.parent_code
    flt = _case_filter(status, major, area, overdue, escalated)
    try:
        listing = _case_list(request, session, principal, code, flt, page, size)
    except InvalidInput as err:
        flt = centre.CaseFilter()
        listing = _case_list(request, session, principal, code, flt, 1, centre.PAGE_SIZE)
        listing["list_error"] = err.detail
    units = centre.evaluation(session, principal, code, by="unit")
    depts = centre.evaluation(session, principal, code, by="department")
    towns = centre.evaluation(session, principal, code, by="township") if summary.level != "township" else []
    child_layer = {"city": "district", "district": "township", "township": "community"}[summary.level]
    config = {
        "lang": lang,
        "code": code,
        "level": str(summary.level),
        "live": f"/ops/centre/{code}/live",
        "points": f"/ops/centre/{code}/cases.geojson",
        "list": f"/ops/centre/{code}/list",
        "statuses": {s.value: t(f"ops.status.{s.value}") for s in Status},
        "classes": {m.code: (m.name if lang == "zh" else m.name_en) for m in taxonomy().majors.values()},
        "openLabel": t("ops.centre.open"),
        "overdueLabel": t("ops.centre.overdue"),
        # drill-down: a district's or a township's centre; below a township, its communities filter the list
        "drillTo": "centre" if summary.level != "township" else "list",
    }
    map_options = {
        "bounds": tiles.division_bounds(session, code) if code != MUNICIPALITY_CODE else None,
        "drill": child_layer,
        "focus": code if code != MUNICIPALITY_CODE else "",
        "focusLayer": str(summary.level) if code != MUNICIPALITY_CODE else "district",
    }
    shown = {
        k: (rows if full == k else centre.ranked(rows, "score"))
        for k, rows in (("units", units), ("departments", depts), ("towns", towns))
    }
    children = summary.children if full == "children" else centre.ranked(summary.children, "open")
    return render(
        request,
        "ops/centre.html",
        status_code=400 if "list_error" in listing else 200,
        s=summary,
        path=path,
        units=shown["units"],
        depts=shown["departments"],
        towns=shown["towns"],
        counts={"units": len(units), "departments": len(depts), "towns": len(towns), "children": len(summary.children)},
        children=children,
        full=full,
        config=config,
        map_options={k: v for k, v in map_options.items() if v is not None},
        majors=taxonomy().majors,
        **listing,
        **_view(request),
    )


@router.get("/ops/centre/{code}/list", response_class=HTMLResponse)
def centre_list(
    code: Code,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    status: Filter = None,
    major: Annotated[str | None, Query(max_length=4)] = None,
    area: Filter = None,
    overdue: Annotated[str | None, Query(max_length=5)] = None,
    escalated: Annotated[str | None, Query(max_length=5)] = None,
    page: PageNo = 1,
    size: PageSize = centre.PAGE_SIZE,
) -> Response:
    """The case list alone (the centre page swaps it in when the live figures change)."""
    flt = _case_filter(status, major, area, overdue, escalated)
    listing = _case_list(request, session, principal, code, flt, page, size)
    return render(request, "ops/_case_list.html", code=code, **listing, **_view(request))


def _screen_data(session: Session, principal: Principal, code: str, lang: str) -> dict[str, Any]:
    """What the wall screen shows beside the centre's figures: the next cases, sensor warnings, devices, today."""
    t = translator(lang)
    tax = taxonomy()
    prefix = scope_prefix(code) if code != MUNICIPALITY_CODE else ""
    got = centre.open_cases(session, principal, code, page_size=6)
    places = _places(session, {c.division_code for c in got.cases} | {c.township_code for c in got.cases}, lang)
    now = clock.now()
    nxt = [
        {
            "id": c.id,
            "type": (lambda sub: sub.name if lang == "zh" else sub.name_en)(tax.subtypes[c.subtype_code])
            if c.subtype_code in tax.subtypes
            else c.subtype_code,
            "place": " · ".join(p for p in (places.get(c.township_code), places.get(c.division_code)) if p),
            "status": t(f"ops.status.{c.status}"),
            "overdue": bool(c.step_due_at is not None and c.step_due_at < now and c.status in centre.TIMED),
            "level": str(c.level),
            "due": clock.local(c.step_due_at).strftime("%m-%d %H:%M") if c.step_due_at else "",
        }
        for c in got.cases
    ]
    try:
        alerts = [
            a
            for a in sensing.list_alerts(session, principal, status="active", limit=500)
            if (a.division_code or "").startswith(prefix)
        ]
    except PermissionDenied:
        alerts = []
    warnings = [r.as_json() for r in sensing.alert_rows(session, alerts[:8], lang)]
    for w, a in zip(warnings, alerts[:8], strict=True):
        w["time"] = clock.local(a.raised_at).strftime("%H:%M")
    where_thing = Thing.township_code.startswith(prefix)
    devices = int(session.scalar(select(func.count()).select_from(Thing).where(where_thing)) or 0)
    online = int(
        session.scalar(select(func.count()).select_from(Thing).where(where_thing, Thing.available.is_(True))) or 0
    )
    day = clock.local(now).replace(hour=0, minute=0, second=0, microsecond=0)
    where_case = Case.division_code.startswith(prefix)
    reported = int(
        session.scalar(select(func.count()).select_from(Case).where(where_case, Case.created_at >= day)) or 0
    )
    closed = int(session.scalar(select(func.count()).select_from(Case).where(where_case, Case.closed_at >= day)) or 0)
    return {
        "traffic": _screen_traffic(session, principal, code, lang),
        "next": nxt,
        "next_total": got.total,
        "warnings": warnings,
        "warnings_total": len(alerts),
        "devices": devices,
        "online": online,
        "reported_today": reported,
        "closed_today": closed,
    }


def _screen_traffic(session: Session, principal: Principal, code: str, lang: str) -> dict[str, Any] | None:
    """The wall screen's traffic panel: the index of the centre's district (the city's at the city centre) and
    its most congested roads, in words; None where no network is loaded or the viewer may not read traffic."""
    t = translator(lang)
    try:
        now = traffic.latest_index(session, principal)
        district = "" if code == MUNICIPALITY_CODE else code[:6] + "000000"
        roads = traffic.congested_roads(session, principal, within=district[:6], limit=6)
    except (NotFound, PermissionDenied):
        return None
    area = now["city"] if not district else next((d for d in now["districts"] if d["code"] == district), None)
    names = _places(session, {r.district_code for r in roads}, lang)

    def grade(g: int | None) -> str:
        return t(f"traffic.grade.{g}") if g else t("traffic.grade.none")

    return {
        "tpi": f"{area['tpi']:.1f}" if area else "–",
        "grade": area["grade"] if area else 0,
        "grade_name": grade(area["grade"] if area else None),
        "at": clock.local(datetime.fromisoformat(now["at"])).strftime("%H:%M") if now["at"] else "",
        "congested": [
            {
                "road": r.name if lang == "zh" else r.name_en,
                "place": names.get(r.district_code, ""),
                "speed_kmh": round(r.speed_kmh),
                "grade": r.grade,
                "grade_name": grade(r.grade),
            }
            for r in roads
        ],
    }


@router.get("/ops/centre/{code}/screen", response_class=HTMLResponse)
def centre_screen(code: Code, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    """The wall screen (1920×1080, dark): the same figures as the centre, live over SSE, nothing to click."""
    summary = centre.summary(session, principal, code)
    lang = current_language(request)
    t = translator(lang)
    config = {
        "lang": lang,
        "code": code,
        "live": f"/ops/centre/{code}/live?screen=1",
        "points": f"/ops/centre/{code}/cases.geojson",
        "statuses": {s.value: t(f"ops.status.{s.value}") for s in Status},
        "classes": {m.code: (m.name if lang == "zh" else m.name_en) for m in taxonomy().majors.values()},
        "childNames": {ch["code"]: ch["name"] if lang == "zh" else ch["name_en"] for ch in summary.children},
        "words": {k: t(f"ops.screen.{k}") for k in ("no_warnings", "no_congestion", "no_cases")},
    }
    map_options = {
        "theme": "dark",
        "interactive": False,
        "bounds": tiles.division_bounds(session, code) if code != MUNICIPALITY_CODE else None,
        "focus": code if code != MUNICIPALITY_CODE else "",
        "focusLayer": str(summary.level) if code != MUNICIPALITY_CODE else "district",
    }
    return render(
        request,
        "ops/screen.html",
        s=summary,
        data=_screen_data(session, principal, code, lang),
        config=config,
        map_options={k: v for k, v in map_options.items() if v is not None},
        **_view(request),
    )


@router.get("/ops/centre/{code}/cases.geojson")
def centre_points(code: Code, session: SessionDep, principal: PrincipalDep) -> Response:
    body = json.dumps(centre.open_points(session, principal, code), separators=(",", ":"))
    return Response(body, media_type="application/geo+json", headers={"Cache-Control": "no-store"})


@router.get("/ops/centre/{code}/live")
def centre_live(
    code: Code,
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    principal: PrincipalDep,
    max_events: Annotated[int, Query(ge=1, le=1000)] = 200,
    screen: Annotated[bool, Query()] = False,
) -> StreamingResponse:
    """Server-sent events: the centre's figures every few seconds (the browser reconnects after the last).

    The area check runs in the request's own transaction, so a refusal is a 403, not an event;
    the stream itself reads in short sessions of its own after that transaction has ended.
    """
    centre.live_counts(session, principal, code)

    lang = current_language(request)

    def counts() -> dict[str, Any]:
        with db.sessions() as session:
            data = centre.live_counts(session, principal, code)
            if screen:
                data["screen"] = _screen_data(session, principal, code, lang)
            return data

    async def stream() -> AsyncIterator[bytes]:
        for i in range(max_events):
            if await request.is_disconnected():
                return
            data = await asyncio.to_thread(counts)
            yield f"event: counts\nid: {i}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
            if i + 1 < max_events:
                await asyncio.sleep(LIVE_SECONDS)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


# -- one case --------------------------------------------------------------------------------


NOTE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^trusted source: (?P<source>[a-z0-9]+)$"), "ops.note.trusted_source"),
    (re.compile(r"^urgent report: (?P<source>[a-z0-9]+)$"), "ops.note.urgent_report"),
    (re.compile(r"^routing rule: (?P<department>[\w-]+)$"), "ops.note.routing_rule"),
    (re.compile(r"^routing rule: (?P<department>[\w-]+) \(aid: home unit full\)$"), "ops.note.routing_aid"),
    (re.compile(r"^routing rule: (?P<department>[\w-]+) \(queued\)$"), "ops.note.routing_queued"),
    (re.compile(r"^capacity: home unit full$"), "ops.note.redispatch"),
    (re.compile(r"^resolved: (?P<department>[\w-]+)$"), "ops.note.resolved"),
    (re.compile(r"^(?P<step>register|dispatch|dispose|verify|close) due (?P<at>[\d-]+ [\d:]+)$"), "ops.note.due"),
    (
        re.compile(r"^(?P<step>register|dispatch|dispose|verify|close) overdue since (?P<at>[\d-]+ [\d:]+)$"),
        "ops.note.overdue",
    ),
    (
        re.compile(r"^(?P<source>open311|hotline|inspector|sensor|camera|rating): (?P<text>.*)$", re.S),
        "ops.note.merged",
    ),
]


def step_note(note: str | None, lang: str) -> str:
    """A step's note in the reader's language: the words the system writes are translated, people's kept."""
    if not note:
        return ""
    t = translator(lang)
    for pattern, key in NOTE_PATTERNS:
        m = pattern.match(note)
        if m is None:
            continue
        words = m.groupdict()
        if "source" in words:
            words["source"] = t(f"ops.source.{words['source']}")
        if "department" in words:
            dept = taxonomy().departments.get(words["department"])
            words["department"] = (dept.name if lang == "zh" else dept.name_en) if dept else words["department"]
        if "step" in words:
            words["step"] = t(f"ops.clock.{words['step']}")
        return t(key, **words)
    return note


def actor_names(session: Session, refs: set[str], lang: str) -> dict[str, str]:
    """Who did each step, by name: a person and their agency, an app by its key's name, a system step by its job."""
    t = translator(lang)
    out: dict[str, str] = {}
    ids = {r.split(":", 1)[1] for r in refs if ":" in r}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    # an API key acts as itself (a partner's app, a device): named by the key's name
    keys = {k.id: k for k in session.scalars(select(ApiKey).where(ApiKey.id.in_(ids - users.keys())))} if ids else {}
    for ref in refs:
        kind, _, ident = ref.partition(":")
        if kind == "user" and ident in users:
            u = users[ident]
            name = u.display_name or u.username
            agency = (u.agency.name if lang == "zh" else u.agency.name_en) if u.agency else ""
            out[ref] = f"{name}（{agency}）" if agency and lang == "zh" else f"{name} ({agency})" if agency else name
        elif ident in keys:
            out[ref] = t("ops.actor.app", name=keys[ident].name)
        elif kind == "user" and ident.startswith("sim:"):  # the demo's simulated staff (onecity/synth/actors/ops.py)
            role = ident[4:].split("-", 1)[0]
            word = t(f"ops.actor.sim.{role}")
            out[ref] = word if word != f"ops.actor.sim.{role}" else t("ops.actor.sim")
        elif kind == "system":
            key = "ops.actor.system." + ident.replace(":", "-")
            word = t(key)
            out[ref] = word if word != key else t("ops.actor.system", name=ident)
        else:
            out[ref] = t("ops.actor.unknown")
    return out


def _nearest_address(session: Session, case: Case, lang: str) -> str | None:
    """The gazetteer's nearest address to the case's point, with the distance; None without a gazetteer."""
    try:
        found = geocode.geocoder_for(session).reverse(case.lon, case.lat)
    except DomainError:
        return None
    if found is None:
        return None
    match, metres = found
    label = match.label if lang == "zh" else match.label_en
    return translator(lang)("ops.case.nearest_m", address=label, m=round(metres))


def _case_page(
    request: Request,
    session: Session,
    principal: Principal,
    case_id: str,
    *,
    status_code: int = 200,
    error: tuple[str, str] | None = None,
    done: str | None = None,
) -> Response:
    case = service.get_case(session, principal, case_id)  # by its id or its number
    case_id = case.id
    steps = service.timeline(session, principal, case_id)
    lang = current_language(request)
    unit = session.get(Agency, case.unit_agency_id) if case.unit_agency_id else None
    unit_staff = bool(principal.agency_id and principal.agency_id == case.unit_agency_id)
    actors = {s.unit_agency_id for s in steps if s.unit_agency_id}
    places = _places(session, {case.division_code, case.township_code, case.district_code}, lang)
    return render(
        request,
        "ops/case.html",
        status_code=status_code,
        case=case,
        steps=steps,
        unit=unit,
        unit_staff=unit_staff,
        may=lambda a: policy.may(principal, a),
        error=error,
        done=done if done in {s.value for s in Status} else None,
        departments=taxonomy().departments,
        unit_names=_unit_names(session, [case], lang),
        actors=actors,
        actor_names=actor_names(session, {s.actor for s in steps}, lang),
        note_text=lambda n: step_note(n, lang),
        places=places,
        nearest=_nearest_address(session, case, lang),
        **_view(request),
    )


@router.get("/ops/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep, done: str | None = None
) -> Response:
    return _case_page(request, session, principal, case_id, done=done)


ACTIONS: dict[str, Callable[..., Case]] = {
    "register": lambda s, p, cid, f: service.register_case(
        s, p, cid, subtype_code=f["subtype"] or None, note=f["note"]
    ),
    "reject": lambda s, p, cid, f: service.reject_case(s, p, cid, reason=f["reason"]),
    "dispatch": lambda s, p, cid, f: service.dispatch_case(
        s, p, cid, department=f["department"] or None, note=f["note"]
    ),
    "accept": lambda s, p, cid, f: service.accept_case(s, p, cid),
    "dispute": lambda s, p, cid, f: service.dispute_case(s, p, cid, reason=f["reason"]),
    "report": lambda s, p, cid, f: service.report_back(s, p, cid, media_id=f["media"] or "", note=f["note"]),
    "verify": lambda s, p, cid, f: service.verify_case(s, p, cid, ok=True, note=f["note"], media_id=f["media"]),
    "rework": lambda s, p, cid, f: service.verify_case(s, p, cid, ok=False, note=f["note"], media_id=f["media"]),
    "close": lambda s, p, cid, f: service.close_case(s, p, cid, note=f["note"]),
    "evaluate": lambda s, p, cid, f: service.evaluate_case(s, p, cid, satisfaction=f["satisfaction"]),
    "suspend": lambda s, p, cid, f: service.suspend_case(s, p, cid, reason=f["reason"]),
    "resume": lambda s, p, cid, f: service.resume_case(s, p, cid, note=f["note"]),
    "resolve": lambda s, p, cid, f: service.resolve_dispute(s, p, cid, department=f["department"], note=f["note"]),
}


def _upload(photo: UploadFile | None) -> bytes | None:
    """The uploaded photo's bytes (already spooled by the form parser), at most one byte over the limit."""
    if photo is None or not photo.filename:
        return None
    return photo.file.read(service.MAX_MEDIA_BYTES + 1)


@router.post("/ops/cases/{case_id}/{action}", response_class=HTMLResponse)
def act(
    case_id: CaseId,
    action: Annotated[str, Path(max_length=20)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    note: Text = "",
    reason: Text = "",
    department: Annotated[str, Form(max_length=30)] = "",
    subtype: Annotated[str, Form(max_length=6)] = "",
    satisfaction: Annotated[str, Form(max_length=2)] = "",
    back: Annotated[str, Form(max_length=20)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """One button, one service function; back to the page it came from (the case, the unit desk, patrol)."""
    run = ACTIONS.get(action)
    if run is None:
        raise InvalidInput(f"unknown action {action!r}")
    data = _upload(photo)
    try:
        with session.begin_nested():
            media = service.store_media(session, principal, data).id if data is not None else None
            sat = int(satisfaction) if satisfaction.strip().isdigit() else None
            case = run(
                session,
                principal,
                case_id,
                {
                    "note": note,
                    "reason": reason,
                    "department": department,
                    "subtype": subtype,
                    "media": media,
                    "satisfaction": sat,
                },
            )
    except (AuthenticationRequired, PermissionDenied):
        raise
    except DomainError as err:
        return _case_page(request, session, principal, case_id, status_code=err.status, error=_error(request, err))
    target = {"unit": "/ops/unit", "inspector": "/ops/inspector"}.get(back, f"/ops/cases/{case.id}")
    return RedirectResponse(f"{target}?done={case.status}", status_code=303)


@router.get("/ops/media/{media_id}")
def media(media_id: CaseId, session: SessionDep, principal: PrincipalDep) -> Response:
    m: Media = service.get_media(session, principal, media_id)
    return Response(
        m.data,
        media_type=m.content_type,
        headers={"Cache-Control": "private, max-age=86400", "Content-Disposition": "inline"},
    )


# -- the hotline -----------------------------------------------------------------------------


def _hotline(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    status_code: int = 200,
    error: tuple[str, str] | None = None,
    result: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    policy.require(principal, "ops.case.report")
    lang = current_language(request)
    recent = service.area_cases(session, principal, limit=15)
    return render(
        request,
        "ops/hotline.html",
        status_code=status_code,
        error=error,
        result=result,
        subtypes=_subtypes(lang),
        form=form or {},
        recent=recent,
        unit_names=_unit_names(session, recent, lang),
        **_view(request),
    )


@router.get("/ops/hotline", response_class=HTMLResponse)
def hotline_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    return _hotline(request, session, principal)


@router.post("/ops/hotline", response_class=HTMLResponse)
def hotline_submit(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    subtype: Annotated[str, Form(max_length=6)],
    description: Text,
    lon: Annotated[str, Form(max_length=20)] = "",
    lat: Annotated[str, Form(max_length=20)] = "",
    address: Annotated[str, Form(max_length=200)] = "",
    place: Annotated[str, Form(max_length=200)] = "",
    reporter: Annotated[str, Form(max_length=100)] = "",
    contact: Annotated[str, Form(max_length=120)] = "",
    urgency: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    form = {
        "subtype": subtype,
        "lon": lon,
        "lat": lat,
        "description": description,
        "address": address,
        "place": place,
        "reporter": reporter,
        "contact": contact,
        "urgency": urgency,
    }
    try:
        point = _hotline_point(request, session, lon, lat, address)
        with session.begin_nested():
            got = service.intake(
                session,
                principal,
                source="hotline",
                subtype_code=subtype,
                lon=point[0],
                lat=point[1],
                description=description,
                address=address or None,
                reporter_name=reporter or None,
                contact=contact or None,
                urgency=urgency or None,
            )
    except (AuthenticationRequired, PermissionDenied):
        raise
    except DomainError as err:
        return _hotline(request, session, principal, status_code=err.status, error=_error(request, err), form=form)
    unit = session.get(Agency, got.case.unit_agency_id) if got.case.unit_agency_id else None
    lang = current_language(request)
    result = {
        "id": got.case.id,
        "number": got.case.number,
        "duplicate": got.duplicate,
        "status": str(got.case.status),
        "n": got.case.report_count,
        "unit": (unit.name if lang == "zh" else unit.name_en) if unit else "–",
    }
    return _hotline(request, session, principal, result=result)


def _hotline_point(request: Request, session: Session, lon: str, lat: str, address: str) -> tuple[float, float]:
    """Where the caller's problem is: the suggestion the call-taker picked (its point came with the
    form), the coordinates typed under Advanced, or else the one place the address stands for."""
    if lon.strip() or lat.strip():
        return _num(lon, "lon"), _num(lat, "lat")
    t = translator(current_language(request))
    if not address.strip():
        raise InvalidInput(t("ops.hotline.no_place"))
    best, _ = geocoder_for(session).place(address)
    if best is None:
        raise InvalidInput(t("ops.hotline.unplaced", address=address.strip()[:60]))
    return best.record.lon, best.record.lat


def _num(value: str, name: str) -> float:
    try:
        x = float(value)
    except ValueError as err:
        raise InvalidInput(f"{name} must be a number, e.g. 121.4376") from err
    if not math.isfinite(x):
        raise InvalidInput(f"{name} must be a number, e.g. 121.4376")
    return x


# -- the grid inspector (phone) --------------------------------------------------------------


def _inspector(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    status_code: int = 200,
    error: tuple[str, str] | None = None,
    done: str | None = None,
    result: dict[str, Any] | None = None,
) -> Response:
    policy.require(principal, "ops.case.verify")
    todo = service.area_cases(session, principal, statuses=(Status.COLLECTED, Status.REPORTED), limit=50)
    return render(
        request,
        "ops/inspector.html",
        status_code=status_code,
        error=error,
        todo=todo,
        subtypes=_subtypes(current_language(request)),
        result=result,
        done=done if done in {s.value for s in Status} else None,
        # the map opens on the inspector's own area (their township's outline, if loaded)
        bounds=tiles.division_bounds(session, principal.division_code) if principal.division_code else None,
        **_view(request),
    )


@router.get("/ops/inspector", response_class=HTMLResponse)
def inspector_page(
    request: Request, session: SessionDep, principal: PagePrincipalDep, done: str | None = None
) -> Response:
    return _inspector(request, session, principal, done=done)


@router.post("/ops/inspector/report", response_class=HTMLResponse)
def inspector_report(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    subtype: Annotated[str, Form(max_length=6)],
    lon: Annotated[str, Form(max_length=20)],
    lat: Annotated[str, Form(max_length=20)],
    description: Text,
    component: Annotated[str, Form(max_length=20)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    data = _upload(photo)
    try:
        with session.begin_nested():
            media_url = None
            if data is not None:
                media_id = service.store_media(session, principal, data).id
                media_url = f"{str(request.base_url).rstrip('/')}/ops/media/{media_id}"
            got = service.intake(
                session,
                principal,
                source="inspector",
                subtype_code=subtype,
                lon=_num(lon, "lon"),
                lat=_num(lat, "lat"),
                description=description,
                media_url=media_url,
                component_id=int(component) if component.strip().isdigit() else None,
            )
    except (AuthenticationRequired, PermissionDenied):
        raise
    except DomainError as err:
        return _inspector(request, session, principal, status_code=err.status, error=_error(request, err))
    return _inspector(
        request,
        session,
        principal,
        result={
            "id": got.case.id,
            "number": got.case.number,
            "duplicate": got.duplicate,
            "status": str(got.case.status),
            "n": got.case.report_count,
        },
    )


@router.get("/ops/components/near")
def components_near(
    session: SessionDep,
    principal: PrincipalDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    radius: Annotated[float, Query(ge=5, le=500)] = 150.0,
) -> list[dict[str, Any]]:
    """Registry components near a point, nearest first: what the inspector picks from."""
    policy.require(principal, "ops.case.report")
    dlat = radius / 111_320.0
    dlon = radius / (111_320.0 * max(math.cos(math.radians(lat)), 0.1))
    rows = session.scalars(
        select(Component)
        .where(Component.lat.between(lat - dlat, lat + dlat), Component.lon.between(lon - dlon, lon + dlon))
        .limit(500)
    )
    tax = taxonomy()
    found = []
    for c in rows:
        d = service.distance_m(lon, lat, c.lon, c.lat)
        sub = tax.subtypes.get("C" + c.class_code)
        if d <= radius and sub is not None:
            found.append(
                {
                    "id": c.id,
                    "code": c.code,
                    "class_code": c.class_code,
                    "service_code": sub.code,
                    "name": sub.name,
                    "name_en": sub.name_en,
                    "status": str(c.status),
                    "distance_m": round(d, 1),
                }
            )
    return sorted(found, key=lambda x: float(x["distance_m"]))[:20]  # type: ignore[arg-type]


# -- the disposal unit -----------------------------------------------------------------------


@router.get("/ops/unit", response_class=HTMLResponse)
def unit_page(request: Request, session: SessionDep, principal: PagePrincipalDep, done: str | None = None) -> Response:
    cases = service.unit_cases(session, principal, statuses=(Status.DISPATCHED, Status.DISPOSING, Status.REPORTED))
    agency = session.get(Agency, principal.agency_id) if principal.agency_id else None
    return render(
        request,
        "ops/unit.html",
        cases=cases,
        agency=agency,
        done=done if done in {s.value for s in Status} else None,
        open_statuses=OPEN,
        **_view(request),
    )
