"""Open311 GeoReport v2: the specification's request and response shapes, and a real client library."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient

from onecity.core import clock
from onecity.core.db import Database
from onecity.ops import service
from onecity.ops.models import Case
from tests.ops.conftest import HUNANLU_POINT, TIANPING_POINT, TIANPINGLU, Ops, png
from tests.ops.test_loop import MONDAY_10

BASE = "/open311/v2"


def post(client: TestClient, key: str, fmt: str = "json", **overrides: Any) -> Any:
    form = {
        "api_key": key,
        "jurisdiction_id": "shanghai",
        "service_code": "E0101",
        "lat": str(TIANPING_POINT[1]),
        "long": str(TIANPING_POINT[0]),
        "description": "小区门口垃圾堆了三天",
        "first_name": "晓明",
        "last_name": "李",
        "phone": "13912345678",
        "media_url": "https://example.org/photos/1.jpg",
        "address_string": "永嘉路 100 号",
        **overrides,
    }
    return client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in form.items() if v is not None})


def test_services_list_and_definition_in_json_and_xml(client: TestClient) -> None:
    r = client.get(f"{BASE}/services.json", params={"jurisdiction_id": "shanghai"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    services = r.json()
    codes = {s["service_code"] for s in services}
    assert {"E0101", "E0501", "C0103"} <= codes
    first = next(s for s in services if s["service_code"] == "E0101")
    assert set(first) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert first["service_name"] == "暴露垃圾" and first["type"] == "realtime" and first["metadata"] is False
    en = client.get(f"{BASE}/services.json", headers={"Accept-Language": "en"}).json()
    assert next(s for s in en if s["service_code"] == "E0101")["service_name"] == "Exposed rubbish"

    x = client.get(f"{BASE}/services.xml")
    assert x.headers["content-type"].startswith("text/xml") and x.text.startswith('<?xml version="1.0"')
    root = ET.fromstring(x.content)
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    assert root.find("service/service_code") is not None

    d = client.get(f"{BASE}/services/C0103.json").json()
    assert d["service_code"] == "C0103" and d["attributes"][0]["code"] == "component_code"
    dx = ET.fromstring(client.get(f"{BASE}/services/C0103.xml").content)
    assert dx.tag == "service_definition" and dx.findtext("attributes/attribute/code") == "component_code"

    bad = client.get(f"{BASE}/services/X1.json")
    assert bad.status_code == 404 and bad.json()[0]["code"] == 404 and "service_code" in bad.json()[0]["description"]
    wrong = client.get(f"{BASE}/services.xml", params={"jurisdiction_id": "chicago"})
    assert wrong.status_code == 404
    err = ET.fromstring(wrong.content)
    assert err.tag == "errors" and err.findtext("error/code") == "404"


def test_post_needs_a_valid_open311_key_and_good_input(
    client: TestClient, ops: Ops, open311_key: str, db: Database
) -> None:
    assert post(client, "").status_code == 403
    r = post(client, "oc_deadbeef_nope")
    assert r.status_code == 403 and r.json()[0]["code"] == 403
    from onecity.core.identity import service as identity
    from tests.ops.conftest import SYSTEM

    with db.transaction() as session:
        _k, sensing_key = identity.create_api_key(session, SYSTEM, name="gauges", scopes=["sensing"])
    r = post(client, sensing_key)
    assert r.status_code == 403 and "open311" in r.json()[0]["description"]
    refusals: list[tuple[dict[str, Any], int, str]] = [  # form fields to post, as given
        ({"service_code": "E9999"}, 422, "unknown case type"),
        ({"lat": "31.0", "long": "110.0"}, 422, "outside Shanghai"),
        ({"lat": "north"}, 400, "lat must be a number"),
        ({"long": None}, 400, "lat and long are required"),
        ({"description": ""}, 422, "description"),
        ({"media_url": "ftp://x/y"}, 422, "media_url"),
        ({"jurisdiction_id": "nyc"}, 404, "jurisdiction"),
    ]
    for overrides, status, words in refusals:
        r = post(client, open311_key, **overrides)
        assert r.status_code == status, (overrides, r.text)
        assert words in r.json()[0]["description"]
    x = post(client, open311_key, "xml", service_code="E9999")
    assert x.status_code == 422 and ET.fromstring(x.content).tag == "errors"
    with db.sessions() as session:
        assert session.query(Case).count() == 0


def test_post_dispatch_and_read_back_with_agency_responsible(client: TestClient, ops: Ops, open311_key: str) -> None:
    with clock.frozen(MONDAY_10):
        r = post(client, open311_key)
        assert r.status_code == 201, r.text
        [created] = r.json()
        assert set(created) == {"service_request_id", "token", "service_notice", "account_id"}
        rid = created["service_request_id"]
        assert created["service_notice"] is None

        # the same problem again, 20 m away: joins the request, and the reporter is told
        again = post(client, open311_key, "xml", long=str(TIANPING_POINT[0] + 0.0002))
        assert again.status_code == 201
        el = ET.fromstring(again.content)
        assert el.tag == "service_requests" and el.findtext("request/service_request_id") == rid
        assert rid in el.findtext("request/service_notice", "")
        token = el.findtext("request/token")
        assert token
        t = client.get(f"{BASE}/tokens/{token}.json").json()
        assert t == [{"service_request_id": rid, "token": token}]

        [row] = client.get(f"{BASE}/requests/{rid}.json").json()
        assert row["status"] == "open" and row["agency_responsible"] is None  # waits for an inspector
        assert row["service_notice"] == "共 2 次报告"
        assert "phone" not in row and "13912345678" not in str(row) and "李" not in str(row)
        ops.run(service.register_case, "tp.inspector", rid)
        [row] = client.get(f"{BASE}/requests/{rid}.json").json()
        assert row["agency_responsible"] == "天平路街道市容环境卫生所"
        assert row["expected_datetime"].endswith("+08:00")
        assert row["requested_datetime"].startswith("2026-06-01T10:00:00")
        en = client.get(f"{BASE}/requests/{rid}.json", headers={"Accept-Language": "en"}).json()[0]
        assert en["agency_responsible"].endswith("Street cleansing office")

        ops.run(service.accept_case, "tp.sanitation", rid)
        media = ops.run(service.store_media, "tp.sanitation", png()).id
        ops.run(service.report_back, "tp.sanitation", rid, media_id=media)
        ops.run(service.verify_case, "tp.inspector", rid, ok=True)
        ops.run(service.close_case, "tp.operator", rid)
        other = post(client, open311_key, service_code="E0401", lat=str(HUNANLU_POINT[1]), long=str(HUNANLU_POINT[0]))
        assert other.status_code == 201

        closed = client.get(f"{BASE}/requests.json", params={"status": "closed"}).json()
        assert [c["service_request_id"] for c in closed] == [rid]
        assert closed[0]["status"] == "closed"
        both = client.get(f"{BASE}/requests.xml", params={"service_code": "E0101,E0401"})
        assert len(ET.fromstring(both.content).findall("request")) == 2
        by_id = client.get(f"{BASE}/requests.json", params={"service_request_id": rid}).json()
        assert [c["service_request_id"] for c in by_id] == [rid]
        assert client.get(f"{BASE}/requests.json", params={"status": "pending"}).status_code == 400
    assert client.get(f"{BASE}/requests/nope.json").status_code == 404
    with ops.db.sessions() as session:
        case = session.get(Case, rid)
        assert case is not None and case.township_code == TIANPINGLU and case.source == "open311"


def test_a_new_report_is_written_whole_or_not_at_all(
    client: TestClient, ops: Ops, open311_key: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case, its report, its timeline step, its audit entry and its event commit together (one
    statement on PostgreSQL, one transaction on SQLite): a failure writing the event leaves no case."""
    from sqlalchemy import func, select

    from onecity.core import events
    from onecity.core.audit import AuditEntry
    from onecity.core.events import OutboxMessage
    from onecity.ops.models import Report, StepRecord

    def count(model: Any) -> int:
        with db.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def messages() -> set[str]:
        with db.sessions() as s:
            return set(s.scalars(select(OutboxMessage.id)))

    with clock.frozen(MONDAY_10):
        r = post(client, open311_key)
        assert r.status_code == 201, r.text
        [created] = r.json()
        rid = created["service_request_id"]
        with db.sessions() as s:
            case = s.get(Case, rid)
            assert case is not None and case.status == "collected" and case.report_count == 1
            assert case.step == "register" and case.step_due_at is not None and case.level == "township"
            assert case.created_at == MONDAY_10 and case.redispatches == 0
            report = s.get(Report, created["token"])
            assert report is not None and report.case_id == rid and report.contact == "13912345678"
            assert report.reporter_name == "晓明 李" and report.duplicate is False
            [step] = s.scalars(select(StepRecord).where(StepRecord.case_id == rid)).all()
            assert (step.action, step.from_status, step.to_status) == ("collected", None, "collected")
            [entry] = s.scalars(select(AuditEntry).where(AuditEntry.object_id == rid)).all()
            assert entry.action == "ops.case.collected" and entry.object_type == "ops_case"
            assert entry.detail == {
                "from": None,
                "to": "collected",
                "report_id": report.id,
                "source": "open311",
                "subtype": "E0101",
            }
            assert entry.division_code == case.division_code and entry.at == MONDAY_10
            [message] = s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "ops.case.collected")).all()
            assert message.payload["case_id"] == rid and message.payload["status"] == "collected"
            assert message.published_at is None or message.published_at >= MONDAY_10
        before = [count(m) for m in (Case, Report, StepRecord, AuditEntry)]
        sent_before = messages()
        # the next event's row breaks a NOT NULL constraint: its insert fails, and with it everything the
        # report wrote (not an id already taken: the server's housekeeping may delete a sent event meanwhile)
        row_of = events.message_row
        monkeypatch.setattr(events, "message_row", lambda *a, **k: {**row_of(*a, **k), "occurred_at": None})
        failed = post(client, open311_key, lat=str(HUNANLU_POINT[1]), long=str(HUNANLU_POINT[0]))
        assert failed.status_code == 500
        assert [count(m) for m in (Case, Report, StepRecord, AuditEntry)] == before
        # no new event. The outbox may have shrunk (89 to 0 in one CI run): the fixtures' events were sent
        # at the frozen time, months before the real one, and a housekeeping round on the server's own
        # thread that read the real clock before the freeze deletes them as over a week old
        assert messages() <= sent_before


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_duplicate_check_in_one_statement_agrees_with_python(ops: Ops, db: Database, open311_key: str) -> None:
    """A report 49 m from an open case of its type joins it; 51 m away it opens a case of its own (the
    statement's great-circle distance is :func:`service.distance_m`); statement at a time, a report
    that joins a case asks for a transaction and wrote nothing."""
    from onecity.core import audit
    from onecity.core.identity.service import api_key_caller

    lon, lat = TIANPING_POINT
    per_metre = 1 / 111_194.93  # degrees of latitude a metre, near enough: checked below

    def report(dlat_m: float, *, at_once: bool) -> service.Intake:
        with db.sessions() as session:
            if at_once:
                audit.statement_at_a_time(session)
            principal = api_key_caller(session, open311_key).principal
            got = service.intake(
                session,
                principal,
                source="open311",
                subtype_code="E0101",
                lon=lon,
                lat=lat + dlat_m * per_metre,
                description="垃圾",
            )
            session.commit()
            return got

    with clock.frozen(MONDAY_10):
        first = report(0, at_once=True)
        assert not first.duplicate
        assert 48.9 < service.distance_m(lon, lat, lon, lat + 49 * per_metre) < 49.1
        with pytest.raises(audit.NeedsTransaction):
            report(49, at_once=True)
        with db.sessions() as session:
            assert session.query(Case).count() == 1
        joined = report(49, at_once=False)
        assert joined.duplicate and joined.case.id == first.case.id
        apart = report(-51, at_once=True)
        assert not apart.duplicate and apart.case.id != first.case.id
        # the nearest open case is the one joined
        nearer = report(-30, at_once=False)
        assert nearer.duplicate and nearer.case.id == apart.case.id


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_real_open311_client_library_reads_it(db: Database, ops: Ops, open311_key: str) -> None:
    """``georeport`` (PyPI) speaks to the server over HTTP, in JSON and in XML, unchanged."""
    import requests
    from georeport import GeoReport  # type: ignore[import-untyped]  # no stubs; the client is what this test exercises

    from tests.browser_support import live_server

    with live_server(db, "open311") as base:
        r = requests.post(
            f"{base}{BASE}/requests.json",
            data={
                "api_key": open311_key,
                "service_code": "E0403",
                "lat": TIANPING_POINT[1],
                "long": TIANPING_POINT[0],
                "description": "人行道上停了一辆车",
            },
            timeout=30,
        )
        assert r.status_code == 201
        rid = r.json()[0]["service_request_id"]
        for fmt in ("json", "xml"):
            client = GeoReport(f"{base}{BASE}", jurisdiction="shanghai", output_format=fmt)
            services = client.get_service_list()
            assert any(s["service_code"] == "E0403" for s in services)
            assert client.get_service_definition("C0103")["service_code"] == "C0103"
            one = client.get_service_request(rid)
            assert one["service_request_id"] == rid and one["status"] == "open"
            listed = client.get_service_requests(service_request_id=rid)
            listed = listed if isinstance(listed, list) else [listed]  # xmltodict: one element is a dict
            assert listed[0]["service_code"] == "E0403"


