"""DMN review rules run by SpiffWorkflow: the senior citizen card table on given facts and on
facts read from the registries, and the common document risk table."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from onecity.core.db import Database
from onecity.core.errors import InvalidInput, NotFound
from onecity.documents.rules import age_on, decide, inputs_of, senior_citizen_card
from onecity.hub.registries.models import Certificate, CertificateStatus, Person
from tests.documents.conftest import reviewer

ON = date(2026, 1, 1)


@pytest.mark.parametrize(
    ("age", "hukou", "permit", "eligible", "rule"),
    [
        (59, True, True, False, "r_young"),
        (60, True, False, True, "r_hukou"),
        (75, False, True, True, "r_permit"),
        (75, False, False, False, "r_neither"),
    ],
)
def test_senior_citizen_card_table(age: int, hukou: bool, permit: bool, eligible: bool, rule: str) -> None:
    d = decide("senior_citizen_card", {"age": age, "shanghai_hukou": hukou, "residence_permit_valid": permit})
    assert d.outputs["eligible"] is eligible and d.rules == (rule,)
    assert d.outputs["reason"]


def test_a_decision_needs_all_its_inputs_and_must_exist() -> None:
    assert inputs_of("senior_citizen_card") == ["age", "shanghai_hukou", "residence_permit_valid"]
    with pytest.raises(InvalidInput, match="residence_permit_valid"):
        decide("senior_citizen_card", {"age": 70, "shanghai_hukou": True})
    with pytest.raises(NotFound, match="senior_citizen_card"):
        decide("no_such_decision", {})


def test_document_risk_collects_every_matching_rule() -> None:
    clean = decide(
        "document_risk",
        {"failed": 0, "identifier_check_failed": False, "registry_failed": False, "warned": 0, "min_confidence": 0.99},
    )
    assert clean.outputs["risk"] == ["low"] and clean.rules == ("k_clean",)
    forged = decide(
        "document_risk",
        {"failed": 2, "identifier_check_failed": True, "registry_failed": True, "warned": 0, "min_confidence": 0.99},
    )
    assert forged.outputs["risk"] == ["high", "high"] and forged.rules == ("k_identifier", "k_registry")
    unsure = decide(
        "document_risk",
        {"failed": 0, "identifier_check_failed": False, "registry_failed": False, "warned": 0, "min_confidence": 0.9},
    )
    assert unsure.outputs["risk"] == ["medium"]


def test_age_counts_whole_years() -> None:
    assert age_on(date(1966, 1, 1), ON) == 60
    assert age_on(date(1966, 1, 2), ON) == 59
    assert age_on(date(1964, 2, 29), date(2025, 2, 28)) == 60


def test_senior_citizen_card_from_the_registries(registry: Database) -> None:
    with registry.sessions() as s:
        people = s.scalars(select(Person).order_by(Person.id)).all()
        permits = {
            c.holder_identifier
            for c in s.scalars(
                select(Certificate).where(
                    Certificate.type_code == "residence_permit",
                    Certificate.status == CertificateStatus.VALID,
                    Certificate.valid_until >= ON,
                )
            )
        }
    old_local = next(p for p in people if age_on(p.birth_date, ON) >= 60 and p.hukou_region.startswith("31"))
    young = next(p for p in people if age_on(p.birth_date, ON) < 60)
    old_migrant = next(
        p
        for p in people
        if age_on(p.birth_date, ON) >= 60 and not p.hukou_region.startswith("31") and p.id_number in permits
    )
    with registry.transaction() as s:
        r = reviewer()
        assert senior_citizen_card(s, r, old_local.id_number, on=ON, purpose="敬老卡 review").rules == ("r_hukou",)
        assert senior_citizen_card(s, r, young.id_number, on=ON, purpose="敬老卡 review").rules == ("r_young",)
        d = senior_citizen_card(s, r, old_migrant.id_number, on=ON, purpose="敬老卡 review")
        assert d.rules == ("r_permit",) and d.outputs["eligible"] is True
