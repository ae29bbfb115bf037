"""全市通办: a counter anywhere in the city serves any resident who presents their identity document.

The Huangpu counter clerk serves the Xuhui resident: finding their cases needs the document checked
(the read is audited as made with the person present), the clerk carries the case they received on
to submission, and the Xuhui officers decide it. The reach goes no further than the person present:
not to someone else's records, not to a clerk who did not receive the case, not to other roles.
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.errors import PermissionDenied
from onecity.hub.registries import service as registries
from onecity.hub.registries.models import Person
from onecity.hub.registries.relations import ReadBasis
from onecity.services import service
from onecity.services.models import CaseStatus
from tests.services.conftest import PDF, City

ELDERLY_CARD = "310000-20-00081-001"  # a person's own item, offered at the counter


def test_a_counter_in_another_district_serves_the_resident_present(city: City) -> None:
    clerk, rep = city.huangpu_clerk, city.rep
    assert not rep.division_code.startswith("310101")  # registered in Xuhui, served in Huangpu
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        service.cases_of_person(s, clerk, rep.id_number)  # the document not checked: the area applies
    with city.db.transaction() as s:
        assert service.cases_of_person(s, clerk, rep.id_number, identity_checked=True) == []
        case = service.start_case(s, clerk, ELDERLY_CARD, id_number=rep.id_number, identity_checked=True)
        case_id = case.id
        assert case.division_code == rep.division_code  # decided by the office where the resident is registered
    with city.db.transaction() as s:
        case = service.get_case(s, clerk, case_id)
        for m in service.missing_materials(case):
            service.attach_document(
                s, clerk, case_id, m["code"], filename="scan.pdf", content_type="application/pdf", content=PDF
            )
        service.submit(s, clerk, case_id)
    with city.db.transaction() as s:
        assert service.get_case(s, city.reviewer, case_id).status in (CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW)
        entries = list(
            s.scalars(
                select(AuditEntry).where(AuditEntry.actor == clerk.ref, AuditEntry.action == "hub.registry.person.read")
            )
        )
    assert entries and all(e.detail.get("in_person") is True for e in entries)


def test_the_reach_stops_at_the_person_present(city: City) -> None:
    clerk, rep = city.huangpu_clerk, city.rep
    with city.db.transaction() as s:
        other = s.scalars(
            select(Person).where(Person.id != rep.id, Person.division_code.startswith("310104")).limit(1)
        ).one()
        present = ReadBasis.counter(
            "一网通办 counter service: the applicant presented their identity document", rep.id_number
        )
        with pytest.raises(PermissionDenied):
            registries.person_by_id_number(s, clerk, other.id_number, "counter", basis=present)
    with city.db.transaction() as s:
        case = service.start_case(s, clerk, ELDERLY_CARD, id_number=rep.id_number, identity_checked=True)
        case_id = case.id
    # another Huangpu clerk, who did not receive the case, does not carry it on
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        service.update_form(s, dataclasses.replace(clerk, id="another-clerk"), case_id, {})
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        # a reviewer is no counter: the in-person basis does not take them out of their area
        registries.person_by_id_number(
            s,
            dataclasses.replace(city.reviewer, division_code=clerk.division_code),
            rep.id_number,
            "review",
            basis=ReadBasis.counter("一网通办 counter service", rep.id_number),
        )
