"""`onecity registry load`: every bad line reported with its reason, nothing written unless all pass."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.hub.registries.identifiers import make_resident_id, make_uscc
from onecity.hub.registries.models import Certificate, CertificateType, Component, LegalPerson, Person
from tests.hub.registries.conftest import run_cli

COMMUNITY = "310104003001"  # built by build_small_city under 天平路街道
GRID = COMMUNITY + "001"  # its first grid: lon 121.445–121.455, lat 31.205–31.215 (one corner cut)


def _person(pid: int, seq: int, **over: Any) -> dict[str, Any]:
    born = date(1985, 3, 14)
    row = {
        "id": pid,
        "id_number": make_resident_id("310104", born, seq),
        "name": "张伟",
        "sex": "M" if seq % 2 else "F",
        "birth_date": born.isoformat(),
        "hukou_region": "310104",
        "division_code": COMMUNITY,
        "address": "上海市徐汇区天平路街道长乐路1弄1号101室",
        "phone": "13912345678",
        "status": "alive",
    }
    row.update(over)
    return row


def _write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _count(db: Database, model: Any) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def city(small_city: Database) -> Database:
    return small_city


def test_bad_lines_are_all_reported_and_nothing_is_written(
    city: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _person(1, 11)
    wrong_check = _person(2, 13)
    wrong_check["id_number"] = wrong_check["id_number"][:17] + ("0" if wrong_check["id_number"][17] != "0" else "1")
    path = _write_jsonl(
        tmp_path / "persons.jsonl",
        [
            good,  # line 1: fine
            wrong_check,  # line 2: check digit
            _person(3, 15, division_code="310104003999"),  # line 3: no such community
            _person(4, 11),  # line 4: same ID number as line 1
            _person(5, 17, sex="F"),  # line 5: sex disagrees with the sequence digit
            "{not json",  # line 6
            _person(7, 19, hukou_region="319999"),  # line 7: not a Shanghai district
            _person(8, 21, birth_date="1985-03-15"),  # line 8: birth date disagrees with the number
        ],
    )
    assert run_cli(["registry", "load", "persons", str(path), "--database", city.url]) == 1
    err = capsys.readouterr().err
    for line, reason in [
        (2, "check character"),
        (3, "not a community or village"),
        (4, "repeats line 1"),
        (5, "disagrees with the ID number's sequence digit"),
        (6, "not valid JSON"),
        (7, "not a Shanghai district"),
        (8, "disagrees with the ID number"),
    ]:
        assert f"line {line}: " in err and reason in err.split(f"line {line}: ")[1].splitlines()[0], (line, err)
    assert "line 1:" not in err
    assert "7 line(s) rejected, nothing was loaded" in err
    assert _count(city, Person) == 0


def test_a_clean_file_loads_in_one_go_and_is_audited(city: Database, tmp_path: Path) -> None:
    persons = _write_jsonl(tmp_path / "p.jsonl", [_person(i, 2 * i + 1) for i in range(1, 6)])
    assert run_cli(["registry", "load", "persons", str(persons), "--database", city.url]) == 0
    assert _count(city, Person) == 5
    # the same file again: every line is now a duplicate of the registry
    assert run_cli(["registry", "load", "persons", str(persons), "--database", city.url]) == 1
    assert _count(city, Person) == 5
    with city.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "hub.registry.loaded")).one()
    assert entry.object_id == "persons" and entry.detail["rows"] == 5


def test_legal_persons_components_and_certificates(
    city: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run_cli(
            [
                "registry",
                "load",
                "persons",
                str(_write_jsonl(tmp_path / "p.jsonl", [_person(1, 11)])),
                "--database",
                city.url,
            ]
        )
        == 0
    )
    uscc = make_uscc("91", "310104", "MA1B2C3D")
    header = "id,uscc,name,kind,industry,legal_rep_id,division_code,address,established_on,registered_capital,status"
    bad_check = uscc[:17] + ("0" if uscc[17] != "0" else "1")
    firms = tmp_path / "firms.csv"
    firms.write_text(
        "\n".join(
            [
                header,
                f"1,{uscc},上海华盛餐饮管理有限公司,91,H,1,{COMMUNITY},上海市徐汇区长乐路2号,2019-05-01,100.0,active",
                f"2,{bad_check},上海某公司,91,F,1,{COMMUNITY},地址,2019-05-01,1,active",
                f"3,{make_uscc('91', '310104', '12345678')},上海某公司,92,F,1,{COMMUNITY},地址,2019-05-01,1,active",
                f"4,{make_uscc('91', '310104', '12345679')},上海某公司,91,F,99,{COMMUNITY},地址,2019-05-01,1,active",
                f"5,{make_uscc('91', '310104', '12345670')},上海某公司,91,Z,1,{COMMUNITY},地址,2019-05-01,1,active",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    assert run_cli(["registry", "load", "legal-persons", str(firms), "--database", city.url]) == 1
    err = capsys.readouterr().err
    assert "line 3: credit code" in err and "check character" in err
    assert "line 4: kind 92 disagrees" in err
    assert "line 5: legal_rep_id 99 is not a person" in err
    assert "line 6: industry 'Z'" in err
    firms.write_text("\n".join(firms.read_text(encoding="utf-8").splitlines()[:2]) + "\n", encoding="utf-8")
    assert run_cli(["registry", "load", "legal-persons", str(firms), "--database", city.url]) == 0

    comp = {
        "id": 1,
        "code": "310104012000000001",
        "class_code": "0120",
        "grid_code": GRID,
        "division_code": COMMUNITY,
        "lon": 121.450,
        "lat": 31.207,
        "owner_department": "徐汇区建设和管理委员会",
        "status": "intact",
    }
    outside = {**comp, "id": 2, "code": "310104012000000002", "lon": 121.4455, "lat": 31.2145}  # the cut corner
    wrong_district = {**comp, "id": 3, "code": "310115012000000003"}
    comps = _write_jsonl(tmp_path / "c.jsonl", [comp, outside, wrong_district])
    assert run_cli(["registry", "load", "components", str(comps), "--database", city.url]) == 1
    err = capsys.readouterr().err
    assert "line 2: grid" in err and "does not contain" in err and "line 3: code" in err
    assert _count(city, Component) == 0

    # certificates need their types: a seed writes them; here the type rows are added directly
    from onecity.hub.registries.certtypes import CERT_TYPES

    with city.transaction() as s:
        for t in CERT_TYPES:
            s.add(
                CertificateType(
                    code=t.code.value,
                    name=t.name,
                    name_en=t.name_en,
                    holder_kind=t.holder_kind,
                    issuer_department=t.issuer_department,
                    validity_years=t.validity_years,
                    metadata_fields=t.metadata_fields(),
                )
            )
    cert = {
        "id": 1,
        "type_code": "business_licence",
        "number": uscc,
        "holder_kind": "legal_person",
        "holder_id": 1,
        "holder_identifier": uscc,
        "holder_name": "上海华盛餐饮管理有限公司",
        "issuer": "上海市徐汇区市场监督管理局",
        "issued_on": "2019-05-01",
        "valid_until": None,
        "status": "valid",
        "revoked_at": None,
        "division_code": COMMUNITY,
        "data": {},
    }
    bad_holder = {**cert, "id": 2, "number": "X-2", "holder_id": 7}
    wrong_kind = {**cert, "id": 3, "number": "X-3", "type_code": "id_card"}
    revoked_no_time = {**cert, "id": 4, "number": "X-4", "status": "revoked"}
    certs = _write_jsonl(tmp_path / "certs.jsonl", [cert, bad_holder, wrong_kind, revoked_no_time])
    assert run_cli(["registry", "load", "certificates", str(certs), "--database", city.url]) == 1
    err = capsys.readouterr().err
    assert "line 2: holder legal_person 7" in err
    assert "line 3: type_code id_card is not a certificate type held by a legal_person" in err
    assert "line 4: revoked_at is required" in err
    assert _count(city, Certificate) == 0
    assert (
        run_cli(
            [
                "registry",
                "load",
                "certificates",
                str(_write_jsonl(tmp_path / "ok.jsonl", [cert])),
                "--database",
                city.url,
            ]
        )
        == 0
    )
    assert _count(city, Certificate) == 1 and _count(city, LegalPerson) == 1