def test_dates_out_of_range_are_400_not_500(client: TestClient) -> None:
    for params in (
        {"end_date": "0001-01-01T00:00:00Z"},  # 90 days before it is no date at all
        {"end_date": "9999-12-31T23:59:59-14:00"},  # past the last UTC instant Python can hold
        {"start_date": "0001-01-01T00:00:00+14:00"},
        {"start_date": "1000-01-01T00:00:00Z", "end_date": "1000-02-01T00:00:00Z"},
    ):
        r = client.get(f"{BASE}/requests.json", params=params)
        assert r.status_code == 400, (params, r.text)
        assert "between 1970 and 2200" in r.json()[0]["description"], params
    r = client.get(f"{BASE}/requests.xml", params={"end_date": "0001-01-01T00:00:00Z"})
    assert r.status_code == 400 and ET.fromstring(r.content).tag == "errors"


def test_nul_bytes_and_invalid_utf8_are_refused_in_forms_json_and_queries(
    client: TestClient, ops: Ops, open311_key: str, db: Database
) -> None:
    from urllib.parse import urlencode

    form = {
        "api_key": open311_key,
        "service_code": "E0101",
        "lat": str(TIANPING_POINT[1]),
        "long": str(TIANPING_POINT[0]),
        "description": "小区门口垃圾堆了三天",
    }
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    refused: list[tuple[str, Any]] = [
        ("NUL", post(client, open311_key, description="垃圾\x00堆")),
        ("NUL", post(client, open311_key, address_string="永嘉路\x00")),
        (
            "UTF-8",
            client.post(
                f"{BASE}/requests.json", content=urlencode(form) + "&address_string=%FF%FE", headers=urlencoded
            ),
        ),
        (
            "UTF-8",
            client.post(
                f"{BASE}/requests.json", content=urlencode(form).encode() + b"&first_name=\xff", headers=urlencoded
            ),
        ),
        ("NUL", client.post(f"{BASE}/requests.json", json={**form, "description": "a\u0000b"})),
        (
            "UTF-8",
            client.post(
                f"{BASE}/requests.json",
                content=b'{"description": "\xff\xfe"}',
                headers={"Content-Type": "application/json"},
            ),
        ),
        (
            "UTF-8",
            client.post(
                f"{BASE}/requests.json",
                content=json.dumps({**form, "description": "\ud800"}),
                headers={"Content-Type": "application/json"},
            ),
        ),
        ("UTF-8", client.post(f"{BASE}/requests.json?" + urlencode(form) + "&description=%C3%28")),
        (
            "NUL",
            client.post(f"{BASE}/requests.json", files={"x": ("a.txt", b"x")}, data={**form, "description": "a\x00"}),
        ),
        ("UTF-8", client.get(f"{BASE}/requests.json?status=%FF")),
        ("NUL", client.get(f"{BASE}/services.json?jurisdiction_id=shanghai%00")),
    ]
    for words, r in refused:
        assert r.status_code == 400, (words, r.text)
        assert words in r.json()[0]["description"], r.text
    with db.sessions() as session:
        assert session.query(Case).count() == 0
    # the same report in good JSON is taken, like the form
    with clock.frozen(MONDAY_10):
        r = client.post(f"{BASE}/requests.json", json={**form, "lat": TIANPING_POINT[1], "long": TIANPING_POINT[0]})
    assert r.status_code == 201, r.text
    # and Latin letters in a multipart form are not mistaken for bad bytes
    with clock.frozen(MONDAY_10):
        r = client.post(
            f"{BASE}/requests.json",
            files={"x": ("a.txt", b"x")},
            data={
                **form,
                "description": "café au lait spilt",
                "lat": str(HUNANLU_POINT[1]),
                "long": str(HUNANLU_POINT[0]),
            },
        )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_api_key_in_the_query_string_stays_out_of_the_access_log(db: Database, ops: Ops, open311_key: str) -> None:
    """A real uvicorn with its own logging config, as ``onecity serve`` runs it; the log is captured."""
    import logging
    import secrets
    import threading
    import time

    import requests
    import uvicorn

    from onecity.api.app import create_app
    from onecity.core.config import Environment, Settings
    from tests.browser_support import free_port

    settings = Settings(env=Environment.TEST, database_url=db.url, secret_key=secrets.token_urlsafe(48))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db=db), host="127.0.0.1", port=port, log_level="info"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    access = logging.getLogger("uvicorn.access")
    capture = Capture()
    capture.setFormatter(access.handlers[0].formatter if access.handlers else logging.Formatter())
    access.addHandler(capture)
    try:
        base = f"http://127.0.0.1:{port}/open311/v2"
        secret = open311_key.split("_", 2)[2]
        with clock.frozen(MONDAY_10):
            r = requests.post(
                f"{base}/requests.json?api_key={open311_key}&service_code=E0101"
                f"&lat={TIANPING_POINT[1]}&long={TIANPING_POINT[0]}&description=rubbish",
            )
        assert r.status_code == 201, r.text
        requests.get(f"{base}/requests.json?jurisdiction_id=shanghai&access_token=tok-{secret}&status=open")
        deadline = time.monotonic() + 5
        while len(lines) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        access.removeHandler(capture)
        server.should_exit = True
        thread.join(timeout=10)
    log = "\n".join(lines)
    assert "POST /open311/v2/requests.json?api_key=[redacted]&service_code=E0101" in log, log
    assert "access_token=[redacted]&status=open" in log, log
    assert secret not in log and open311_key not in log


