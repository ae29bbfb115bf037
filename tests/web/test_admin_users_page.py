"""The administrator's user list: search, fifty a page, the simulated city's accounts left out unless asked for."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from onecity.core.identity.models import User
from onecity.core.identity.roles import PrincipalKind, Role
from tests.web_support import sign_in


def _rows(page: str) -> int:
    table = page.split('id="users-table"', 1)[1].split("</table>", 1)[0] if 'id="users-table"' in page else ""
    return table.count("<tr>") - 1 if table else 0


def test_search_pages_and_leaves_simulated_accounts_out(client: TestClient, make_user: Callable[..., User]) -> None:
    make_user("admin.city", Role.ADMIN, division_code="310000000000")
    make_user("clerk.wang", Role.COUNTER_CLERK)
    for n in range(55):
        make_user(f"sim-resident-{n}", kind=PrincipalKind.CITIZEN, division_code=None, password="Sim-password-99")
    sign_in(client, "admin.city")
    first = client.get("/admin/users")
    assert first.status_code == 200 and _rows(first.text) == 2 and "sim-resident" not in first.text
    assert 'id="users-next"' not in first.text
    with_sim = client.get("/admin/users", params={"sim": "true"})
    assert _rows(with_sim.text) == 50 and 'id="users-next"' in with_sim.text
    second = client.get("/admin/users", params={"sim": "true", "page": 2})
    assert _rows(second.text) == 7 and "第 2 页" in second.text
    found = client.get("/admin/users", params={"q": "WANG"})
    assert _rows(found.text) == 1 and "clerk.wang" in found.text
    assert client.get("/admin/users", params={"page": 0}).status_code == 422
