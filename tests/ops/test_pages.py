"""The operations pages as a browser reads them: hotline form, unit desk, inspector, centre, SSE, scope."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from onecity.core import clock
from onecity.ops import service
from tests.ops.conftest import HUNANLU, TIANPING_POINT, TIANPINGLU, XUHUI, Ops, png
from tests.ops.test_loop import MONDAY_10
from tests.web_support import csrf, sign_in


def test_hotline_to_unit_to_inspector_to_centre(client: TestClient, staff_users: Callable[..., Ops]) -> None:
    ops = staff_users("hotline", "tp.sanitation", "tp.inspector", "tp.operator", "xh.operator")
    with clock.frozen(MONDAY_10):
        sign_in(client, "hotline")
        page = client.get("/ops/hotline")
        assert page.status_code == 200 and "12345" in page.text
        r = client.post(
            "/ops/hotline",
            data={
                "csrf_token": csrf(page.text),
                "subtype": "E0101",
                "lon": str(TIANPING_POINT[0]),
                "lat": str(TIANPING_POINT[1]),
                "description": "路口垃圾",
                "reporter": "王女士",
                "contact": "13800001111",
            },
        )
        assert r.status_code == 200 and 'id="hotline-result"' in r.text and "天平路街道市容环境卫生所" in r.text
        found = re.search(r'data-case="([0-9a-f-]{36})"', r.text)
        assert found, r.text
        cid = found.group(1)
        number = ops.run(service.get_case, "tp.operator", cid).number  # what the call-taker reads out
        assert re.fullmatch(r"20260601[0-9A-F]{8}", number) and number in r.text
        bad = client.post(
            "/ops/hotline",
            data={"csrf_token": csrf(page.text), "subtype": "E0101", "lon": "abc", "lat": "31.2", "description": "x"},
        )
        assert bad.status_code == 422 and "lon must be a number" in bad.text
        client.cookies.clear()

        sign_in(client, "tp.sanitation")
        assert client.get("/ops", follow_redirects=False).headers["location"] == "/ops/unit"
        desk = client.get("/ops/unit")
        assert cid in desk.text
        r = client.post(
            f"/ops/cases/{cid}/accept", data={"csrf_token": csrf(desk.text), "back": "unit"}, follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"] == "/ops/unit?done=disposing"
        desk = client.get("/ops/unit")
        no_photo = client.post(f"/ops/cases/{cid}/report", data={"csrf_token": csrf(desk.text), "back": "unit"})
        assert no_photo.status_code == 422 and "photo" in no_photo.text
        not_image = client.post(
            f"/ops/cases/{cid}/report",
            data={"csrf_token": csrf(desk.text)},
            files={"photo": ("x.jpg", b"not an image", "image/jpeg")},
        )
        assert not_image.status_code == 422 and "JPEG, PNG or WebP" in not_image.text
        r = client.post(
            f"/ops/cases/{cid}/report",
            data={"csrf_token": csrf(desk.text), "back": "unit", "note": "已清运"},
            files={"photo": ("done.png", png(), "image/png")},
            follow_redirects=False,
        )
        assert r.status_code == 303
        client.cookies.clear()

        sign_in(client, "tp.inspector")
        patrol = client.get("/ops/inspector")
        assert cid in patrol.text and "ops-thumb" in patrol.text
        shown = re.search(r'src="/ops/media/([0-9a-f-]{36})"', patrol.text)
        assert shown, patrol.text
        media = shown.group(1)
        img = client.get(f"/ops/media/{media}")
        assert img.status_code == 200 and img.headers["content-type"] == "image/png"
        r = client.post(
            f"/ops/cases/{cid}/verify",
            data={"csrf_token": csrf(patrol.text), "back": "inspector"},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/ops/inspector?done=verified"
        # a new report from patrol, with a photo
        r = client.post(
            "/ops/inspector/report",
            data={
                "csrf_token": csrf(patrol.text),
                "subtype": "E0201",
                "lon": str(TIANPING_POINT[0]),
                "lat": str(TIANPING_POINT[1]),
                "description": "电箱上的小广告",
            },
            files={"photo": ("p.png", png(), "image/png")},
        )
        assert r.status_code == 200 and 'id="inspector-result"' in r.text
        client.cookies.clear()

        sign_in(client, "tp.operator")
        case_page = client.get(f"/ops/cases/{number}")  # a number said on the phone finds the case
        assert 'data-action="close"' in case_page.text and f"/ops/cases/{cid}/close" in case_page.text
        assert client.get(f"/ops/cases/20260602{number[8:]}").status_code == 404  # not opened that day
        r = client.post(f"/ops/cases/{cid}/close", data={"csrf_token": csrf(case_page.text)}, follow_redirects=False)
        assert r.headers["location"] == f"/ops/cases/{cid}?done=closed"
        assert client.get(f"/ops/centre/{TIANPINGLU}").status_code == 200
        assert client.get(f"/ops/centre/{HUNANLU}").status_code == 403  # another township's centre
        assert client.get(f"/ops/centre/{XUHUI}/cases.geojson").status_code == 403
        client.cookies.clear()

        sign_in(client, "xh.operator")
        assert client.get("/ops", follow_redirects=False).headers["location"] == f"/ops/centre/{XUHUI}"
        centre_page = client.get(f"/ops/centre/{XUHUI}")
        assert centre_page.status_code == 200 and 'id="ops-map"' in centre_page.text
        assert "<script>" not in centre_page.text  # no inline scripts (CSP)
        assert TIANPINGLU in centre_page.text  # drill-down row for the township
        points = client.get(f"/ops/centre/{XUHUI}/cases.geojson").json()
        assert points["type"] == "FeatureCollection" and len(points["features"]) == 1  # the patrol report
        with client.stream("GET", f"/ops/centre/{XUHUI}/live", params={"max_events": 1}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            body = "".join(stream.iter_text())
        assert body.startswith("event: counts")
        data = json.loads(body.split("data: ", 1)[1])
        assert data["totals"]["open"] == 1 and data["by_status"]["closed"] == 1
    assert ops.run(service.get_case, "xh.operator", cid).status == "closed"


def test_pages_refuse_the_wrong_people(client: TestClient, staff_users: Callable[..., Ops]) -> None:
    ops = staff_users("tp.enforcement", "hn.operator")
    sign_in(client, "tp.enforcement")
    with clock.frozen(MONDAY_10):
        cid = ops.hotline_rubbish("垃圾")
    desk = client.get("/ops/unit")
    assert cid not in desk.text  # sent to the sanitation office, not the enforcement squad
    r = client.post(f"/ops/cases/{cid}/accept", data={"csrf_token": csrf(desk.text)})
    assert r.status_code == 403
    no_csrf = client.post(f"/ops/cases/{cid}/accept", data={})
    assert no_csrf.status_code == 403
    client.cookies.clear()
    sign_in(client, "hn.operator")
    assert client.get(f"/ops/cases/{cid}").status_code == 403
    assert client.get(f"/ops/centre/{TIANPINGLU}/live", params={"max_events": 1}).status_code == 403
    client.cookies.clear()
    assert client.get("/ops/hotline", follow_redirects=False).status_code in (303, 401)