def test_a_retried_report_with_an_idempotency_key_is_answered_not_duplicated(
    client: TestClient, ops: Ops, open311_key: str, db: Database
) -> None:
    """A 311 app that lost the answer and posts again makes one report, not two (issue 12, point 5)."""
    from sqlalchemy import func, select

    from onecity.ops.models import Report

    def reports() -> int:
        with db.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(Report)) or 0)

    form = {
        "api_key": open311_key,
        "service_code": "E0101",
        "lat": str(TIANPING_POINT[1]),
        "long": str(TIANPING_POINT[0]),
        "description": "井盖缺失",
    }
    with clock.frozen(MONDAY_10):
        first = client.post(f"{BASE}/requests.json", data=form, headers={"Idempotency-Key": "app-7f3a"})
        assert first.status_code == 201, first.text
        again = client.post(f"{BASE}/requests.json", data=form, headers={"Idempotency-Key": "app-7f3a"})
        assert again.status_code == 201 and again.content == first.content
        assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
        assert reports() == 1
        # the same key for another report is a client bug: refused in Open311's error shape
        other = client.post(
            f"{BASE}/requests.json", data={**form, "description": "另一件事"}, headers={"Idempotency-Key": "app-7f3a"}
        )
        assert other.status_code == 422 and "different request" in other.json()[0]["description"]
        xml = client.post(f"{BASE}/requests.xml", data=form, headers={"Idempotency-Key": "app-7f3a"})
        assert xml.status_code == 422 and xml.text.startswith("<?xml")
        bad = client.post(f"{BASE}/requests.json", data=form, headers={"Idempotency-Key": "x" * 300})
        assert bad.status_code == 422
        assert reports() == 1
        # without a key, a second post is a second report (joined to the same request)
        assert post(client, open311_key).status_code == 201 and reports() == 2
    schema = client.get("/openapi.json").json()
    params = schema["paths"]["/open311/v2/requests.{fmt}"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params)


