"""The hub's pages in a real browser, with screenshots to look at: the catalogue, a dataset,
the sharing workbench before and after approval, and a resident's "who read my data"."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

import pytest

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.divisions import Division, DivisionLevel
from onecity.core.identity import service
from onecity.core.identity.models import User
from onecity.core.identity.principal import system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.catalogue.service import install_catalogue
from onecity.hub.sharing import query
from onecity.hub.sharing import service as sharing
from tests.browser_support import live_server, shot, sign_in_page
from tests.hub.sharing.conftest import TIANPINGLU, WAITAN, XUHUI, YONGJIA, person

pytestmark = pytest.mark.browser
PASSWORD = "Browser-hub-42"
PURPOSE = "最低生活保障资格核查"


class ShareTerms(TypedDict):
    """What the two requests share beyond their fields and purpose."""

    unmasked_fields: list[str]
    legal_basis: str
    scope_division_code: str
    valid_until: datetime


def _as(session: Any, username: str) -> Any:
    from sqlalchemy import select

    user = session.scalar(select(User).where(User.username == username))
    return service.principal_for_user(user)


def _seed(db: Database) -> None:
    system = system_principal("browser-tests")
    with db.transaction() as session:
        install_catalogue(session)
        session.add(
            Division(
                code=YONGJIA,
                name="永嘉居委会",
                name_en="Yongjia Community",
                level=DivisionLevel.COMMUNITY,
                kind="community",
                parent_code=TIANPINGLU,
            )
        )
        service.create_agency(
            session,
            system,
            code="xh-mca",
            name="徐汇区民政局",
            name_en="Xuhui Civil Affairs Bureau",
            division_code=XUHUI,
        )
    people = [
        ("mca.steward", Role.DATA_STEWARD, "xh-mca", XUHUI, "陈专员"),
        ("mca.reviewer", Role.REVIEWER, "xh-mca", TIANPINGLU, "刘审核"),
        ("psb.steward", Role.DATA_STEWARD, "sh-psb", XUHUI, "周数据"),
    ]
    with db.transaction() as session:
        for username, role, agency, division, name in people:
            service.create_user(
                session,
                system,
                username=username,
                password=PASSWORD,
                kind=PrincipalKind.STAFF,
                roles=[role],
                agency_code=agency,
                division_code=division,
                display_name=name,
            )
        service.create_user(
            session, system, username="zhang.san", password=PASSWORD, kind=PrincipalKind.CITIZEN, display_name="张三"
        )
        from datetime import date

        rows = [
            person(1, "张三", YONGJIA, date(1988, 3, 7), 123, "13812345678"),
            person(2, "李四", YONGJIA, date(1975, 11, 30), 42, "13900001111"),
            person(3, "赵六", WAITAN, date(1960, 6, 1), 8, "13600003333"),
        ]
        session.add_all(rows)
        session.flush()
        sharing.link_resident(session, system, username="zhang.san", id_number=rows[0].id_number)
    with db.transaction() as session:
        until = clock.now() + timedelta(days=365)
        common: ShareTerms = {
            "unmasked_fields": ["name"],
            "legal_basis": "《社会救助暂行办法》第十一条",
            "scope_division_code": XUHUI,
            "valid_until": until,
        }
        granted = sharing.request_share(
            session,
            _as(session, "mca.steward"),
            dataset_code="hub.person",
            fields=["id", "id_number", "name", "phone", "address"],
            purpose=PURPOSE,
            **common,
        )
        sharing.approve_request(session, _as(session, "psb.steward"), granted.id, reason="依法履职所需")
        sharing.request_share(
            session,
            _as(session, "mca.steward"),
            dataset_code="hub.person",
            fields=["id", "name", "birth_date"],
            purpose="高龄津贴发放核对",
            **common,
        )
    with db.transaction() as session:
        query.read_records(
            session,
            _as(session, "mca.reviewer"),
            "hub.person",
            f"{PURPOSE}: 案件 2026-000123",
            filters={"id_number": rows[0].id_number},
        )


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("hub-browser") / "onecity.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    _seed(db)
    with live_server(db, "hub-browser") as url:
        yield url
    db.dispose()


def test_catalogue_pages(server: str, page: Any) -> None:
    sign_in_page(page, server, "mca.steward", "/catalogue", password=PASSWORD)
    assert "人口基础信息库" in page.inner_text("#catalogue-table")
    shot(page, "catalogue-list-zh")
    page.fill("#q", "营业执照")
    page.click(".search-form button[type=submit]")
    page.wait_for_selector("#result-count")
    rows = page.locator("#catalogue-table tbody tr").count()
    assert rows == 2
    shot(page, "catalogue-search-zh")
    page.goto(server + "/catalogue/hub.person")
    assert page.locator("#fields-table .badge-sensitive").count() == 1
    assert page.locator("#request-form").count() == 1
    shot(page, "catalogue-dataset-zh")
    page.click(".lang-switch a[lang=en]")
    page.wait_for_selector("#dataset-title")
    assert "Population base registry" in page.inner_text("#dataset-title")
    shot(page, "catalogue-dataset-en")
    assert page.problems == []


def test_sharing_workbench(server: str, page: Any) -> None:
    sign_in_page(page, server, "psb.steward", "/sharing", password=PASSWORD)
    assert page.locator("#incoming form[action$='/approve']").count() == 1
    shot(page, "sharing-owner-zh")
    page.fill("#incoming form[action$='/approve'] input[name=reason]", "符合高龄津贴核对需要")
    page.click("#incoming form[action$='/approve'] button")
    page.wait_for_url(server + "/sharing?done=approved")
    assert page.locator("#grants tbody tr").count() == 2
    shot(page, "sharing-owner-approved-zh")
    page.click(".logout-form button")
    sign_in_page(page, server, "mca.steward", "/sharing", password=PASSWORD)
    assert page.locator("#outgoing tbody tr").count() == 2
    shot(page, "sharing-requester-zh")
    assert page.problems == []


def test_who_read_my_data(server: str, page: Any) -> None:
    sign_in_page(page, server, "zhang.san", "/me/data", password=PASSWORD)
    table = page.inner_text("#access-log")
    assert "徐汇区民政局" in table and "案件 2026-000123" in table and "公民身份号码" in table
    shot(page, "my-data-zh")
    page.click(".lang-switch a[lang=en]")
    page.wait_for_selector("#access-log")
    assert "Resident ID number" in page.inner_text("#access-log")
    shot(page, "my-data-en")
    assert page.problems == []
