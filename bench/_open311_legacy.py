"""``GET /open311/v2/requests.json`` as it was before paging (commit 13a3476^), kept for one purpose:
``bench.ops_open311`` measures it on the same data, in the same server and the same run as today's
route, so "≥ 10× today's rate" is a ratio against the route the issue measured (27 requests a second),
not against figures from another day. Every call returned every case of the last 90 days (up to 1,000)
as ORM objects, their units looked up after, the times formatted through zoneinfo, ``json.dumps``.

Mounted at ``/bench/open311-before/requests.json`` by ``bench._serve --app onecity-open311-before``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.core.identity.models import Agency
from onecity.ops.models import DONE, Case, Status
from onecity.ops.open311 import (
    DEFAULT_WINDOW,
    MAX_RESULTS,
    STATUS_NOTES,
    Open311Error,
    _db,
    _english,
    _fmt,
    _guard,
    _jurisdiction,
    _parse_time,
    _query,
)
from onecity.ops.taxonomy import taxonomy

PATH = "/bench/open311-before/requests.{fmt}"
router = APIRouter()


def _w3c(dt: datetime | None) -> str | None:
    return clock.local(dt).isoformat(timespec="seconds") if dt is not None else None


def _agencies(session: Session, cases: Sequence[Case]) -> dict[str, Agency]:
    ids = {c.unit_agency_id for c in cases if c.unit_agency_id}
    return {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(ids)))} if ids else {}


def _request_row(case: Case, agencies: dict[str, Agency], en: bool) -> dict[str, Any]:
    sub = taxonomy().subtypes[case.subtype_code]
    agency = agencies.get(case.unit_agency_id or "")
    notes = STATUS_NOTES[Status(case.status)]
    return {
        "service_request_id": case.id,
        "status": "closed" if case.status in DONE else "open",
        "status_notes": notes[1] if en else notes[0],
        "service_name": sub.name_en if en else sub.name,
        "service_code": sub.code,
        "description": case.description,
        "agency_responsible": (agency.name_en if en else agency.name) if agency else None,
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


@router.get(PATH, include_in_schema=False)
def list_requests_before(fmt: str, request: Request) -> Response:
    def run() -> Response:
        _fmt(fmt)
        q = _query(request)
        _jurisdiction(q)
        stmt = select(Case)
        start, end = _parse_time(q.get("start_date"), "start_date"), _parse_time(q.get("end_date"), "end_date")
        if start and end and end - start > DEFAULT_WINDOW:
            raise Open311Error(400, "start_date to end_date may span at most 90 days")
        end = end or clock.now()
        start = start or end - DEFAULT_WINDOW
        stmt = stmt.where(Case.created_at >= start, Case.created_at <= end)
        with _db(request).sessions() as session:
            cases = list(session.scalars(stmt.order_by(Case.created_at.desc()).limit(MAX_RESULTS)))
            agencies = _agencies(session, cases)
        rows = [_request_row(c, agencies, _english(request)) for c in cases]
        body = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        return Response(body, media_type="application/json; charset=utf-8")

    return _guard(fmt, run)
