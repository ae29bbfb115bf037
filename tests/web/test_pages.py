"""The server-rendered pages: languages, large text, signing in and out, administration, errors.

Runs on SQLite and PostgreSQL through the shared fixtures. Pages are read as a browser
would: forms are fetched first and their CSRF token is taken from the HTML.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from onecity.core import clock
from onecity.core.identity.roles import Role
from onecity.web import i18n
from tests.conftest import PASSWORD
from tests.web_support import csrf, post_sign_in, sign_in

TEMPLATES = Path(i18n.__file__).parent / "templates"
CITY, XUHUI, HUANGPU = "310000000000", "310104000000", "310101000000"
TIANPINGLU, WAITAN = "310104003000", "310101013000"  # townships in Xuhui and Huangpu


@pytest.fixture
def make_staff(make_user: Callable[..., object]) -> Callable[..., object]:
    """``make_user`` with this module's password, which the sign-in form then uses."""

    def _make(username: str, *roles: Role, **kwargs: object) -> object:
        return make_user(username, *roles, password=PASSWORD, **kwargs)

    return _make


def map_data(page: Response) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="district-map-data">(.*?)</script>', page.text, re.S)
    assert found
    data: dict[str, Any] = json.loads(found.group(1))  # the page's JSON for the map script
    return data


# -- home, language, large text ---------------------------------------------------------------


