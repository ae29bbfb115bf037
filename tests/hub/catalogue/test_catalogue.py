"""The catalogue: the built-in registries installed once, search in Chinese and English, and
stewards registering their agencies' datasets in their own district only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from onecity.core.db import Database
from onecity.core.identity.models import Agency
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.catalogue.masking import mask
from onecity.hub.catalogue.models import Dataset, DatasetField
from onecity.hub.catalogue.service import install_catalogue

XUHUI, HUANGPU, TIANPINGLU = "310104000000", "310101000000", "310104003000"


@pytest.fixture
def installed(db: Database) -> None:
    with db.transaction() as session:
        install_catalogue(session)


@pytest.fixture
def headers(
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
    installed: None,
    make_agency: Callable[..., Any],
) -> Callable[[str], dict[str, str]]:
    make_agency("xh-mca", XUHUI, "徐汇区民政局")
    make_agency("hp-mca", HUANGPU, "黄浦区民政局")
    make_user("xh.steward", Role.DATA_STEWARD, agency_code="xh-mca", division_code=XUHUI)
    make_user("hp.steward", Role.DATA_STEWARD, agency_code="hp-mca", division_code=HUANGPU)
    make_user("xh.clerk", Role.COUNTER_CLERK, agency_code="xh-mca", division_code=TIANPINGLU)
    make_user("resident", kind=PrincipalKind.CITIZEN, division_code=None)
    cache: dict[str, dict[str, str]] = {}

    def _headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = login(username)
        return cache[username]

    return _headers


def test_install_is_idempotent_and_classifies_fields(db: Database) -> None:
    with db.transaction() as session:
        first = install_catalogue(session)
    with db.transaction() as session:
        again = install_catalogue(session)
    assert (first.agencies_created, first.datasets_created) == (6, 7)
    assert (again.agencies_created, again.datasets_created, again.datasets_updated) == (0, 0, 0)
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Dataset)) == 7
        person = session.scalar(select(Dataset).where(Dataset.code == "hub.person"))
        assert person is not None
        owner = session.get(Agency, person.owner_agency_id)
        assert owner is not None and owner.name == "上海市公安局"
        fields = {
            f.name: (f.sensitivity, f.masking)
            for f in session.scalars(select(DatasetField).where(DatasetField.dataset_id == person.id))
        }
        assert fields["id_number"] == ("sensitive", "id_number")
        assert fields["name"] == ("personal", "name") and fields["phone"] == ("personal", "phone")
        assert fields["birth_date"][0] == fields["address"][0] == "personal"
        firms = session.scalar(select(Dataset).where(Dataset.code == "hub.legal_person"))
        assert firms is not None
        firm_fields = {
            f.name: f.sensitivity
            for f in session.scalars(select(DatasetField).where(DatasetField.dataset_id == firms.id))
        }
        assert firm_fields["uscc"] == firm_fields["name"] == "public"


def _codes(client: TestClient, headers: dict[str, str], **params: Any) -> list[str]:
    r = client.get("/api/v1/catalog/datasets", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [d["code"] for d in r.json()["results"]]


def test_search_finds_datasets_by_chinese_and_english_words(
    client: TestClient, headers: Callable[[str], dict[str, str]]
) -> None:
    h = headers("resident")  # public metadata: every signed-in user, citizens included
    # the title match comes first; the indicators mention "resident population" in their description
    assert _codes(client, h, q="人口") == ["hub.person", "hub.indicator"]
    assert _codes(client, h, q="Population") == ["hub.person", "hub.indicator"]
    assert _codes(client, h, q="人口 户籍") == ["hub.person"]
    assert _codes(client, h, q="公民身份号码") == ["hub.person"]  # a field's title
    assert _codes(client, h, q="uscc") == ["hub.legal_person"]  # a field's name
    assert set(_codes(client, h, q="营业执照")) == {"hub.certificate", "hub.legal_person"}  # keywords
    assert _codes(client, h, q="grid management component") == ["hub.component"]  # every word must match
    assert _codes(client, h, q="no-such-thing") == []
    assert _codes(client, h, q="100%") == []  # LIKE wildcards are matched literally


def test_search_filters_and_pages(client: TestClient, headers: Callable[[str], dict[str, str]]) -> None:
    h = headers("xh.clerk")
    assert set(_codes(client, h, sensitivity="sensitive")) == {"hub.person", "hub.certificate"}
    assert set(_codes(client, h, sensitivity="public")) == {"hub.division", "hub.grid", "hub.indicator"}
    assert set(_codes(client, h, theme="REGI")) == {"hub.component", "hub.division", "hub.grid"}
    assert _codes(client, h, owner="sh-samr") == ["hub.legal_person"]
    page = client.get("/api/v1/catalog/datasets", params={"limit": 3, "offset": 3}, headers=h).json()
    assert page["count"] == 7 and len(page["results"]) == 3
    person = client.get("/api/v1/catalog/datasets/hub.person", headers=h).json()
    assert person["owner"]["code"] == "sh-psb" and person["sensitivity"] == "sensitive"
    assert person["update_frequency"] == "DAILY" and person["held_by_hub"] is True
    assert client.get("/api/v1/catalog/datasets/hub.nothing", headers=h).status_code == 404
    assert client.get("/api/v1/catalog/datasets").status_code == 401
    assert client.get("/api/v1/catalog/datasets", params={"theme": "XXXX"}, headers=h).status_code == 422


def _dataset(**overrides: Any) -> dict[str, Any]:
    return {
        "code": "xhmca.elderly_care",
        "title": "徐汇区居家养老服务对象",
        "title_en": "Xuhui home elderly care clients",
        "description": "享受居家养老服务补贴的老年人名单。",
        "description_en": "Older people receiving home-care subsidies.",
        "owner_agency_code": "xh-mca",
        "division_code": XUHUI,
        "theme": "SOCI",
        "keywords": ["养老", "elderly care"],
        "update_frequency": "MONTHLY",
        "lineage": "区民政局养老服务系统月度导出 / monthly export of the district's elderly-care system",
        "fields": [
            {"name": "name", "title": "姓名", "title_en": "Name", "sensitivity": "personal", "masking": "name"},
            {"name": "care_level", "title": "照护等级", "title_en": "Care level", "sensitivity": "internal"},
        ],
        **overrides,
    }


def test_a_steward_registers_their_districts_dataset(
    client: TestClient, headers: Callable[[str], dict[str, str]]
) -> None:
    r = client.post("/api/v1/catalog/datasets", json=_dataset(), headers=headers("xh.steward"))
    assert r.status_code == 201, r.text
    assert r.json()["held_by_hub"] is False and r.json()["sensitivity"] == "personal"
    assert _codes(client, headers("resident"), q="养老") == ["xhmca.elderly_care"]
    update = {k: v for k, v in _dataset(title_en="Xuhui home-care clients").items() if k != "code"}
    r = client.put(
        "/api/v1/catalog/datasets/xhmca.elderly_care",
        json={**update, "reason": "clearer title"},
        headers=headers("xh.steward"),
    )
    assert r.status_code == 200 and r.json()["title_en"] == "Xuhui home-care clients"
    assert _codes(client, headers("resident"), q="home-care") == ["xhmca.elderly_care"]


def test_the_wrong_districts_steward_gets_403(client: TestClient, headers: Callable[[str], dict[str, str]]) -> None:
    assert client.post("/api/v1/catalog/datasets", json=_dataset(), headers=headers("xh.steward")).status_code == 201
    update = {k: v for k, v in _dataset().items() if k != "code"} | {"reason": "take it over"}
    r = client.put("/api/v1/catalog/datasets/xhmca.elderly_care", json=update, headers=headers("hp.steward"))
    assert r.status_code == 403 and "outside" in r.json()["detail"]
    r = client.post("/api/v1/catalog/datasets", json=_dataset(code="hpmca.elderly"), headers=headers("hp.steward"))
    assert r.status_code == 403  # a Xuhui agency's dataset covering Xuhui
    r = client.post("/api/v1/catalog/datasets", json=_dataset(code="xhmca.other"), headers=headers("xh.clerk"))
    assert r.status_code == 403  # not a data steward
    r = client.put("/api/v1/catalog/datasets/hub.person", json=update, headers=headers("xh.steward"))
    assert r.status_code == 403  # built-in descriptions ship with the platform


def test_registrations_are_validated(client: TestClient, headers: Callable[[str], dict[str, str]]) -> None:
    h = headers("xh.steward")
    unmasked = _dataset(fields=[{"name": "phone", "title": "电话", "title_en": "Phone", "sensitivity": "personal"}])
    r = client.post("/api/v1/catalog/datasets", json=unmasked, headers=h)
    assert r.status_code == 422 and "masked" in r.json()["detail"]
    assert client.post("/api/v1/catalog/datasets", json=_dataset(code="hub.mine"), headers=h).status_code == 422
    r = client.post("/api/v1/catalog/datasets", json=_dataset(owner_agency_code="nope"), headers=h)
    assert r.status_code == 422
    assert client.post("/api/v1/catalog/datasets", json=_dataset(), headers=h).status_code == 201
    assert client.post("/api/v1/catalog/datasets", json=_dataset(), headers=h).status_code == 409


@pytest.mark.parametrize(
    ("rule", "value", "shown"),
    [
        ("id_number", "31010419880307123X", "310***********123X"),
        ("name", "张三", "张*"),
        ("name", "欧阳娜娜", "欧***"),
        ("phone", "13812345678", "138****5678"),
        ("region", "310104", "31****"),
        ("redact", "M", "***"),
        ("id_number", None, None),
    ],
)
def test_masking_rules(rule: str, value: str | None, shown: str | None) -> None:
    assert mask(rule, value) == shown


def test_an_address_is_cut_back_to_its_community() -> None:
    names = {"310104003098": "徐汇区天平路街道永嘉居委会"}
    assert (
        mask("address", "上海市徐汇区永嘉路1号101室", division_code="310104003098", community=names.get)
        == "徐汇区天平路街道永嘉居委会***"
    )
    assert mask("address", "上海市徐汇区永嘉路1号101室") == "***"  # never guessed
