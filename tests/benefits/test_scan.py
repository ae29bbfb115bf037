"""The set-based scan finds exactly whom the per-record DMN decision grants (both backends).

A small seeded city; for every policy, the compiled query's result restricted to a sample of
persons and firms must equal SpiffWorkflow's decision on each sampled record, amounts included;
and so must the city's one-pass scan written to ``benefit_grants``, deciding rule included.
Days are chosen to catch the edges: a 29 February and an ordinary day.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, text

from onecity.benefits import service
from onecity.benefits.catalogue import DEPARTMENTS, POLICIES
from onecity.benefits.compile import UnsupportedCell, load_table, parse_cell
from onecity.benefits.facts import Subject, age_on, latest_born
from onecity.benefits.models import benefit_grants
from onecity.core import migrate
from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.errors import NotFound
from onecity.hub.registries import service as registry_service  # noqa: F401  (registers the seed action)
from onecity.hub.registries.models import LegalPerson, Person
from onecity.synth.registries.seed import seed
from tests.conftest import SYSTEM
from tests.hub.registries.city import build_small_city


def test_catalogue_has_twenty_policies_from_six_departments_and_every_table_compiles() -> None:
    assert len(POLICIES) >= 20
    assert len({p.department for p in POLICIES}) >= 6
    assert {p.subject for p in POLICIES} == {Subject.PERSON, Subject.FIRM}
    for p in POLICIES:
        assert p.department in DEPARTMENTS and p.legal_basis
        table = load_table(p.dmn_path)
        assert table.decision_id == p.code and any(r.eligible for r in table.rules)


def test_cells_outside_the_supported_forms_are_refused() -> None:
    assert parse_cell("age", ">= 60") is not None
    assert parse_cell("age", "-") is None
    for bad in ("> age", "len(x) > 2", "__import__('os')", "< 3 < 4", "in (1, 2)"):
        with pytest.raises(UnsupportedCell):
            parse_cell("age", bad)


def test_age_cutoffs_agree_with_age_on() -> None:
    days = [date(2000, 2, 29), date(2001, 2, 28), date(2001, 3, 1), date(1999, 12, 31), date(2024, 2, 29)]
    for on in (date(2026, 2, 28), date(2028, 2, 29), date(2026, 3, 1)):
        for n in (0, 1, 3, 26, 60):
            for born in days:
                assert (age_on(born, on) >= n) == (born <= latest_born(n, on)), (born, on, n)


def test_set_based_scan_equals_per_record_dmn(db: Database) -> None:
    """One seeded city per backend; an ordinary day and a 29 February; then one record decided and audited."""
    with db.transaction() as s:
        build_small_city(s)
    seed(db, 0.0001, 7, SYSTEM, out=None)
    for on in (date(2026, 12, 5), date(2028, 2, 29)):
        with db.transaction() as s:
            persons = list(s.scalars(select(Person.id).order_by(func.random()).limit(120)))
            firms = list(s.scalars(select(LegalPerson.id).order_by(func.random()).limit(60)))
            assert persons and firms
            granted_any = 0
            counts = service.scan_city(s, SYSTEM, on)
            written = {
                (code, int(i)): (float(a), int(r), d)
                for code, i, a, r, d in s.execute(
                    select(
                        benefit_grants.c.policy_code,
                        benefit_grants.c.subject_id,
                        benefit_grants.c.amount,
                        benefit_grants.c.rule,
                        benefit_grants.c.scanned_on,
                    )
                )
            }
            for p in POLICIES:
                sample = persons if p.subject is Subject.PERSON else firms
                scanned = service.scan(s, SYSTEM, p.code, on)
                expected = service.granted_per_record(s, p, sample, on)
                assert {i: a for i, a in scanned.granted.items() if i in set(sample)} == expected, (p.code, on)
                granted_any += bool(expected)
                # the one pass over the city grants the same, by the rule SpiffWorkflow matches first
                rule_ids = [r.rule_id for r in load_table(p.dmn_path).rules]
                in_city = {i: (a, rule_ids[r]) for (code, i), (a, r, _) in written.items() if code == p.code}
                assert counts[p.code] == len(in_city) == len(scanned.granted), (p.code, on)
                assert {i: rule_ids[r] for i, r in scanned.rule.items()} == {i: ri for i, (_, ri) in in_city.items()}
                decided = {i: service.decide(p, service.read_record(s, p.subject, i, on), on) for i in expected}
                assert {i: v for i, v in in_city.items() if i in set(sample)} == {
                    i: (a, decided[i].rules[0]) for i, a in expected.items()
                }, (p.code, on)
            assert {d for (_, _, d) in written.values()} == {on}
            assert granted_any >= 8, "the sample exercises most policies"
    with db.transaction() as s:
        entries = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "benefits.eligibility.scan")
        )
        assert entries == 2 * 2 * len(POLICIES)  # per day: each policy's scan, and the city's scan per policy
        old = s.scalars(
            select(Person).where(Person.birth_date <= date(1950, 1, 1), Person.hukou_region.startswith("31"))
        ).first()
        assert old is not None
        d = service.decide_record(s, SYSTEM, "old_age_allowance", old.id, date(2026, 12, 5))
        assert d.outputs["eligible"] is (old.status == "alive")
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.subject == old.id_number))
        with pytest.raises(NotFound):
            service.scan(s, SYSTEM, "no_such_policy", date(2026, 12, 5))


def _written(db: Database) -> set[tuple[str, int, int, float, date]]:
    with db.sessions() as s:
        return {(str(c), int(i), int(r), float(a), d) for c, i, r, a, d in s.execute(select(benefit_grants))}


def test_city_scan_replaces_the_last_one_whole_or_not_at_all(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A city scan that fails, wherever it fails, leaves the last scan as it was; one that succeeds
    leaves the table migration 0033 made (PostgreSQL: written by several sessions into a new table
    that takes the old one's place), the same rows whatever the number of sessions."""
    with db.transaction() as s:
        build_small_city(s)
    seed(db, 0.0001, 7, SYSTEM, out=None)
    first, second = date(2026, 12, 5), date(2028, 2, 29)
    with db.transaction() as s:
        counts = service.scan_city(s, SYSTEM, first)
    before = _written(db)
    assert len(before) == sum(counts.values()) > 0 and {d for *_, d in before} == {first}

    with pytest.raises(RuntimeError), db.transaction() as s:
        service.scan_city(s, SYSTEM, second)
        raise RuntimeError("the caller fails after the scan")
    assert _written(db) == before

    if db.engine.dialect.name == "postgresql":
        real = service._write_share
        calls: list[int] = []

        def one_share_fails(*args: Any) -> None:
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("a share fails")
            real(*args)

        monkeypatch.setattr(service, "_write_share", one_share_fails)
        with pytest.raises(RuntimeError, match="a share fails"), db.transaction() as s:
            service.scan_city(s, SYSTEM, second, sessions=3)
        monkeypatch.undo()
        assert _written(db) == before
        with db.sessions() as s:
            tables = {
                str(n) for n in s.scalars(text("SELECT relname FROM pg_class WHERE relname LIKE 'benefit_grants%'"))
            }
            assert tables == {"benefit_grants"}  # no share left behind
            with db.transaction() as t:
                service.scan_city(t, SYSTEM, first, sessions=3)
            persistence = s.scalar(text("SELECT relpersistence FROM pg_class WHERE relname = 'benefit_grants'"))
            assert persistence == "u"  # UNLOGGED, as migration 0033 made it
        assert _written(db) == before
        assert migrate.drift(db) == []
