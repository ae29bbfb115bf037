"""Bundles fan out and back in; proxies, withdrawal, time-limit clocks and complaints."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from onecity.core import clock, workdays
from onecity.core.errors import Conflict, InvalidInput, PermissionDenied
from onecity.core.events import OutboxMessage
from onecity.core.identity import service as identity
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.registries import relations
from onecity.hub.registries.models import Person
from onecity.hub.sharing.models import ResidentLink
from onecity.services import bundles, catalogue, performance, service
from onecity.services.models import BundleApplication, Case, CaseStatus, WorkItem
from tests.conftest import PASSWORD, SYSTEM
from tests.services.conftest import PDF, XUHUI, City, staff

OUTCOME = {"accept": "accept", "review": "pass", "decide": "approve"}
CARD_ITEM = "310000-20-00081-001"  # social security card
REGISTRATION = "310000-07-00062-001"  # birth registration (household register)


def _officers(city: City, departments: set[str]) -> list[Principal]:
    out = []
    with city.db.transaction() as s:
        for d in sorted(departments):
            out.append(staff(s, f"all-{d}", d, XUHUI, Role.COUNTER_CLERK, Role.REVIEWER, Role.APPROVER))
    return out


def _work_off(city: City, officers: list[Principal]) -> int:
    done = 0
    while True:
        progressed = False
        for officer in officers:
            with city.db.transaction() as s:
                queue = service.work_queue(s, officer)
            for w, _c in queue:
                kind = next(k for k in OUTCOME if w.task_name.startswith(k))
                with city.db.transaction() as s:
                    service.complete_task(s, officer, w.id, OUTCOME[kind])
                done += 1
                progressed = True
        if not progressed:
            return done


def test_open_a_restaurant_in_one_go(city: City) -> None:
    bundle = catalogue.bundle("open-restaurant")
    with city.db.transaction() as s:
        app = bundles.start_bundle(s, city.resident, "open-restaurant", uscc=city.firm.uscc)
        app_id = app.id
        assert app.materials_asked < app.materials_one_by_one
        assert app.fields_asked < app.fields_one_by_one
        _app, cases = bundles.get_bundle(s, city.resident, app_id)
        assert len(cases) == len(bundle.items)
        notice = bundles.missing(cases)
        with pytest.raises(InvalidInput, match="all at once"):
            bundles.submit(s, city.resident, app_id)
    # each missing material is provided once, whatever number of items need it
    with city.db.transaction() as s:
        lease_users = bundles.attach_document(
            s, city.resident, app_id, "floor_plan", filename="plan.pdf", content_type="application/pdf", content=PDF
        )
        assert lease_users >= 2  # the food licence and the fire inspection both need the floor plan
        for m in notice:
            if m["code"] != "floor_plan":
                bundles.attach_document(
                    s,
                    city.resident,
                    app_id,
                    m["code"],
                    filename=f"{m['code']}.pdf",
                    content_type="application/pdf",
                    content=PDF,
                )
        bundles.update_form(
            s,
            city.resident,
            app_id,
            {
                "business_items": "热食类食品制售",
                "floor_area_m2": 120,
                "seats": 40,
                "sign_text": "小笼馆",
                "sign_area_m2": 3.5,
                "fire_escape_count": 2,
                "drainage_m3_per_day": 4.0,
                "pollutants": "油烟",
                "employees": 8,
            },
        )
        submitted = bundles.submit(s, city.resident, app_id)
        assert {c.status for c in submitted} == {CaseStatus.SUBMITTED}
    departments = {i.department for i in bundle.member_items()} | {
        i.partner_department for i in bundle.member_items() if i.partner_department
    }
    # the fire inspection's parallel branch waits in the fire service's and market regulation's queues at once
    officers = _officers(city, departments)
    done = _work_off(city, officers)
    with city.db.sessions() as s:
        fire_reviews = list(
            s.scalars(
                select(WorkItem.department)
                .where(WorkItem.task_name.startswith("review"))
                .join(Case, Case.id == WorkItem.case_id)
                .where(Case.item_code == "310000-01-00151-001")
            )
        )
        cases = list(s.scalars(select(Case).where(Case.bundle_id == app_id)))
        finished = s.get(BundleApplication, app_id)
    assert sorted(fire_reviews) == ["sh-fire", "sh-samr"]
    assert done >= 3 * len(bundle.items) - 4  # instant items skip review
    assert {c.status for c in cases} == {CaseStatus.APPROVED}
    assert finished is not None and finished.completed_at is not None  # fan-in
    assert next(c for c in cases if c.item_code == "310000-01-00040-001").credential_id


def test_a_relative_applies_as_proxy_and_the_power_of_attorney_is_asked(city: City) -> None:
    with city.db.transaction() as s:
        other = s.scalars(
            select(Person)
            .where(Person.division_code.startswith("310104"), Person.id != city.rep.id)
            .order_by(Person.id)
        ).first()
        assert other is not None
        user = identity.create_user(
            s,
            SYSTEM,
            username="daughter",
            password=PASSWORD,
            kind=PrincipalKind.CITIZEN,
            roles=[],
            agency_code=None,
            division_code=None,
        )
        s.add(ResidentLink(user_id=user.id, person_id=other.id, linked_by=SYSTEM.ref))
        daughter = identity.principal_for_user(user)
    senior = "310000-20-00072-001"
    with city.db.transaction() as s, pytest.raises(PermissionDenied, match="power of attorney"):
        service.start_case(s, daughter, senior, id_number=city.rep.id_number, proxy_relation="女儿")
    with city.db.transaction() as s:  # the senior grants it from their own account
        relations.grant_power_of_attorney(
            s,
            city.resident,
            agent_id_number=other.id_number,
            agent_name=other.name,
            items=[senior],
            valid_until=clock.now() + timedelta(days=30),
        )
    with city.db.transaction() as s:
        case = service.start_case(s, daughter, senior, id_number=city.rep.id_number)
        assert case.channel == "proxy" and case.person_id == city.rep.id
        poa = next(m for m in case.materials if m["code"] == "power_of_attorney")
        assert poa["state"] == "held" and poa["source"] == "registry:power_of_attorney"
        assert case.form["id_number"] == city.rep.id_number  # prefilled from the senior's record
        case_id = case.id
    # the senior sees the case their daughter started, online
    with city.db.transaction() as s:
        assert case_id in [c.id for c in service.my_cases(s, city.resident)]
        service.withdraw(s, city.resident, case_id, "will go to the counter myself")
    with city.db.transaction() as s, pytest.raises(Conflict):
        service.withdraw(s, daughter, case_id, "again")


def test_time_limit_clock_warns_at_80_percent_and_flags_overdue(city: City) -> None:
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, "310000-01-00040-001", uscc=city.firm.uscc)
        for m in service.missing_materials(case):
            service.attach_document(
                s, city.resident, case.id, m["code"], filename="x.pdf", content_type="application/pdf", content=PDF
            )
        service.update_form(s, city.resident, case.id, {"business_items": "预包装食品销售", "floor_area_m2": 20})
        service.submit(s, city.resident, case.id)
        case_id = case.id
    start = clock.now()
    with city.db.transaction() as s:
        accept = next(w for w, c in service.work_queue(s, city.clerk) if c.id == case_id)
        case = service.complete_task(s, city.clerk, accept.id, "accept")
        due = case.due_on
        accepted_on = clock.local(start).date()
    assert due is not None and due > accepted_on
    with city.db.transaction() as s:
        assert service.refresh_clocks(s, accepted_on) == {"warned": 0, "overdue": 0}
        eight = accepted_on
        while workdays.working_days_between(accepted_on, eight) < 8:
            eight += timedelta(days=1)
        assert service.refresh_clocks(s, eight) == {"warned": 1, "overdue": 0}
        assert service.refresh_clocks(s, due + timedelta(days=1)) == {"warned": 0, "overdue": 1}
    # decided late: outside the time limit
    with city.db.transaction() as s:
        review = next(w for w, c in service.work_queue(s, city.reviewer) if c.id == case_id)
        service.complete_task(s, city.reviewer, review.id, "pass")
    late = clock.now() + timedelta(days=30)
    with clock.frozen(late), city.db.transaction() as s:
        decide = next(w for w, c in service.work_queue(s, city.approver) if c.id == case_id)
        case = service.complete_task(s, city.approver, decide.id, "approve")
        assert case.within_limit is False and case.handling_days is not None and case.handling_days > 10


def test_a_bad_rating_with_a_complaint_becomes_a_work_order_event(city: City) -> None:
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, "310000-10-00122-001", uscc=city.firm.uscc)
        service.update_form(s, city.resident, case.id, {"pollutants": "油烟", "premises_address": "徐汇区天平路1号"})
        service.submit(s, city.resident, case.id)
        case_id = case.id
    with city.db.transaction() as s:
        officer = staff(s, "sthj", "sh-sthj", XUHUI, Role.COUNTER_CLERK, Role.APPROVER)
    _work_off(city, [officer])
    with city.db.transaction() as s:
        with pytest.raises(InvalidInput):
            service.rate(s, city.resident, case_id, 6)
        rating = service.rate(s, city.resident, case_id, 2, "等了两个小时才受理")
        assert rating.follow_up == "open" and rating.channel == "online"
    with city.db.sessions() as s:
        msg = s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "services.rating.complaint")).one()
    assert msg.payload["agency_code"] == "sh-sthj" and msg.payload["stars"] == 2
    with city.db.sessions() as s:
        public = next(d for d in performance.ratings_by_department(s) if d["department"] == "sh-sthj")
    assert public["complaints"][0]["comment"] == "等了两个小时才受理" and public["complaints"][0]["follow_up"] == "open"
    with city.db.transaction() as s:
        closed = service.close_follow_up(s, officer, rating.id, "已约谈窗口负责人并增加午间窗口")
        assert closed.follow_up == "closed"


def test_have_a_baby_registers_the_newborn(city: City) -> None:
    bundle = catalogue.bundle("have-a-baby")
    with city.db.sessions() as s:
        people_before = s.execute(select(func.count()).select_from(Person)).scalar_one()
    # born yesterday (Shanghai): the registry compares a birth date with the UTC date, so a
    # birth "today" is refused between 00:00 and 08:00 Shanghai time (reported to the hub)
    born = (clock.local(clock.now()).date() - timedelta(days=1)).isoformat()
    with city.db.transaction() as s:
        app = bundles.start_bundle(s, city.resident, "have-a-baby")
        _a, cases = bundles.get_bundle(s, city.resident, app.id)
        for m in bundles.missing(cases):
            bundles.attach_document(
                s,
                city.resident,
                app.id,
                m["code"],
                filename=f"{m['code']}.pdf",
                content_type="application/pdf",
                content=PDF,
            )
        bundles.update_form(
            s,
            city.resident,
            app.id,
            {
                "child_name": "王小满",
                "child_sex": "F",
                "child_birth_date": born,
                "place_of_birth": "国际和平妇幼保健院",
                "spouse_name": "王大伟",
                "employer": "上海某公司",
                "bank_account": "6222020000000001",
            },
        )
        submitted = bundles.submit(s, city.resident, app.id)
        app_id = app.id
        # ordering: the newborn's social security card waits for the birth registration
        assert CARD_ITEM not in {c.item_code for c in submitted} and len(submitted) == len(bundle.items) - 1
        assert next(c for c in cases if c.item_code == CARD_ITEM).status == CaseStatus.DRAFT
    _work_off(city, _officers(city, {i.department for i in bundle.member_items()}))
    with city.db.sessions() as s:
        finished = s.get(BundleApplication, app_id)
        child = s.scalar(select(Person).where(Person.name == "王小满"))
        people_after = s.scalar(select(func.count()).select_from(Person))
        by_item = {c.item_code: c for c in s.scalars(select(Case).where(Case.bundle_id == app_id))}
    card, registration = by_item[CARD_ITEM], by_item[REGISTRATION]
    assert card.status == registration.status == CaseStatus.APPROVED
    assert card.submitted_at is not None and registration.decided_at is not None
    assert card.submitted_at >= registration.decided_at  # submitted by the platform after the registration
    assert finished is not None and finished.completed_at is not None
    assert child is not None and child.sex == "F" and people_after == people_before + 1
    assert child.division_code == city.rep.division_code


def test_a_death_in_the_family_in_order_and_what_waits_is_withdrawn_when_the_first_item_is_refused(
    city: City,
) -> None:
    bundle = catalogue.bundle("death-in-family")
    deregister = "310000-07-00067-001"
    assert set(bundle.after) == set(bundle.items) - {deregister}
    with city.db.sessions() as s:
        deceased = s.scalars(select(Person).where(Person.id != city.rep.id).order_by(Person.id)).first()
        assert deceased is not None
    with city.db.transaction() as s:
        app = bundles.start_bundle(s, city.resident, "death-in-family")
        _a, cases = bundles.get_bundle(s, city.resident, app.id)
        for m in bundles.missing(cases):
            bundles.attach_document(
                s, city.resident, app.id, m["code"], filename="m.pdf", content_type="application/pdf", content=PDF
            )
        bundles.update_form(
            s,
            city.resident,
            app.id,
            {
                "deceased_name": deceased.name,
                "deceased_id_number": deceased.id_number,
                "death_date": (clock.local(clock.now()).date() - timedelta(days=2)).isoformat(),
                "relation_to_deceased": "子女",
                "bank_account": "6222020000000001",
            },
        )
        submitted = bundles.submit(s, city.resident, app.id)
        assert [c.item_code for c in submitted] == [deregister]
        app_id = app.id
    officers = _officers(city, {i.department for i in bundle.member_items()})
    psb = next(o for o in officers if o.agency_code == "sh-psb")
    with city.db.transaction() as s:  # the police accept the deregistration, then refuse it
        for w, c in service.work_queue(s, psb):
            if c.bundle_id == app_id:
                service.complete_task(s, psb, w.id, "accept")
    with city.db.transaction() as s:
        for w, c in service.work_queue(s, psb):
            if c.bundle_id == app_id:
                service.complete_task(s, psb, w.id, "refuse", reason="死亡医学证明与登记信息不符")
    with city.db.sessions() as s:
        by_item = {c.item_code: c for c in s.scalars(select(Case).where(Case.bundle_id == app_id))}
        finished = s.get(BundleApplication, app_id)
    assert by_item[deregister].status == CaseStatus.REFUSED
    # what waited for it never reached an officer: withdrawn by the platform, and the bundle is closed
    assert {by_item[c].status for c in bundle.after} == {CaseStatus.WITHDRAWN}
    assert all(by_item[c].submitted_at is None for c in bundle.after)
    assert finished is not None and finished.completed_at is not None


def test_a_reported_birth_drives_the_have_a_baby_bundle_and_the_newborn_is_registered_once(city: City) -> None:
    """The simulation's path from a life event to a bundle: the hospital's birth report puts the
    newborn in the registry and names the parent; the parent applies for "have a baby" (the services
    actor reads the published birth); the birth registration finds the reported newborn instead of
    registering a second one, and the newborn's card still waits for it."""
    import numpy as np

    from onecity.hub.registries import life_events
    from onecity.hub.registries.models import RelationKind
    from onecity.synth.actors.services import ServicesActor

    bundle = catalogue.bundle("have-a-baby")
    born = clock.local(clock.now()).date() - timedelta(days=1)
    actor = ServicesActor(0.001, accounts=0)
    actor._ready = True
    actor._accounts = [(city.resident, city.rep.id)]
    actor._events_seen = clock.now() - timedelta(minutes=1)
    with city.db.transaction() as s:
        child = life_events.register_birth(
            s,
            SYSTEM,
            name="李小禾",
            male=False,
            birth_date=born,
            division_code=city.rep.division_code,
            address=city.rep.address,
            hukou_region=city.rep.hukou_region,
        )
        relations.record_relation(
            s, SYSTEM, person_id=child.id, relative_id=city.rep.id, kind=RelationKind.PARENT, source="hospital report"
        )
        child_id = child.id
    with city.db.sessions() as s:
        people_before = s.scalar(select(func.count()).select_from(Person))
    with clock.frozen(clock.now() + timedelta(seconds=1)):
        actor._life_events(city.db, np.random.default_rng(1))
    assert actor.life_events["hub.person.born"] == 1
    with city.db.sessions() as s:
        app = s.scalar(select(BundleApplication).where(BundleApplication.bundle_code == "have-a-baby"))
        assert app is not None and app.applicant_identifier == city.rep.id_number
        by_item = {c.item_code: c for c in s.scalars(select(Case).where(Case.bundle_id == app.id))}
        assert by_item[REGISTRATION].form["child_name"] == "李小禾"
        assert by_item[CARD_ITEM].status == CaseStatus.DRAFT  # waits for the birth registration
    _work_off(city, _officers(city, {i.department for i in bundle.member_items()}))
    with city.db.sessions() as s:
        by_item = {c.item_code: c for c in s.scalars(select(Case).where(Case.bundle_id == app.id))}
        people_after = s.scalar(select(func.count()).select_from(Person))
        named = s.scalar(select(func.count()).select_from(Person).where(Person.name == "李小禾"))
    card, registration = by_item[CARD_ITEM], by_item[REGISTRATION]
    assert registration.status == card.status == CaseStatus.APPROVED
    assert card.submitted_at is not None and registration.decided_at is not None
    assert card.submitted_at >= registration.decided_at
    assert people_after == people_before and named == 1  # the reported newborn, not a second record
    assert child_id
