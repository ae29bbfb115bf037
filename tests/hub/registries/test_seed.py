"""`onecity seed` at 1:1000 on the full geography, `onecity city stats`, `onecity export`."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.hub.registries.identifiers import validate_resident_id, validate_uscc
from onecity.hub.registries.models import LegalPerson, Person, PersonFacts, Premises, Vehicle
from onecity.synth.registries.seed import seed
from tests.conftest import SYSTEM
from tests.hub.registries.city import build_small_city
from tests.hub.registries.conftest import run_cli

KINDS = ["divisions", "grids", "persons", "legal-persons", "components", "certificates"]


def _jsonl(url: str, kind: str, tmp_path: Path) -> list[dict[str, object]]:
    out = tmp_path / f"{kind}.jsonl"
    assert run_cli(["export", kind, "--format", "jsonl", "--output", str(out), "--database", url]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_stats_match_the_city(seeded_city: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run_cli(["city", "stats", "--json", "--database", seeded_city]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert list(stats) == [
        "districts",
        "townships",
        "communities",
        "villages",
        "grids",
        "persons",
        "legal_persons",
        "components",
        "certificates",
    ]
    assert stats["districts"] == 16
    assert stats["townships"] == {"subdistrict": 108, "town": 106, "township": 2}
    assert (stats["communities"], stats["villages"], stats["grids"]) == (4563, 1562, 40625)
    assert abs(stats["persons"] - 24_870) <= 0.02 * 24_870
    assert 2_000 <= stats["legal_persons"] <= 2_500
    assert abs(stats["components"] - 12_020) <= 0.02 * 12_020
    assert stats["certificates"] > stats["persons"]


def test_every_exported_identifier_passes_its_check(seeded_city: str, tmp_path: Path) -> None:
    persons = _jsonl(seeded_city, "persons", tmp_path)
    for p in persons:
        rid = validate_resident_id(str(p["id_number"]))
        assert (rid.sex, rid.birth_date.isoformat()) == (p["sex"], p["birth_date"])
    assert len({p["id_number"] for p in persons}) == len(persons)
    firms = _jsonl(seeded_city, "legal-persons", tmp_path)
    person_ids = {p["id"] for p in persons}
    for f in firms:
        assert validate_uscc(str(f["uscc"])).kind == f["kind"]
        assert f["legal_rep_id"] in person_ids
    for c in _jsonl(seeded_city, "certificates", tmp_path):
        (validate_resident_id if c["holder_kind"] == "person" else validate_uscc)(str(c["holder_identifier"]))


def test_population_looks_like_shanghai(seeded_city: str, tmp_path: Path) -> None:
    persons = _jsonl(seeded_city, "persons", tmp_path)
    n = len(persons)
    male = sum(p["sex"] == "M" for p in persons) / n
    migrants = sum(not str(p["hukou_region"]).startswith("31") for p in persons) / n
    ages = [2026 - int(str(p["birth_date"])[:4]) for p in persons]
    assert 0.505 < male < 0.53  # census: 51.77 %
    assert 0.39 < migrants < 0.45  # census: 42.1 %
    assert 0.21 < sum(a >= 61 for a in ages) / n < 0.26  # census: 60+ 23.38 %
    origins = Counter(str(p["hukou_region"])[:2] for p in persons if not str(p["hukou_region"]).startswith("31"))
    assert origins.most_common(2)[0][0] == "34" and origins.most_common(2)[1][0] == "32"  # Anhui, then Jiangsu


def test_certificates_follow_the_rules(seeded_city: str, tmp_path: Path) -> None:
    persons = {p["id"]: p for p in _jsonl(seeded_city, "persons", tmp_path)}
    firms = {f["id"]: f for f in _jsonl(seeded_city, "legal-persons", tmp_path)}
    certs = _jsonl(seeded_city, "certificates", tmp_path)
    by_type = Counter(c["type_code"] for c in certs)
    adults = sum(date(2026, 1, 1).year - int(str(p["birth_date"])[:4]) > 16 for p in persons.values())
    assert adults * 0.98 <= by_type["id_card"] <= len(persons)
    market = sum(f["kind"] in ("91", "92", "93") for f in firms.values())
    assert by_type["business_licence"] == market
    for c in certs:
        if c["type_code"] == "food_business_licence":
            assert firms[c["holder_id"]]["industry"] == "H"
        if c["type_code"] == "residence_permit":
            assert not str(persons[c["holder_id"]]["hukou_region"]).startswith("31")
        if c["status"] == "revoked":
            assert c["revoked_at"]
    assert {c["status"] for c in certs} == {"valid", "expired", "revoked"}
    assert len({c["number"] for c in certs}) == len(certs)


def test_other_registries_facts_follow_the_rules(seeded_city: str) -> None:
    """Social insurance, bank accounts, the provident fund, households and electric bicycles: one facts
    row a person, employers that are firms, working-age employees, unique frame numbers."""
    db = Database(seeded_city)
    try:
        with db.sessions() as s:
            people = {p.id: p for p in s.scalars(select(Person))}
            firms = set(s.scalars(select(LegalPerson.id)))
            facts = list(s.scalars(select(PersonFacts)))
            bikes = list(s.scalars(select(Vehicle)))
    finally:
        db.dispose()
    assert len(facts) == len(people) and {f.person_id for f in facts} == set(people)
    as_of = date(2026, 1, 1)
    employed = [f for f in facts if f.employer_id is not None]
    assert 0.3 < len(employed) / len(facts) < 0.7
    for f in employed:
        assert f.employer_id in firms
        assert 18 <= (as_of - people[f.person_id].birth_date).days / 365.2425 < 61
        assert f.provident_fund_balance is not None and f.provident_fund_balance > 0
    left = [f.employed_until for f in employed if f.employed_until is not None]
    assert 0 < len(left) < 0.1 * len(employed) and all(until < as_of for until in left)
    accounts = [f.bank_account for f in facts if f.bank_account is not None]
    assert len(accounts) > 0.8 * len(facts) and all(len(a) == 19 and a.isdigit() for a in accounts)
    assert all(1 <= (f.household_size or 0) <= 6 for f in facts)
    assert 0.2 < len(bikes) / len(people) < 0.35
    assert len({b.frame_number for b in bikes}) == len(bikes)
    unregistered = [b for b in bikes if b.registered_on is None]
    assert 0 < len(unregistered) < 0.2 * len(bikes)
    for b in bikes:
        assert b.holder_id in people and b.purchased_on < as_of
        assert b.registered_on is None or b.registered_on > b.purchased_on


def test_premises_follow_the_rules(seeded_city: str) -> None:
    """One premises a firm at its registered address, with a plausible building area for its industry."""
    db = Database(seeded_city)
    try:
        with db.sessions() as s:
            firms = {f.id: f for f in s.scalars(select(LegalPerson))}
            premises = list(s.scalars(select(Premises)))
    finally:
        db.dispose()
    assert {p.legal_person_id for p in premises} == set(firms) and len(premises) == len(firms)
    for p in premises:
        firm = firms[p.legal_person_id]
        assert p.address == firm.address and p.recorded_on == firm.established_on
        assert 8 <= p.area_m2 <= 90_000 and p.tenure in ("owned", "leased") and p.use
    catering = sorted(p.area_m2 for p in premises if firms[p.legal_person_id].industry == "H")
    factories = sorted(p.area_m2 for p in premises if firms[p.legal_person_id].industry == "C")
    assert catering[len(catering) // 2] < factories[len(factories) // 2]
    assert 0.5 < sum(p.tenure == "leased" for p in premises) / len(premises) < 0.9


def test_components_lie_in_their_grids(seeded_city: str, tmp_path: Path) -> None:
    import shapely

    grids = {g["code"]: shapely.from_geojson(str(g["geometry"])) for g in _jsonl(seeded_city, "grids", tmp_path)}
    for c in _jsonl(seeded_city, "components", tmp_path):
        assert str(c["code"])[:6] == str(c["grid_code"])[:6] and str(c["code"])[6:10] == c["class_code"]
        lon, lat = c["lon"], c["lat"]
        assert isinstance(lon, int | float) and isinstance(lat, int | float), c
        assert shapely.intersects_xy(grids[str(c["grid_code"])], float(lon), float(lat))


def test_export_is_audited_and_csv_streams(seeded_city: str, tmp_path: Path) -> None:
    out = tmp_path / "firms.csv"
    assert run_cli(["export", "legal-persons", "--format", "csv", "--output", str(out), "--database", seeded_city]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows and set(rows[0]) >= {"uscc", "name", "legal_rep_id"}
    db = Database(seeded_city)
    with db.sessions() as s:
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "hub.registry.exported").order_by(AuditEntry.seq.desc())
        ).first()
    db.dispose()
    assert entry is not None and entry.object_id == "legal-persons"
    assert entry.detail["rows"] == len(rows) and entry.detail["format"] == "csv"


def test_seeding_twice_is_refused(seeded_city: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["seed", "--scale", "0.001", "--seed", "2", "--database", seeded_city, "--quiet"]) == 1
    assert "already holds data" in capsys.readouterr().err


def test_same_seed_same_bytes(
    db: Database, scratch_db: Callable[[], AbstractContextManager[str]], tmp_path: Path
) -> None:
    """Two seeds into two fresh databases export identically, byte for byte (on a small city)."""
    exports = []
    for run in range(2):
        with scratch_db() as url:
            target = Database(url)
            with target.transaction() as session:
                build_small_city(session)
            seed(target, 0.0005, 7, SYSTEM, out=None, chunk=4000)
            target.dispose()
            blobs = {}
            for kind in KINDS:
                out = tmp_path / f"{run}-{kind}.jsonl"
                assert run_cli(["export", kind, "--output", str(out), "--database", url]) == 0
                blobs[kind] = out.read_bytes()
            exports.append(blobs)
    for kind in KINDS:
        assert exports[0][kind] == exports[1][kind], kind
    assert exports[0]["persons"].count(b"\n") == round(24_870_895 * 0.0005)


def test_seed_is_audited(small_city: Database) -> None:
    db = small_city
    seed(db, 0.0002, 1, SYSTEM, out=None)
    with db.sessions() as s:
        first = s.execute(select(AuditEntry.detail).where(AuditEntry.action == "hub.registry.seeded")).scalar_one()
    assert first["rows"]["persons"] == round(24_870_895 * 0.0002)
