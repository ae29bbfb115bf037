"""Open311 GeoReport v2 at ``/open311/v2/``: what residents' apps already speak.

Endpoints (each in ``.json`` and ``.xml``), as the specification names them:

* ``GET services`` — the case types (the taxonomy's subtypes; ``service_code`` is ``E0101``…);
* ``GET services/{service_code}`` — a type's definition (component types take the optional
  attribute ``component_code``: the registry code of the component at fault);
* ``POST requests`` — a report; needs ``api_key`` (``onecity apikey create --scope open311``);
  the place is ``lat``/``long`` or, without them, an ``address_string`` the hub's geocoder
  places (refused, naming the nearest suggestions, when it cannot); goes through the one
  intake function, so it is located, deduplicated (the answer's ``service_notice`` says when
  it joined an existing request) and waits for an inspector (an urgent type is dispatched at
  once: :data:`onecity.ops.service.URGENT_FAST_TRACK`);
* ``GET requests`` (a page at a time: ``page``, ``page_size``, default 50),
  ``GET requests/{service_request_id}`` — status, ``agency_responsible`` (the disposal unit
  the case was dispatched to), the expected time; never who reported it;
* ``GET tokens/{token}`` — the request a report's token belongs to.

``jurisdiction_id`` is optional; if given it must be ``shanghai``. Errors are the
specification's own shape, ``[{"code": 400, "description": "..."}]`` (``<errors>`` in XML),
with the HTTP status of the code. The reads are public by nature (a 311 map shows every
report); they carry no personal data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

import orjson
from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from onecity.api.idempotency import KEY_HELP
from onecity.api.limits import loads_bounded
from onecity.core import audit, clock, idempotency
from onecity.core.db import Database
from onecity.core.errors import DomainError, InvalidInput
from onecity.core.identity.models import Agency
from onecity.core.identity.principal import ANONYMOUS
from onecity.core.identity.service import remembered_api_key_caller
from onecity.hub.geography.geocode import geocoder_for
from onecity.hub.registries.models import Component
from onecity.ops import service
from onecity.ops.models import DONE, Case, Report, Status
from onecity.ops.taxonomy import Kind, Subtype, taxonomy
from onecity.web.i18n import translator

JURISDICTION = "shanghai"
FORMATS = ("json", "xml")
MAX_RESULTS = 1000
#: ``GET requests``: a page of this many unless the client asks (``page_size``, at most MAX_RESULTS).
DEFAULT_PAGE_SIZE = 50
DEFAULT_WINDOW = timedelta(days=90)
#: Dates a query may name: wide enough for any report, narrow enough that a window around them
#: (90 days back) is still a date, and that every database stores them.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

router = APIRouter(prefix="/open311/v2", tags=["open311"])

STATUS_NOTES = {
    Status.COLLECTED: ("已受理，待网格监督员现场核实", "Received; an inspector will check it on site"),
    Status.REGISTERED: ("已立案，待派遣", "Registered; being dispatched"),
    Status.DISPATCHED: ("已派遣至处置单位", "Dispatched to the responsible unit"),
    Status.DISPOSING: ("处置中", "Being fixed"),
    Status.REPORTED: ("处置完毕，待核查", "Fixed; waiting for an inspector's check"),
    Status.VERIFIED: ("核查通过，待结案", "Checked; about to close"),
    Status.CLOSED: ("已结案", "Closed"),
    Status.EVALUATED: ("已结案并评价", "Closed and evaluated"),
    Status.DISPUTED: ("派遣有争议，上级协调中", "Dispatch disputed; the level above decides"),
    Status.SUSPENDED: ("暂缓处置", "On hold"),
    Status.REJECTED: ("不予立案", "Not a case for city management"),
}


class Open311Error(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


def _check_text(name: str, value: str) -> str:
    """A parameter's text: UTF-8 that a database stores as it is (no NUL, no lone surrogates)."""
    if "\x00" in value or "\x00" in name:
        raise Open311Error(400, f"{name[:40]} contains a NUL byte (\\0); send text without control characters")
    try:
        value.encode("utf-8")
        name.encode("utf-8")
    except UnicodeEncodeError as err:
        raise Open311Error(400, f"{name[:40]!r} is not valid UTF-8 text (a lone surrogate)") from err
    return value


