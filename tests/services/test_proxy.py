"""Acting for another person (代办): proven before anything about them is read.

A proxy application reads the represented person's registry record only when the registries know
the relation (parent of a minor, guardian, household member, legal representative of the firm) or
the person granted a power of attorney (from their own account, or recorded at a counter by a clerk
who checked both identities). Every such read names the relation in their "who read my data".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.errors import PermissionDenied
from onecity.core.events import OutboxMessage
from onecity.core.identity import service as identity
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind
from onecity.hub.registries import relations
from onecity.hub.registries import service as registries
from onecity.hub.registries.identifiers import make_resident_id
from onecity.hub.registries.models import (
    Certificate,
    CertificateStatus,
    HolderKind,
    Person,
    PersonRelation,
    PowerOfAttorney,
    RelationKind,
)
from onecity.hub.registries.relations import ReadBasis
from onecity.hub.sharing.models import ResidentLink
from onecity.services import catalogue, service
from onecity.services.models import BundleApplication, Case
from onecity.web.i18n import LANG_COOKIE
from tests.conftest import PASSWORD, SYSTEM
from tests.hub.registries.conftest import run_cli
from tests.services.conftest import FOOD, City
from tests.web_support import csrf as csrf_from
from tests.web_support import sign_in

DIVORCE = "310000-07-00071-002"


def married_stranger(city: City) -> Person:
    """Someone the resident has nothing to do with, who holds a valid marriage certificate and a phone."""
    with city.db.sessions() as s:
        person = s.scalars(
            select(Person)
            .join(Certificate, Certificate.holder_id == Person.id)
            .where(
                Certificate.holder_kind == "person",
                Certificate.type_code == "marriage_certificate",
                Certificate.status == CertificateStatus.VALID,
                Person.id != city.rep.id,
                Person.phone.is_not(None),
            )
            .order_by(Person.id)
        ).first()
        assert person is not None, "the seed gives married people"
        s.expunge(person)
        return person


def reads_about(city: City, person_id: int) -> list[AuditEntry]:
    with city.db.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.subject == f"person:{person_id}")))


def test_a_stranger_s_id_number_and_a_free_text_relation_read_nothing(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    """The hole: 'neighbour' and any ID number gave a draft with the stranger's name, phone, address,
    spouse's name and ID number, marriage-certificate number and held certificates."""
    stranger = married_stranger(city)
    before = len(reads_about(city, stranger.id))
    me = login("resident")
    r = client.post(
        "/api/v1/services/cases",
        json={"item_code": DIVORCE, "id_number": stranger.id_number, "proxy_relation": "neighbour"},
        headers=me,
    )
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert stranger.name not in r.text and (stranger.phone or "") not in r.text
    assert "授权委托" in body["detail"] and "power of attorney" in body["detail"]  # what proof, and how to get it
    r = client.post(
        "/api/v1/services/bundles/have-a-baby/applications",
        json={"id_number": stranger.id_number, "proxy_relation": "neighbour"},
        headers=me,
    )
    assert r.status_code == 403, r.text
    assert stranger.name not in r.text
    assert len(reads_about(city, stranger.id)) == before  # nothing about them was read
    with city.db.sessions() as s:
        assert s.scalar(select(Case.id).where(Case.person_id == stranger.id)) is None
        assert (
            s.scalar(select(BundleApplication.id).where(BundleApplication.applicant_identifier == stranger.id_number))
            is None
        )


# -- factories -----------------------------------------------------------------------------------------

CARD = "310000-20-00063-001"  # resident ID card renewal: a person's item, open to proxies
NOBODY = make_resident_id("110105", date(1949, 12, 31), 997)  # well-formed, nobody's


def citizen(city: City, username: str, person_id: int) -> Principal:
    """A citizen account linked to ``person_id`` (its identity checked at a counter)."""
    with city.db.transaction() as s:
        user = identity.create_user(
            s,
            SYSTEM,
            username=username,
            password=PASSWORD,
            kind=PrincipalKind.CITIZEN,
            roles=[],
            agency_code=None,
            division_code=None,
        )
        s.add(ResidentLink(user_id=user.id, person_id=person_id, linked_by=SYSTEM.ref))
        return identity.principal_for_user(user)


