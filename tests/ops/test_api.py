"""``/api/v1/ops``: camera feeds with a sensing key, transitions over JSON, scope, validation as problem+json."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.identity import service as identity
from tests.ops.conftest import HUNANLU, SYSTEM, TIANPING_POINT, TIANPINGLU, Ops, png
from tests.ops.test_loop import MONDAY_10


def test_camera_feed_transitions_and_scope(client: TestClient, db: Database, staff_users: Callable[..., Ops],
                                           login: Callable[[str], dict[str, str]]) -> None:
    staff_users("tp.enforcement", "hn.operator", "tp.inspector")
    with db.transaction() as session:
        _k, cam = identity.create_api_key(session, SYSTEM, name="xh-cameras", scopes=["sensing"])
        _k, app = identity.create_api_key(session, SYSTEM, name="311", scopes=["open311"])
    detection = {"source": "camera", "subtype_code": "E0402", "lon": TIANPING_POINT[0], "lat": TIANPING_POINT[1],
                 "description": "占道经营（视频识别 置信度 0.91）", "external_id": "cam-17/2026-06-01T10:00"}
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
        extra = client.post("/api/v1/ops/reports", json={**detection, "priority": 1},
                            headers={"Authorization": f"Bearer {cam}"})
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
        done = client.post(f"/api/v1/ops/cases/{cid}/report", json={"media_id": media.json()["id"], "note": "已清理"},
                           headers=unit)
        assert done.status_code == 200 and done.json()["status"] == "reported"
        bad = client.post(f"/api/v1/ops/cases/{cid}/fly", json={}, headers=unit)
        assert bad.status_code == 422

        other = login("hn.operator")
        assert client.get(f"/api/v1/ops/cases/{cid}", headers=other).status_code == 403
        assert client.get(f"/api/v1/ops/centres/{TIANPINGLU}", headers=other).status_code == 403
        assert client.get(f"/api/v1/ops/centres/{HUNANLU}", headers=other).json()["totals"]["open"] == 0
        inspector = login("tp.inspector")
        detail = client.get(f"/api/v1/ops/cases/{cid}", headers=inspector).json()
        assert [s["action"] for s in detail["timeline"]] == ["collected", "registered", "dispatched", "merged",
                                                            "accepted", "reported"]
        tax = client.get("/api/v1/ops/taxonomy", headers=inspector).json()
        assert tax["subtypes"]["E0402"]["department"] == "enforcement"
    assert client.get("/api/v1/ops/cases").status_code == 401