def test_concurrent_retries_with_one_idempotency_key_make_one_report(db: Database, ops: Ops, open311_key: str) -> None:
    """Retries racing each other on a real server: the key's unique row makes the later ones wait and replay."""
    import threading
    import urllib.parse
    import urllib.request

    from sqlalchemy import func, select

    from onecity.ops.models import Report
    from tests.browser_support import live_server

    form = urllib.parse.urlencode(
        {
            "api_key": open311_key,
            "service_code": "E0101",
            "lat": str(TIANPING_POINT[1]),
            "long": str(TIANPING_POINT[0]),
            "description": "路灯不亮",
        }
    ).encode()

    def send(url: str, key: str, start: threading.Barrier, answers: list[tuple[int, bytes, str | None]]) -> None:
        start.wait()
        req = urllib.request.Request(url, data=form, headers={"Idempotency-Key": key}, method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            answers.append((r.status, r.read(), r.headers.get("Idempotent-Replayed")))

    with live_server(db, "open311-idempotency") as base:
        for round_ in range(3):
            answers: list[tuple[int, bytes, str | None]] = []
            start = threading.Barrier(4)
            args = (f"{base}{BASE}/requests.json", f"race-{round_}", start, answers)
            threads = [threading.Thread(target=send, args=args) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert [a[0] for a in answers] == [201] * 4, answers
            assert len({a[1] for a in answers}) == 1  # every retry got the first answer
            assert [a[2] for a in answers].count("true") == 3
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 3  # one per key, not twelve


def test_request_times_are_shanghai_time_as_the_time_zone_database_says() -> None:
    """The fixed +08:00 the rows are formatted with (since 1992) agrees with zoneinfo; before it, zoneinfo's
    own answer (Shanghai kept summer time until 1991). Fails if the time zone database ever disagrees."""
    from datetime import UTC, datetime, timedelta

    from onecity.ops.open311 import _w3c

    assert _w3c(None) is None
    t = datetime(1986, 5, 4, 12, 0, 7, 900_000, tzinfo=UTC)
    end = datetime(2101, 1, 1, tzinfo=UTC)
    while t < end:  # every 11 days and 7 hours and a bit: every hour of the day and day of the year
        assert _w3c(t) == clock.local(t).isoformat(timespec="seconds"), t
        t += timedelta(days=11, hours=7, minutes=13, seconds=1)
    assert _w3c(datetime(1991, 7, 1, 4, tzinfo=UTC)) == "1991-07-01T13:00:00+09:00"  # summer time, 1991
    assert _w3c(datetime(2026, 12, 5, 6, 30, 59, 999_999, tzinfo=UTC)) == "2026-12-05T14:30:59+08:00"