def someone(city: City, *, adult: bool, exclude: tuple[int, ...] = ()) -> Person:
    cut = clock.local(clock.now()).date().replace(year=clock.local(clock.now()).date().year - 18)
    with city.db.sessions() as s:
        person = s.scalars(
            select(Person)
            .where(
                Person.id.not_in((city.rep.id, *exclude)), Person.birth_date < cut if adult else Person.birth_date > cut
            )
            .order_by(Person.id)
        ).first()
        assert person is not None
        s.expunge(person)
        return person


def relate(city: City, person: Person, relative: Person, kind: RelationKind) -> None:
    with city.db.transaction() as s:
        relations.record_relation(
            s, SYSTEM, person_id=person.id, relative_id=relative.id, kind=kind, source="household register (test)"
        )


def apply_for(client: TestClient, headers: dict[str, str], item: str, id_number: str) -> Any:
    return client.post("/api/v1/services/cases", json={"item_code": item, "id_number": id_number}, headers=headers)


def grant(
    client: TestClient, headers: dict[str, str], agent: Person, items: list[str], days: float = 30, **extra: Any
) -> Any:
    until = (clock.now() + timedelta(days=days)).isoformat()
    body = {"agent_id_number": agent.id_number, "items": items, "valid_until": until, **extra}
    if "grantor_id_number" not in extra:
        body.setdefault("agent_name", agent.name)
    return client.post("/api/v1/services/powers-of-attorney", json=body, headers=headers)


# -- relations the registries know ------------------------------------------------------------------------


