"""``/api/v1/ops``: camera feeds with a sensing key, transitions over JSON, scope, validation as problem+json."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.errors import InvalidInput
from onecity.core.identity import service as identity
from tests.ops.conftest import HUNANLU, SYSTEM, TIANPING_POINT, TIANPINGLU, Ops, png
from tests.ops.test_loop import MONDAY_10


def test_camera_feed_transitions_and_scope(
    client: TestClient, db: Database, staff_users: Callable[..., Ops], login: Callable[[str], dict[str, str]]
) -> None:
    staff_users("tp.enforcement", "hn.operator", "tp.inspector")
    with db.transaction() as session:
        _k, cam = identity.create_api_key(session, SYSTEM, name="xh-cameras", scopes=["sensing"])
        _k, app = identity.create_api_key(session, SYSTEM, name="311", scopes=["open311"])
    detection = {
        "source": "camera",
        "subtype_code": "E0402",
        "lon": TIANPING_POINT[0],
        "lat": TIANPING_POINT[1],
        "description": "占道经营（视频识别 置信度 0.91）",
        "external_id": "cam-17/2026-06-01T10:00",
    }
    with clock.frozen(MONDAY_10):
        r = client.post("/api/v1/ops/reports", json=detection, headers={"Authorization": f"Bearer {cam}"})
        assert r.status_code == 201, r.text
        made = r.json()
        assert made["status"] == "dispatched" and made["duplicate"] is False and made["unit_agency_id"]
        again = client.post("/api/v1/ops/reports", json=detection, headers={"Authorization": f"Bearer {cam}"})
        assert again.json()["duplicate"] is True and again.json()["case_id"] == made["case_id"]
        assert "joined case" in again.json()["notice"]
        # an Open311 key cannot pose as a camera; unknown fields are refused
        denied = client.post("/api/v1/ops/reports", json=detection, headers={"Authorization": f"Bearer {app}"})
        assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
        extra = client.post(
            "/api/v1/ops/reports", json={**detection, "priority": 1}, headers={"Authorization": f"Bearer {cam}"}
        )
        assert extra.status_code == 422

        unit = login("tp.enforcement")
        cid = made["case_id"]
        mine = client.get("/api/v1/ops/cases", params={"mine": True}, headers=unit).json()
        assert [c["id"] for c in mine] == [cid] and mine[0]["report_count"] == 2
        assert client.post(f"/api/v1/ops/cases/{cid}/accept", json={}, headers=unit).json()["status"] == "disposing"
        missing = client.post(f"/api/v1/ops/cases/{cid}/report", json={}, headers=unit)
        assert missing.status_code == 422 and "photo" in missing.json()["detail"]
        media = client.post("/api/v1/ops/media", files={"photo": ("p.png", png(), "image/png")}, headers=unit)
        assert media.status_code == 201
        done = client.post(
            f"/api/v1/ops/cases/{cid}/report", json={"media_id": media.json()["id"], "note": "已清理"}, headers=unit
        )
        assert done.status_code == 200 and done.json()["status"] == "reported"
        bad = client.post(f"/api/v1/ops/cases/{cid}/fly", json={}, headers=unit)
        assert bad.status_code == 422

        other = login("hn.operator")
        assert client.get(f"/api/v1/ops/cases/{cid}", headers=other).status_code == 403
        assert client.get(f"/ops/media/{media.json()['id']}", headers=other).status_code == 403  # another township
        assert client.get(f"/api/v1/ops/centres/{TIANPINGLU}", headers=other).status_code == 403
        assert client.get(f"/api/v1/ops/centres/{HUNANLU}", headers=other).json()["totals"]["open"] == 0
        inspector = login("tp.inspector")
        detail = client.get(f"/api/v1/ops/cases/{cid}", headers=inspector).json()
        assert [s["action"] for s in detail["timeline"]] == [
            "collected",
            "registered",
            "dispatched",
            "merged",
            "accepted",
            "reported",
        ]
        tax = client.get("/api/v1/ops/taxonomy", headers=inspector).json()
        assert tax["subtypes"]["E0402"]["department"] == "enforcement"
    assert client.get("/api/v1/ops/cases").status_code == 401


def test_a_component_from_the_registry_links_reports_and_alerts(
    client: TestClient, db: Database, staff_users: Callable[..., Ops], login: Callable[[str], dict[str, str]]
) -> None:
    from onecity.core.events import publish
    from onecity.hub.geography.index import grid_index
    from onecity.hub.registries.models import Component
    from onecity.ops import service
    from onecity.ops.models import Case, Unit
    from onecity.sensing.events import ALERT_RAISED, AlertRaised

    ops = staff_users("tp.inspector")
    lon, lat = TIANPING_POINT[0] + 0.0003, TIANPING_POINT[1]
    grid = grid_index(db).locate_one(lon, lat)
    assert grid is not None
    with db.transaction() as session:  # the grid is the database's own (tests.grids)
        session.add(
            Component(
                id=9001,
                code="310104010300000042",
                class_code="0103",
                grid_code=grid.grid,
                division_code=TIANPINGLU,
                lon=lon,
                lat=lat,
                owner_department="徐汇区水务局",
                status="damaged",
            )
        )
    near = client.get(
        "/ops/components/near",
        params={"lon": TIANPING_POINT[0], "lat": TIANPING_POINT[1]},
        headers=login("tp.inspector"),
    ).json()
    assert near[0]["id"] == 9001 and near[0]["service_code"] == "C0103" and 25 < near[0]["distance_m"] < 35
    with clock.frozen(MONDAY_10):
        with pytest.raises(InvalidInput, match="report it as C0103"):
            ops.run(
                service.intake,
                "tp.inspector",
                source="inspector",
                subtype_code="C0120",
                component_id=9001,
                description="井盖",
            )
        got = ops.run(
            service.intake,
            "tp.inspector",
            source="inspector",
            subtype_code="C0103",
            component_id=9001,
            description="雨水井盖破损",
        )
        assert got.case.component_id == 9001 and (got.case.lon, got.case.lat) == (lon, lat)
        with db.transaction() as session:
            publish(
                session,
                ALERT_RAISED,
                AlertRaised(
                    alert_id="al-cover",
                    rule_id="r-9",
                    rule_name="井盖位移",
                    kind="threshold",
                    level="yellow",
                    observed_property="tilt",
                    message="井盖倾角 12° ≥ 10°",
                    lon=lon + 0.001,
                    lat=lat,
                    division_code=TIANPINGLU,
                    thing_id="t-9",
                    component_id="9001",
                    raised_at=clock.now(),
                ),
                principal=SYSTEM,
                reason="test",
            )
    # the app's own relay and consumers deliver the alert (no deliver_pending beside a running relay)
    deadline = time.monotonic() + 20
    while True:
        with db.sessions() as session:
            [case] = session.query(Case).all()  # the alert about the same component joins the inspector's case
            if case.report_count == 2 or time.monotonic() > deadline:
                break
        time.sleep(0.1)
    with db.sessions() as session:
        [case] = session.query(Case).all()
        assert case.report_count == 2 and case.subtype_code == "C0103"
        assert session.get_one(Unit, case.unit_agency_id).department == "water"