def _pairs(raw: bytes, where: str) -> dict[str, str]:
    """``a=1&b=2`` decoded strictly: invalid UTF-8 is refused, not replaced with U+FFFD.

    Starlette's own parsing replaces bytes that are not UTF-8 (query) or falls back to
    Latin-1 (forms), so a report would be stored with text nobody sent.
    """
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as err:
        raise Open311Error(400, f"{where} is not valid UTF-8; percent-encode UTF-8 text (%E5%9E%83…)") from err
    return {k: _check_text(k, v) for k, v in pairs}


def _query(request: Request) -> dict[str, str]:
    return _pairs(request.scope.get("query_string", b""), "the query string")


def _english(request: Request) -> bool:
    return request.headers.get("accept-language", "").lower().startswith("en")


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"unknown format .{fmt}; use .json or .xml")
    return fmt


def _jurisdiction(params: Any) -> None:
    j = params.get("jurisdiction_id")
    if j not in (None, "", JURISDICTION):
        raise Open311Error(404, f"unknown jurisdiction_id {j!r}; this endpoint serves 'shanghai'")


def _xml(root: str, item: str, rows: Sequence[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        _fill(ET.SubElement(top, item), row)
    body: bytes = ET.tostring(top, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + body


def _fill(el: ET.Element, row: dict[str, Any]) -> None:
    for k, v in row.items():
        child = ET.SubElement(el, k)
        if isinstance(v, list):
            singular = {"attributes": "attribute", "values": "value", "keywords": "keyword"}.get(k, "item")
            for x in v:
                if isinstance(x, dict):
                    _fill(ET.SubElement(child, singular), x)
                else:
                    ET.SubElement(child, singular).text = str(x)
        elif isinstance(v, dict):
            _fill(child, v)
        elif v is not None:
            child.text = str(v).lower() if isinstance(v, bool) else str(v)


def _respond(
    fmt: str, root: str, item: str, rows: list[dict[str, Any]], status: int = 200, single: dict[str, Any] | None = None
) -> Response:
    if fmt == "json":  # orjson: UTF-8 bytes straight away, several times json.dumps's speed on a page of rows
        body = orjson.dumps(single if single is not None else rows)
        return Response(body, status_code=status, media_type="application/json; charset=utf-8")
    if single is not None:
        top = ET.Element(root)
        _fill(top, single)
        data = b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(top, encoding="utf-8")
    else:
        data = _xml(root, item, rows)
    return Response(data, status_code=status, media_type="text/xml; charset=utf-8")


def _errors(fmt: str, code: int, description: str) -> Response:
    rows = [{"code": code, "description": description}]
    fmt = fmt if fmt in FORMATS else "json"
    return _respond(fmt, "errors", "error", rows, status=code)


def _guard(fmt: str, fn: Callable[[], Response]) -> Response:
    """Run ``fn``; every refusal comes back in Open311's error shape with its status."""
    try:
        return fn()
    except Open311Error as err:
        return _errors(fmt, err.code, err.description)
    except DomainError as err:
        code = 403 if err.status == 401 else err.status
        return _errors(fmt, code, err.detail)


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


# -- services --------------------------------------------------------------------------------


def _service_row(sub: Subtype, en: bool) -> dict[str, Any]:
    major = taxonomy().majors[sub.major_code]
    dept = taxonomy().departments[sub.department]
    return {
        "service_code": sub.code,
        "service_name": sub.name_en if en else sub.name,
        "description": (
            f"{sub.name_en}. Handled by the {dept.name_en}. Closed when: {sub.closure_en}."
            if en
            else f"{sub.name}。责任部门：{dept.name}。结案条件：{sub.closure}。"
        ),
        "metadata": sub.kind is Kind.COMPONENT,
        "type": "realtime",
        "keywords": ", ".join([sub.code, major.name_en if en else major.name, dept.name_en if en else dept.name]),
        "group": major.name_en if en else major.name,
    }


@router.get("/services.{fmt}", summary="GeoReport v2: the case types (service list)")
def services(fmt: str, request: Request) -> Response:
    def run() -> Response:
        _fmt(fmt)
        _jurisdiction(_query(request))
        en = _english(request)
        rows = [_service_row(s, en) for s in sorted(taxonomy().subtypes.values(), key=lambda s: s.code)]
        return _respond(fmt, "services", "service", rows)

    return _guard(fmt, run)


@router.get("/services/{service_code}.{fmt}", summary="GeoReport v2: a case type's definition")
def service_definition(service_code: str, fmt: str, request: Request) -> Response:
    def run() -> Response:
        _fmt(fmt)
        _jurisdiction(_query(request))
        sub = taxonomy().subtypes.get(service_code[:10])
        if sub is None:
            raise Open311Error(404, f"unknown service_code {service_code[:10]!r}; see services.{fmt}")
        en = _english(request)
        attributes = []
        if sub.kind is Kind.COMPONENT:
            attributes.append(
                {
                    "variable": True,
                    "code": "component_code",
                    "datatype": "string",
                    "required": False,
                    "datatype_description": "18-digit component code from the city component registry",
                    "order": 1,
                    "description": (
                        "The code on the component's plate, if known" if en else "部件标识牌上的部件编码（如已知）"
                    ),
                    "values": [],
                }
            )
        return _respond(fmt, "service_definition", "", [], single={"service_code": sub.code, "attributes": attributes})

    return _guard(fmt, run)


# -- requests --------------------------------------------------------------------------------


#: Shanghai has kept UTC+8 all year since its last summer time ended in September 1991: an instant
#: after that is formatted with a fixed offset (a C call) instead of a zoneinfo look-up per time;
#: ``tests/ops/test_open311.py`` checks both agree with the time zone database.
_UTC8 = timezone(timedelta(hours=8))
_FIXED_SINCE = datetime(1992, 1, 1, tzinfo=UTC)


def _w3c(dt: datetime | None) -> str | None:
    """A stored time as W3C date-time in Shanghai time (``2026-12-05T14:03:00+08:00``)."""
    if dt is None:
        return None
    if dt >= _FIXED_SINCE:
        return dt.astimezone(_UTC8).isoformat(timespec="seconds")
    return clock.local(dt).isoformat(timespec="seconds")


#: What a request row shows (:func:`_request_row` reads these by name from a case or a row).
_ROW_COLUMNS = (
    Case.id,
    Case.status,
    Case.subtype_code,
    Case.description,
    Case.unit_agency_id,
    Case.report_count,
    Case.created_at,
    Case.updated_at,
    Case.dispose_due_at,
    Case.address,
    Case.lat,
    Case.lon,
    Case.media_url,
)


def _agencies(session: Session, cases: Sequence[Any]) -> dict[str, Agency]:
    ids = {c.unit_agency_id for c in cases if c.unit_agency_id}
    return {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(ids)))} if ids else {}


def _request_row(case: Any, agencies: dict[str, Agency] | None, en: bool) -> dict[str, Any]:
    """A request as GeoReport shows it, from a case (with ``agencies``) or a row carrying its unit's names."""
    sub = taxonomy().subtypes[case.subtype_code]
    if agencies is None:
        unit = case.agency_name_en if en else case.agency_name
    else:
        agency = agencies.get(case.unit_agency_id or "")
        unit = (agency.name_en if en else agency.name) if agency else None
    notes = STATUS_NOTES[Status(case.status)]
    return {
        "service_request_id": case.id,
        "status": "closed" if case.status in DONE else "open",
        "status_notes": notes[1] if en else notes[0],
        "service_name": sub.name_en if en else sub.name,
        "service_code": sub.code,
        "description": case.description,
        "agency_responsible": unit,
        "service_notice": (f"{case.report_count} reports" if en else f"共 {case.report_count} 次报告")
        if case.report_count > 1
        else None,
        "requested_datetime": _w3c(case.created_at),
        "updated_datetime": _w3c(case.updated_at),
        "expected_datetime": _w3c(case.dispose_due_at),
        "address": case.address,
        "address_id": None,
        "zipcode": None,
        "lat": round(case.lat, 7),
        "long": round(case.lon, 7),
        "media_url": case.media_url,
    }


def _parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise Open311Error(400, f"{name} must be a w3c date-time, e.g. 2026-06-01T00:00:00Z") from err
    if parsed.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone (Z or +08:00)")
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 has no UTC instant
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise Open311Error(400, f"{name} must lie between 1970 and 2200, e.g. 2026-06-01T00:00:00Z; got {value[:40]!r}")
    return utc


def _whole(value: str | None, name: str, lo: int, hi: int, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not lo <= int(value) <= hi:
        raise Open311Error(400, f"{name} must be a whole number from {lo} to {hi}; got {value[:20]!r}")
    return int(value)


@router.get(
    "/requests.{fmt}",
    summary="GeoReport v2: requests, newest first, a page at a time",
    description=(
        "Paged as common GeoReport extensions do: `page` (from 1) and `page_size` "
        f'(default {DEFAULT_PAGE_SIZE}, at most {MAX_RESULTS}); a `Link: <…>; rel="next"` header '
        "says where the next page is. Filters: `service_request_id` (comma separated), `service_code`, "
        "`status` (open, closed), `start_date` and `end_date` (at most 90 days; the last 90 by default)."
    ),
)
def list_requests(fmt: str, request: Request) -> Response:
    def run() -> Response:
        _fmt(fmt)
        q = _query(request)
        _jurisdiction(q)
        # the columns a row shows, not whole cases, and the unit's names in the same query
        stmt = select(*_ROW_COLUMNS, Agency.name.label("agency_name"), Agency.name_en.label("agency_name_en"))
        stmt = stmt.outerjoin(Agency, Agency.id == Case.unit_agency_id)
        if ids := q.get("service_request_id"):
            wanted = [i.strip() for i in ids.split(",") if i.strip()][:MAX_RESULTS]
            stmt = stmt.where(Case.id.in_(wanted))
        else:
            start, end = _parse_time(q.get("start_date"), "start_date"), _parse_time(q.get("end_date"), "end_date")
            if start and end and end - start > DEFAULT_WINDOW:
                raise Open311Error(400, "start_date to end_date may span at most 90 days")
            end = end or clock.now()
            start = start or end - DEFAULT_WINDOW
            stmt = stmt.where(Case.created_at >= start, Case.created_at <= end)
            if codes := q.get("service_code"):
                stmt = stmt.where(Case.subtype_code.in_([c.strip() for c in codes.split(",")]))
            if status := q.get("status"):
                wanted_status = {s.strip() for s in status.split(",")}
                if not wanted_status <= {"open", "closed"}:
                    raise Open311Error(400, "status is open, closed or both (comma separated)")
                if wanted_status == {"open"}:
                    stmt = stmt.where(Case.status.not_in(DONE))
                elif wanted_status == {"closed"}:
                    stmt = stmt.where(Case.status.in_(DONE))
        page, size = (
            _whole(q.get("page"), "page", 1, 1_000_000, 1),
            _whole(q.get("page_size"), "page_size", 1, MAX_RESULTS, DEFAULT_PAGE_SIZE),
        )
        stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc()).offset((page - 1) * size).limit(size + 1)
        with _db(request).engine.connect() as conn:  # Core rows: no ORM session to open and close
            cases: list[Any] = list(conn.execute(stmt))
        more = len(cases) > size
        cases = cases[:size]
        en = _english(request)
        response = _respond(fmt, "service_requests", "request", [_request_row(c, None, en) for c in cases])
        if more:  # RFC 8288: where the next page is (the body stays the specification's bare list)
            response.headers["Link"] = f'<{request.url.include_query_params(page=page + 1)}>; rel="next"'
        return response

    return _guard(fmt, run)


@router.get("/requests/{request_id}.{fmt}", summary="GeoReport v2: one request")
def get_request(request_id: str, fmt: str, request: Request) -> Response:
    def run() -> Response:
        _fmt(fmt)
        _jurisdiction(_query(request))
        with _db(request).sessions() as session:
            case = session.get(Case, request_id[:36])
            if case is None:
                raise Open311Error(404, f"no service request {request_id[:36]}")
            agencies = _agencies(session, [case])
        return _respond(fmt, "service_requests", "request", [_request_row(case, agencies, _english(request))])

    return _guard(fmt, run)


@router.get("/tokens/{token}.{fmt}", summary="GeoReport v2: the request a token belongs to")
def get_token(token: str, fmt: str, request: Request) -> Response:
    def run() -> Response:
        _fmt(fmt)
        _jurisdiction(_query(request))
        with _db(request).sessions() as session:
            case_id = session.scalar(select(Report.case_id).where(Report.id == token[:36]))
        if case_id is None:
            raise Open311Error(404, f"no token {token[:36]}")
        return _respond(fmt, "service_requests", "request", [{"service_request_id": case_id, "token": token}])

    return _guard(fmt, run)


def _float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise Open311Error(400, f"{name} must be a number (WGS 84 degrees)") from err


def _json_params(raw: bytes) -> dict[str, str]:
    try:
        data = loads_bounded(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise Open311Error(400, "the JSON body is not valid UTF-8") from err
    except (ValueError, DomainError) as err:
        raise Open311Error(400, f"the body is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise Open311Error(400, 'send the request as a JSON object, e.g. {"service_code": "E0101", "lat": 31.2, ...}')
    out: dict[str, str] = {}
    for k, v in data.items():
        if isinstance(v, bool) or not isinstance(v, str | int | float) and v is not None:
            raise Open311Error(400, f"{k[:40]} must be text or a number")
        if v is not None:
            out[k] = _check_text(k, str(v))
    return out


async def _post_params(request: Request) -> dict[str, str]:
    """The report's fields from a form (GeoReport v2), a JSON object, or the query string.

    Every field is checked to be UTF-8 text without NUL bytes: Starlette would quietly turn
    bad bytes into U+FFFD or Latin-1, and PostgreSQL refuses NUL in text (a 500 otherwise).
    """
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    if ctype == "application/x-www-form-urlencoded":
        params = _pairs(await request.body(), "the form")
    elif ctype == "multipart/form-data":
        raw = await request.body()
        async with request.form() as form:  # closes the uploaded files' temporary copies
            fields = [(k, v) for k, v in form.items() if isinstance(v, str)]
        for k, v in fields:
            # a part that is not UTF-8 comes back decoded as Latin-1: its UTF-8 is not in the body
            if not v.isascii() and v.encode("utf-8", "surrogatepass") not in raw:
                raise Open311Error(400, f"{k[:40]} is not valid UTF-8 text")
            params[k] = _check_text(k, v)
    elif ctype == "application/json" or ctype.endswith("+json"):
        params = _json_params(await request.body())
    for k, v in _query(request).items():
        params.setdefault(k, v)
    return params


def _geocode(db: Database, address: str, en: bool) -> tuple[float, float]:
    """The point of the one place ``address_string`` stands for, or a refusal that says what to send.

    Looked up before the report's transaction opens (the first lookup of a process loads the
    gazetteer); only a sure answer is taken (:meth:`Geocoder.place`): the lane, group or house
    named, or a community or village, never a whole road or township.
    """
    with db.sessions() as session:
        coder = geocoder_for(session)
    best, suggestions = coder.place(address[:200])
    if best is not None:
        return best.record.lon, best.record.lat
    t = translator("en" if en else "zh")
    near = "; ".join((m.label_en if en else m.label) for m in suggestions[:3])
    key = "ops.open311.unplaced_near" if near else "ops.open311.unplaced"
    raise Open311Error(400, t(key, address=address[:60], near=near))


ROUTE = "POST /open311/v2/requests.{fmt}"


@router.post(
    "/requests.{fmt}",
    summary="GeoReport v2: report a problem (needs an api_key)",
    status_code=201,
    openapi_extra={
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 255},
                "description": KEY_HELP,
            }
        ]
    },
)
async def post_request(fmt: str, request: Request) -> Response:
    try:
        params = await _post_params(request)
    except Open311Error as err:
        return _errors(fmt, err.code, err.description)
    en = _english(request)
    db = _db(request)
    idempotency_key = request.headers.get(idempotency.HEADER)
    path = request.url.path
    callers = request.app.state.callers

    def run() -> Response:
        _fmt(fmt)
        _jurisdiction(params)
        key = params.get("api_key", "").strip()
        if not key:
            raise Open311Error(403, "an api_key is required to post a service request; ask the city for one")
        code = params.get("service_code", "").strip()
        if not code:
            raise Open311Error(400, "service_code is required; see services." + fmt)
        if ("lat" in params) != ("long" in params):
            raise Open311Error(400, "lat and long are required together (or send address_string without either)")
        if "lat" in params:
            lat, lon = _float(params.get("lat"), "lat"), _float(params.get("long"), "long")
        elif address := params.get("address_string", "").strip():
            lon, lat = _geocode(db, address, en)
        else:
            raise Open311Error(400, "say where: lat and long, or an address_string (e.g. 徐汇区天平路街道长寿路405弄)")
        name = " ".join(p for p in (params.get("first_name", "").strip(), params.get("last_name", "").strip()) if p)
        contact = ", ".join(p for p in (params.get("phone", "").strip(), params.get("email", "").strip()) if p)
        # PostgreSQL: a new case is one statement, committed as it returns (no BEGIN, no COMMIT); a
        # retry with an Idempotency-Key and a report about a component run in a transaction, as does a
        # report that turns out to join an open case (the statement then wrote nothing)
        if idempotency_key is None and db.dialect == "postgresql" and not params.get("attribute[component_code]"):
            try:  # a new case is one statement, committed as it returns (no BEGIN, no COMMIT)
                return report(True, lon, lat, name, contact)
            except audit.NeedsTransaction:
                pass
        return report(False, lon, lat, name, contact)

    def report(at_once: bool, lon: float, lat: float, name: str, contact: str) -> Response:
        with db.sessions() as session:
            if at_once:
                audit.statement_at_a_time(session)
            response = intake(session, lon, lat, name, contact)
            session.commit()  # durable before the answer is sent
        return response

    def intake(session: Session, lon: float, lat: float, name: str, contact: str) -> Response:
        code = params.get("service_code", "").strip()
        key = params.get("api_key", "").strip()
        principal = remembered_api_key_caller(session, key, callers).principal if key else ANONYMOUS
        if idempotency_key is not None:  # a retry of a report whose answer was lost: the first answer
            unkeyed = {k: v for k, v in sorted(params.items()) if k != "api_key"}
            fingerprint = idempotency.fingerprint("POST", path, unkeyed)
            stored = idempotency.claim(session, principal.ref, idempotency_key, ROUTE, fingerprint)
            if stored is not None:
                return Response(
                    stored.body,
                    status_code=stored.status,
                    media_type=stored.content_type,
                    headers={idempotency.REPLAYED_HEADER: "true"},
                )
        component_id = None
        if comp_code := params.get("attribute[component_code]", "").strip():
            component_id = session.scalar(select(Component.id).where(Component.code == comp_code[:18]))
            if component_id is None:
                raise InvalidInput(f"no component {comp_code[:18]} in the registry")
        got = service.intake(
            session,
            principal,
            source="open311",
            subtype_code=code,
            lon=lon,
            lat=lat,
            description=params.get("description", "") or "",
            address=params.get("address_string"),
            reporter_name=name or None,
            contact=contact[:120] or None,
            media_url=params.get("media_url"),
            component_id=component_id,
            external_id=(params.get("device_id") or None),
        )
        case_id, token, duplicate = got.case.id, got.report.id, got.duplicate
        notice = None
        if duplicate:
            notice = (
                f"This problem was already reported: your report joined request {case_id}"
                if en
                else f"该问题已有人报告，您的报告已并入工单 {case_id}"
            )
        row = {
            "service_request_id": case_id,
            "token": token,
            "service_notice": notice,
            "account_id": params.get("account_id") or None,
        }
        response = _respond(fmt, "service_requests", "request", [row], status=201)
        if idempotency_key is not None:  # kept in the report's own transaction
            idempotency.store(
                session,
                principal.ref,
                idempotency_key,
                201,
                response.media_type or "application/json",
                bytes(response.body).decode("utf-8"),
            )
        return response

    return await run_in_threadpool(_guard, fmt, run)
