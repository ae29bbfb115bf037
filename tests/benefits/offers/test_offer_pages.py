"""The resident's offers page and the officers' objections queue, over HTTP, in both languages."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.benefits.models import BenefitOffer, OfferStatus
from tests.benefits.offers.test_offers import in_xuhui, offered, resident_for
from tests.conftest import PASSWORD
from tests.services.conftest import City
from tests.web_support import csrf as csrf_from
from tests.web_support import sign_in


def test_a_resident_takes_up_an_offer_and_objects_in_both_languages(city: City, client: TestClient) -> None:
    offer = in_xuhui(city.db, offered(city.db))
    resident = resident_for(city.db, offer.subject_id)
    sign_in(client, resident.name, PASSWORD, next_path="/benefits/offers")
    market = client.get("/benefits").text  # the public page knows who is signed in and links their offers
    assert 'id="my-offers"' in market and "退出登录" in market
    page = client.get("/benefits/offers")
    assert page.status_code == 200 and "我的免申即享" in page.text and "老年综合津贴" in page.text
    assert offer.id in page.text and "一键领取" in page.text
    client.get("/lang/en")
    en = client.get("/benefits/offers")
    assert "My offers" in en.text and "Old-age allowance" in en.text and "一键领取" not in en.text
    r = client.post(f"/benefits/offers/{offer.id}/accept", data={"csrf_token": csrf_from(en)})
    assert r.status_code == 200 and "Taken up" in r.text and "/services/cases/" in r.text
    with city.db.transaction() as s:
        row = s.get(BenefitOffer, offer.id)
        assert row is not None and row.status == OfferStatus.ACCEPTED
    # taking it up twice is refused in words, nothing changes
    again = client.post(f"/benefits/offers/{offer.id}/accept", data={"csrf_token": csrf_from(r)})
    assert again.status_code == 409 and "taken up" in again.text
    bad = client.post(
        "/benefits/objections/new",
        data={"policy_code": "no_such_policy", "text": "I think so", "csrf_token": csrf_from(r)},
    )
    assert bad.status_code == 404 and "no benefit policy" in bad.text
    filed = client.post(
        "/benefits/objections/new",
        data={"policy_code": "childcare_subsidy", "text": "I have a baby of one", "csrf_token": csrf_from(r)},
    )
    assert filed.status_code == 200 and "Your objection is filed" in filed.text
    client.cookies.clear()
    sign_in(client, "approver", PASSWORD, next_path="/benefits/objections")
    queue = client.get("/benefits/objections")
    assert queue.status_code == 200 and "I have a baby of one" in queue.text
    objection_id = queue.text.split('action="/benefits/objections/')[1].split("/answer")[0]
    answered = client.post(
        f"/benefits/objections/{objection_id}/answer",
        data={"outcome": "rejected", "answer": "No child under 3 is registered to you", "csrf_token": csrf_from(queue)},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    assert "I have a baby of one" not in client.get("/benefits/objections").text
    assert client.get("/benefits/offers").status_code == 403  # staff have no offers page
    with city.db.transaction() as s:
        assert s.scalars(select(BenefitOffer.status).where(BenefitOffer.id == offer.id)).one() == "accepted"