def test_home_is_chinese_by_default_with_district_map_data(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in r.text
    assert "上海市十六个区" in r.text and "一网通办 · 一网统管" in r.text
    data = map_data(r)
    districts = {d["code"]: d for d in data["districts"]}
    assert len(districts) == 16
    assert districts[XUHUI]["label"] == "徐汇区" and districts[XUHUI]["value"] == 13
    assert districts["310115000000"]["value"] == 36  # Pudong New Area
    assert sum(d["value"] for d in districts.values()) == 216
    # every outline in the GeoJSON the map draws has its district in the data
    geo = client.get(str(data["geojson"]))
    assert geo.status_code == 200 and geo.headers["content-type"] == "application/geo+json"
    gbs = {f["properties"]["gb"] for f in geo.json()["features"]}
    assert gbs == {d["name"] for d in districts.values()}


def test_home_in_english_after_switching_language(client: TestClient) -> None:
    r = client.get("/lang/en?next=/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "lang=en" in r.headers["set-cookie"]
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert "Digital governance for Shanghai" in page.text and "上海市十六个区" not in page.text
    labels = {d["code"]: d["label"] for d in map_data(page)["districts"]}
    assert labels[XUHUI] == "Xuhui" and labels["310115000000"] == "Pudong New Area"
    client.get("/lang/zh")
    assert '<html lang="zh-CN">' in client.get("/").text


def test_unknown_language_cookie_falls_back_to_default(client: TestClient) -> None:
    client.cookies.set("lang", "fr")
    assert '<html lang="zh-CN">' in client.get("/").text


def test_language_switch_returns_to_a_local_page(client: TestClient) -> None:
    r = client.get("/lang/en", params={"next": "/login?next=/admin/users"}, follow_redirects=False)
    assert r.headers["location"] == "/login?next=/admin/users"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example/x",
        "/ok\r\nSet-Cookie: x=1",
    ],
)
def test_language_switch_refuses_to_redirect_off_site(client: TestClient, target: str) -> None:
    r = client.get("/lang/en", params={"next": target}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_large_text_mode_adds_the_body_class(client: TestClient) -> None:
    assert '<body class="">' in client.get("/").text
    r = client.get("/a11y/large?next=/login", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "a11y=large" in r.headers["set-cookie"]
    assert '<body class="large-text">' in client.get("/").text
    client.get("/a11y/standard")
    assert '<body class="">' in client.get("/").text


def test_large_text_stylesheet_sets_at_least_22px() -> None:
    css = (TEMPLATES.parent / "static" / "css" / "onecity.css").read_text()
    rule = re.search(r"body\.large-text\s*\{([^}]*)\}", css)
    assert rule
    size = re.search(r"font-size:\s*(\d+)px", rule.group(1))
    assert size and int(size.group(1)) >= 22


# -- signing in and out -----------------------------------------------------------------------


def test_login_success_sets_session_cookie_and_redirects(
    client: TestClient, make_staff: Callable[..., object], settings: object
) -> None:
    make_staff("admin.xh", Role.ADMIN)
    r = sign_in(client, "admin.xh", next_path="/admin/users")
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/users"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("onecity_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=28800" in cookie
    page = client.get("/admin/users")
    assert page.status_code == 200 and "admin.xh" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_login_refuses_an_off_site_next(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("admin.xh", Role.ADMIN)
    r = sign_in(client, "admin.xh", next_path="https://evil.example/")
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_wrong_password_shows_the_form_again_with_401(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("admin.xh", Role.ADMIN)
    r = post_sign_in(client, "admin.xh", password="Not-the-password-1")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert 'value="admin.xh"' in r.text  # the username is kept
    assert "onecity_session" not in r.headers.get("set-cookie", "")
    assert client.get("/admin/users", follow_redirects=False).status_code == 303


def test_failed_logins_count_until_the_form_is_throttled(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("admin.xh", Role.ADMIN)
    for _ in range(5):
        assert post_sign_in(client, "admin.xh", password="Not-the-password-1").status_code == 401
    r = post_sign_in(client, "admin.xh")  # even the right password waits now
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert "登录失败次数过多" in r.text


def test_login_with_a_mismatched_csrf_token_is_refused(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("admin.xh", Role.ADMIN)
    client.get("/login")  # the nonce cookie is set, but the form value is forged
    r = client.post(
        "/login", data={"username": "admin.xh", "password": PASSWORD, "csrf_token": "forged"}, follow_redirects=False
    )
    assert r.status_code == 403
    assert "onecity_session" not in r.headers.get("set-cookie", "")
    assert "表单已过期" in r.text


def test_login_without_the_nonce_cookie_is_refused(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("admin.xh", Role.ADMIN)
    token = csrf(client.get("/login"))
    client.cookies.clear()  # a cross-site post carries the page's token but not the visitor's cookie
    r = client.post(
        "/login", data={"username": "admin.xh", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 403


def test_logout_needs_the_csrf_token(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("admin.xh", Role.ADMIN)
    assert sign_in(client, "admin.xh").status_code == 303
    page = client.get("/admin/users")
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert client.get("/admin/users").status_code == 200  # still signed in
    r = client.post("/logout", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert 'onecity_session=""' in r.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/admin/users", follow_redirects=False).status_code == 303


def test_a_logged_out_session_cookie_no_longer_works(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("admin.xh", Role.ADMIN)
    sign_in(client, "admin.xh")
    stolen = client.cookies.get("onecity_session")
    client.post("/logout", data={"csrf_token": csrf(client.get("/admin/users"))})
    client.cookies.set("onecity_session", stolen or "")
    assert client.get("/admin/users", follow_redirects=False).status_code == 303


# -- administration ---------------------------------------------------------------------------


def test_admin_page_sends_the_anonymous_to_sign_in(client: TestClient) -> None:
    r = client.get("/admin/users", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/admin/users"


def test_admin_page_is_403_for_the_wrong_role(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("clerk.xh", Role.COUNTER_CLERK)
    sign_in(client, "clerk.xh")
    r = client.get("/admin/users")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "没有权限" in r.text
    assert "用户管理" not in r.text  # the nav hides what the user may not open


def test_admin_sees_only_users_of_their_own_district(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("admin.xh", Role.ADMIN, division_code=XUHUI)
    make_staff("clerk.xjh", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    make_staff("admin.hp", Role.ADMIN, division_code=HUANGPU)
    make_staff("clerk.wt", Role.COUNTER_CLERK, division_code=WAITAN)
    sign_in(client, "admin.xh")
    r = client.get("/admin/users")
    assert r.status_code == 200
    table = r.text.split("<tbody>")[1].split("</tbody>")[0]
    assert "admin.xh" in table and "clerk.xjh" in table
    assert "天平路街道" in table  # 310104003000, shown by name
    assert "admin.hp" not in r.text and "clerk.wt" not in r.text


def _create_form(client: TestClient, **fields: object) -> Response:
    page = client.get("/admin/users")
    data: dict[str, object] = {
        "csrf_token": csrf(page),
        "username": "clerk.new",
        "display_name": "张三",
        "password": "Strong-pass-77",
        "agency_code": "gov-310104",
        "division_code": TIANPINGLU,
        "roles": ["counter_clerk", "reviewer"],
    }
    data.update(fields)
    return client.post("/admin/users", data=data, follow_redirects=False)


def test_admin_creates_a_staff_user_through_the_form(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("admin.xh", Role.ADMIN)
    sign_in(client, "admin.xh")
    r = _create_form(client)
    assert r.status_code == 303 and r.headers["location"] == "/admin/users?created=clerk.new"
    page = client.get(r.headers["location"])
    assert "已创建账号 clerk.new" in page.text
    assert "张三" in page.text and "窗口受理员" in page.text and "审核员" in page.text


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"password": "short"}, 422, "at least 10 characters"),
        ({"username": "X"}, 422, "username must be"),
        ({"roles": []}, 422, "at least one role"),
        ({"roles": ["mayor"]}, 422, "unknown role"),
        ({"agency_code": "no-such-agency"}, 422, "no agency"),
    ],
)
def test_create_user_form_shows_domain_errors(
    client: TestClient, make_staff: Callable[..., object], fields: dict[str, object], status: int, message: str
) -> None:
    make_staff("admin.xh", Role.ADMIN)
    sign_in(client, "admin.xh")
    r = _create_form(client, **fields)
    assert r.status_code == status
    assert "输入有误" in r.text and message in html.unescape(r.text)
    assert "clerk.new" not in client.get("/admin/users").text.split("<tbody>")[1]


def test_create_user_form_reports_a_taken_username_as_409(
    client: TestClient, make_staff: Callable[..., object]
) -> None:
    make_staff("admin.xh", Role.ADMIN)
    sign_in(client, "admin.xh")
    assert _create_form(client).status_code == 303
    r = _create_form(client)
    assert r.status_code == 409
    assert "与现有数据冲突" in r.text


def test_create_user_outside_the_admins_area_is_403(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("admin.xh", Role.ADMIN)
    make_staff("admin.hp", Role.ADMIN, division_code=HUANGPU)  # creates agency gov-310101
    sign_in(client, "admin.xh")
    r = _create_form(client, agency_code="gov-310101", division_code=WAITAN)
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")


def test_create_user_without_csrf_is_refused(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("admin.xh", Role.ADMIN)
    sign_in(client, "admin.xh")
    r = _create_form(client, csrf_token="")
    assert r.status_code == 403


def test_times_are_shown_in_shanghai(client: TestClient, make_staff: Callable[..., object]) -> None:
    with clock.frozen(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)):
        make_staff("admin.xh", Role.ADMIN)
    sign_in(client, "admin.xh")
    assert "2026-03-02 07:30:00" in client.get("/admin/users").text


# -- audit ------------------------------------------------------------------------------------


def test_auditor_sees_the_log_and_verifies_the_chain(client: TestClient, make_staff: Callable[..., object]) -> None:
    make_staff("auditor.city", Role.AUDITOR, division_code=CITY)
    sign_in(client, "auditor.city")
    page = client.get("/audit")
    assert page.status_code == 200
    table = page.text[page.text.index('id="audit-table"') :]
    assert "登录" in table and "创建用户" in table  # actions in words, not keys
    assert "core.auth.login" not in table and "core.user.created" not in table
    r = client.post("/audit/verify", data={"csrf_token": csrf(page)})
    assert r.status_code == 200
    assert "哈希链完整" in r.text


def test_audit_page_access(client: TestClient, make_staff: Callable[..., object]) -> None:
    assert client.get("/audit", follow_redirects=False).headers["location"] == "/login?next=/audit"
    make_staff("admin.xh", Role.ADMIN)
    sign_in(client, "admin.xh")
    assert client.get("/audit").status_code == 403


def test_district_auditor_has_no_verify_button_and_cannot_verify(
    client: TestClient, make_staff: Callable[..., object]
) -> None:
    make_staff("auditor.xh", Role.AUDITOR)
    sign_in(client, "auditor.xh")
    page = client.get("/audit")
    assert page.status_code == 200 and "/audit/verify" not in page.text
    r = client.post("/audit/verify", data={"csrf_token": csrf(page)})
    assert r.status_code == 403


# -- errors and the catalogue -----------------------------------------------------------------


def test_unknown_page_is_an_html_404_but_the_api_keeps_problem_json(client: TestClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html") and "页面不存在" in page.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


def test_api_errors_stay_problem_json(client: TestClient) -> None:
    r = client.get("/api/v1/users")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


def test_catalogues_have_the_same_keys() -> None:
    assert set(i18n.messages("zh")) == set(i18n.messages("en"))  # every installed part's words, merged


def test_every_key_the_templates_use_is_in_the_catalogue() -> None:
    used: set[str] = set()
    for template in TEMPLATES.rglob("*.html"):
        used.update(re.findall(r"""\bt\(\s*["']([a-z0-9_.]+)["']\s*[,)]""", template.read_text()))
    assert len(used) > 30, "too few t() calls found: the pattern is wrong"
    assert used <= set(i18n.messages("zh")), sorted(used - set(i18n.messages("zh")))


def test_keys_built_from_values_are_all_in_the_catalogue() -> None:
    """Templates build some keys from a value (``"kind." ~ u.kind``): every value needs its key."""
    from onecity.core.audit import Outcome
    from onecity.core.identity.roles import PrincipalKind
    from onecity.web.pages.home import PARTS

    keys = {f"kind.{k.value}" for k in PrincipalKind if k is not PrincipalKind.ANONYMOUS}
    keys |= {f"outcome.{o.value}" for o in Outcome} | {f"lang.{code}" for code in i18n.LANGUAGES}
    keys |= {f"home.part.{p}.{part}" for p in PARTS for part in ("title", "body")}
    assert keys <= set(i18n.messages("zh")), sorted(keys - set(i18n.messages("zh")))


def test_templates_hold_no_inline_scripts_or_handlers() -> None:
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)
        assert not re.search(r"\son[a-z]+=", text), template.name


def test_every_access_log_action_has_words_in_both_languages() -> None:
    from onecity.web.pages.my_data import ACTION_KEYS

    assert set(ACTION_KEYS.values()) <= set(i18n.messages("zh")) & set(i18n.messages("en"))