def test_a_parent_of_a_minor_gets_the_prefill_and_the_child_s_log_names_the_relation(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    child = someone(city, adult=False)
    relate(city, child, city.rep, RelationKind.PARENT)
    r = apply_for(client, login("resident"), CARD, child.id_number)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["channel"] == "proxy" and case["form"]["applicant_name"] == child.name
    held = next(m for m in case["materials"] if m["code"] == "power_of_attorney")
    assert held["state"] == "held" and held["source"] == "registry:relation" and held["relation"] == "parent"
    reads = [e for e in reads_about(city, child.id) if e.action.startswith("hub.registry.")]
    assert reads and {e.detail["relation"] for e in reads} == {"parent"}
    assert all(e.detail["agent"] == f"person:{city.rep.id}" and e.detail["basis"] == "representation" for e in reads)
    # the child's own account sees who acted for them, and how they are related, in words
    citizen(city, "child", child.id)
    log = client.get("/api/v1/me/access-log", headers=login("child")).json()
    mine = [e for e in log if e["relation_en"]]
    assert mine and mine[0]["relation_en"] == "parent of a minor" and mine[0]["relation"].startswith("父母")
    assert mine[0]["on_behalf_of"] == city.rep.name
    sign_in(client, "child", PASSWORD, next_path="/me/data")
    page = client.get("/me/data")
    assert "父母（未成年子女的监护人）" in page.text and city.rep.name in page.text
    client.cookies.set(LANG_COOKIE, "en")
    page = client.get("/me/data")
    assert "Acting for you:" in page.text and "parent of a minor" in page.text


def test_a_parent_relation_ends_when_the_child_turns_18(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    grown = someone(city, adult=True)
    with city.db.sessions() as s:
        rep = s.get(Person, city.rep.id)
        assert rep is not None
        parent_is_older = rep.birth_date < grown.birth_date
    if not parent_is_older:
        grown = someone(city, adult=True, exclude=(grown.id,))
    with city.db.transaction() as s:
        s.add(
            PersonRelation(
                person_id=grown.id,
                relative_id=city.rep.id,
                kind=RelationKind.PARENT,
                valid_from=grown.birth_date,
                valid_until=None,
                source="birth registration (test)",
                recorded_by=SYSTEM.ref,
                created_at=clock.now(),
                ended_at=None,
            )
        )
    before = len(reads_about(city, grown.id))
    r = apply_for(client, login("resident"), CARD, grown.id_number)
    assert r.status_code == 403 and grown.name not in r.text
    assert len(reads_about(city, grown.id)) == before


def test_a_guardianship_holds_while_it_runs(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    ward = someone(city, adult=True)
    today = clock.local(clock.now()).date()
    with city.db.transaction() as s:
        relations.record_relation(
            s,
            SYSTEM,
            person_id=ward.id,
            relative_id=city.rep.id,
            kind=RelationKind.GUARDIAN,
            source="court appointment (test)",
            valid_from=today - timedelta(days=400),
            valid_until=today - timedelta(days=1),
        )
    me = login("resident")
    assert apply_for(client, me, CARD, ward.id_number).status_code == 403  # it ended yesterday
    relate(city, ward, city.rep, RelationKind.GUARDIAN)
    r = apply_for(client, me, CARD, ward.id_number)
    assert r.status_code == 201, r.text
    assert r.json()["materials"][-1]["relation"] == "guardian"


def test_a_household_member_acts_either_way(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    member = someone(city, adult=True)
    # a registrar records it from the household register, on the resident's side: it holds both ways
    relate_cli = ["registry", "relate", city.rep.id_number, member.id_number, "--kind", "household"]
    assert run_cli([*relate_cli, "--source", "HJ-2026-0001", "--database", city.db.url]) == 0
    assert run_cli([*relate_cli, "--source", "again", "--database", city.db.url]) == 1  # already recorded
    r = apply_for(client, login("resident"), CARD, member.id_number)
    assert r.status_code == 201, r.text
    assert {e.detail.get("relation") for e in reads_about(city, member.id) if e.action.startswith("hub.registry.")} == {
        "household"
    }


def test_a_firm_is_read_for_its_legal_representative_or_whom_they_authorised(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    helper = someone(city, adult=True)
    citizen(city, "helper", helper.id)
    body = {"item_code": FOOD, "uscc": city.firm.uscc}
    r = client.post("/api/v1/services/cases", json=body, headers=login("helper"))  # as if it were their firm
    assert r.status_code == 403 and "legal representative" in r.json()["detail"]
    r = client.post("/api/v1/services/cases", json={**body, "id_number": city.rep.id_number}, headers=login("helper"))
    assert r.status_code == 403 and "授权委托" in r.json()["detail"]
    assert grant(client, login("resident"), helper, [FOOD]).status_code == 201
    r = client.post("/api/v1/services/cases", json={**body, "id_number": city.rep.id_number}, headers=login("helper"))
    assert r.status_code == 201, r.text
    assert r.json()["form"]["uscc"] == city.firm.uscc and r.json()["channel"] == "proxy"
    firm_reads = [e for e in reads_about(city, city.rep.id) if e.object_id == f"legal_person:{city.firm.id}"]
    assert firm_reads and firm_reads[-1].detail["relation"] == "power_of_attorney"
    # the door itself: a firm's records on the "own" basis of someone who does not represent it
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        registries.certificates_of(
            s, service.AGENT, HolderKind.LEGAL_PERSON, city.firm.id, "test", basis=ReadBasis.own(helper.id, "user:x")
        )


# -- powers of attorney -----------------------------------------------------------------------------------


def test_a_power_of_attorney_granted_from_the_account_works_until_revoked(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    stranger = married_stranger(city)
    citizen(city, "grantor", stranger.id)
    me, them = login("resident"), login("grantor")
    assert apply_for(client, me, DIVORCE, stranger.id_number).status_code == 403
    r = grant(client, them, city.rep, [DIVORCE])
    assert r.status_code == 201, r.text
    poa = r.json()
    assert poa["live"] and poa["channel"] == "online" and poa["agent_name"] == city.rep.name
    r = apply_for(client, me, DIVORCE, stranger.id_number)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["form"]["spouse_name"] and case["prefill"]["marriage_certificate_no"].startswith("cert.")
    held = next(m for m in case["materials"] if m["code"] == "power_of_attorney")
    assert held["source"] == "registry:power_of_attorney" and held["ref"] == poa["id"]
    # the scope is the items named: not marriage registration
    assert apply_for(client, me, "310000-07-00071-001", stranger.id_number).status_code == 403
    # both sides see it; only the grantor revokes it
    listed = client.get("/api/v1/services/powers-of-attorney", headers=me).json()
    assert [p["id"] for p in listed["received"]] == [poa["id"]] and listed["granted"] == []
    # naming the agent takes their ID number and their name: a wrong name or an unknown number say the same
    wrong = grant(client, them, city.rep, [DIVORCE], agent_name="张三丰")
    assert wrong.status_code == 422 and city.rep.name not in wrong.text
    unknown = grant(client, them, city.rep, [DIVORCE], agent_id_number=NOBODY)
    assert unknown.status_code == 422 and unknown.json()["detail"] == wrong.json()["detail"]
    url = f"/api/v1/services/powers-of-attorney/{poa['id']}/revoke"
    assert client.post(url, json={"reason": "mine"}, headers=me).status_code == 404
    assert client.post(url, json={"reason": "done"}, headers=them).status_code == 200
    assert client.post(url, json={"reason": "done"}, headers=them).status_code == 409
    # the case the proxy started is theirs no more: only the person themselves sees it now
    assert client.get(f"/api/v1/services/cases/{case['id']}", headers=me).status_code == 403
    assert client.get(f"/api/v1/services/cases/{case['id']}", headers=them).status_code == 200
    assert case["id"] not in [c["id"] for c in client.get("/api/v1/services/cases", headers=me).json()]
    before = len(reads_about(city, stranger.id))
    r = apply_for(client, me, DIVORCE, stranger.id_number)
    assert r.status_code == 403 and stranger.name not in r.text
    assert len(reads_about(city, stranger.id)) == before
    with city.db.sessions() as s:
        actions = [
            e.action
            for e in s.scalars(select(AuditEntry).where(AuditEntry.object_id == poa["id"]).order_by(AuditEntry.seq))
        ]
        kinds = set(
            s.scalars(select(OutboxMessage.event_type).where(OutboxMessage.event_type.like("hub.power_of_attorney.%")))
        )
    assert actions == ["hub.power_of_attorney.granted", "hub.power_of_attorney.revoked"]
    assert kinds == {"hub.power_of_attorney.granted", "hub.power_of_attorney.revoked"}


def test_an_expired_power_of_attorney_stops_and_a_stale_proof_is_refused_at_the_door(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    stranger = married_stranger(city)
    grantor = citizen(city, "grantor", stranger.id)
    with city.db.transaction() as s:
        relations.grant_power_of_attorney(
            s,
            grantor,
            agent_id_number=city.rep.id_number,
            agent_name=city.rep.name,
            items=["*"],
            valid_until=clock.now() + timedelta(hours=1),
        )
    with city.db.transaction() as s:
        rep = s.get(Person, city.rep.id)
        assert rep is not None
        proof = relations.prove(s, rep, id_number=stranger.id_number, items=(DIVORCE,), account=city.resident.ref)
        assert proof is not None and proof.relation == "power_of_attorney"
    with clock.frozen(clock.now() + timedelta(hours=2)):
        with city.db.transaction() as s, pytest.raises(PermissionDenied, match="power of attorney"):
            service.start_case(s, city.resident, DIVORCE, id_number=stranger.id_number)
        with city.db.transaction() as s, pytest.raises(PermissionDenied):  # the proof made an hour ago is stale now
            registries.person_by_id_number(s, service.AGENT, stranger.id_number, "test", basis=proof)
    # the one-stop agent has no duty of its own: it cannot read on a made-up legal basis
    with city.db.transaction() as s, pytest.raises(PermissionDenied, match="official duty"):
        registries.person_by_id_number(s, service.AGENT, stranger.id_number, "test", basis=ReadBasis.duty("curious"))


def test_a_power_of_attorney_recorded_at_the_counter(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    grantor = someone(city, adult=True)
    with city.db.transaction() as s:
        s.execute(update(Person).where(Person.id == grantor.id).values(division_code=city.rep.division_code))
    clerk, huangpu = login("clerk"), login("hpclerk")
    at_counter = grantor.id_number  # the grantor named by the clerk: a power recorded at the counter
    r = grant(client, clerk, city.rep, [CARD], grantor_id_number=at_counter)
    assert r.status_code == 422 and "identity" in r.json()["detail"]
    r = grant(client, huangpu, city.rep, [CARD], grantor_id_number=at_counter, identity_checked=True)
    assert r.status_code == 403  # outside the clerk's area
    r = grant(client, clerk, city.rep, [CARD], grantor_id_number=at_counter, identity_checked=True)
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "counter"
    r = apply_for(client, login("resident"), CARD, grantor.id_number)
    assert r.status_code == 201, r.text
    with city.db.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "hub.power_of_attorney.granted")).one()
    assert entry.actor == city.clerk.ref and entry.detail["identity_checked"] is True
    # the counter page records one too
    sign_in(client, "clerk", PASSWORD, next_path="/services/counter/powers")
    page = client.get("/services/counter/powers")
    assert page.status_code == 200 and 'id="poa-checked"' in page.text
    until = (clock.local(clock.now()) + timedelta(days=10)).date().isoformat()
    form = {"grantor_id_number": grantor.id_number, "agent_id_number": city.rep.id_number, "items": "*"}
    r = client.post("/services/counter/powers", data={**form, "valid_until": until, "csrf_token": csrf_from(page)})
    assert r.status_code == 422  # the identity tick is missing: the page says so
    r = client.post(
        "/services/counter/powers",
        data={**form, "valid_until": until, "identity_checked": "yes", "csrf_token": csrf_from(page)},
    )
    assert r.status_code == 200 and "已登记授权委托" in r.text


def test_the_resident_s_powers_page_grants_and_revokes(city: City, client: TestClient) -> None:
    agent = someone(city, adult=True)
    sign_in(client, "resident", PASSWORD, next_path="/services/powers")
    page = client.get("/services/powers")
    assert page.status_code == 200 and 'id="poa-new"' in page.text
    until = (clock.local(clock.now()) + timedelta(days=10)).date().isoformat()
    r = client.post(
        "/services/powers",
        data={
            "agent_id_number": agent.id_number,
            "agent_name": agent.name,
            "items": CARD,
            "valid_until": until,
            "csrf_token": csrf_from(page),
        },
    )
    assert r.status_code == 200 and agent.name in r.text and "已登记授权委托" in r.text
    with city.db.sessions() as s:
        poa_id = s.scalars(select(PowerOfAttorney.id)).one()
    r = client.post(f"/services/powers/{poa_id}/revoke", data={"reason": "不再需要", "csrf_token": csrf_from(r.text)})
    assert r.status_code == 200 and "已撤销授权委托" in r.text
    with city.db.sessions() as s:
        assert s.get_one(PowerOfAttorney, poa_id).status == "revoked"


def test_a_bundle_for_someone_else_needs_a_power_covering_every_item(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    stranger = married_stranger(city)
    citizen(city, "grantor", stranger.id)
    me, them = login("resident"), login("grantor")
    baby = catalogue.bundle("have-a-baby")
    url = "/api/v1/services/bundles/have-a-baby/applications"
    assert grant(client, them, city.rep, [baby.items[0]]).status_code == 201
    r = client.post(url, json={"id_number": stranger.id_number}, headers=me)
    assert r.status_code == 403 and stranger.name not in r.text
    assert grant(client, them, city.rep, list(baby.items)).status_code == 201
    r = client.post(url, json={"id_number": stranger.id_number}, headers=me)
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "proxy" and r.json()["form"]["spouse_name"]
    reads = [e for e in reads_about(city, stranger.id) if e.action.startswith("hub.registry.")]
    assert reads and all(e.detail["relation"] == "power_of_attorney" for e in reads)
