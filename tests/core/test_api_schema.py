"""Schemathesis against the OpenAPI document, in process: the API answers what its schema says.

Every operation of ``/openapi.json`` (``/api/v1``, ``/sta/v1.1``, ``/open311/v2``) gets a few
generated requests as a municipal administrator and as a resident, and each answer must pass
Schemathesis's checks: no server error, every status code and content type documented, the
body valid against the documented schema, and so on. One check is left out:
``positive_data_acceptance`` expects every schema-valid request to be accepted, but the
service functions refuse with 422 what only the database knows (an agency code that does
not exist, a case not in the right state), which no schema can say.

The examples are bounded (``EXAMPLES`` per operation and caller), so the run takes about a
minute; raise it locally to search harder. (Schemathesis's own pytest plugin does not run
under this pytest, so the operations are driven through Hypothesis directly.)
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from onecity.core.config import Environment, Settings
from onecity.core.db import Database
from tests.core import access_matrix as m

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = 3
CALLERS = ("admin@city", "resident")


@pytest.fixture(scope="module")
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from onecity.api.app import create_app

    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path_factory.mktemp("schema") / "onecity.db"
    shutil.copy(template, path)
    db = Database(f"sqlite:///{path}")
    config = Settings(
        env=Environment.TEST, database_url=db.url, secret_key=secrets.token_urlsafe(48), bus_url="memory://"
    )
    callers = m.seed_callers(db, config)
    app = create_app(config, db=db)
    yield schemathesis.openapi.from_asgi("/openapi.json", app, timeout=120), callers
    db.dispose()


def _failures(schema: Any, headers: dict[str, str]) -> dict[str, set[str]]:
    from schemathesis.checks import load_all_checks
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    load_all_checks()
    found: dict[str, set[str]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def run(case: Any) -> None:
            try:
                case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
            except BaseException as err:  # Schemathesis raises a group of failures: collect them and go on
                lines = [x.strip() for x in str(err).splitlines()[:6] if x.strip()]
                found.setdefault(label, set()).add(" | ".join(lines))  # noqa: B023 (run() runs before label changes)

        run()
    return found


@pytest.mark.parametrize("who", CALLERS)
def test_every_operation_answers_as_its_schema_says(api: Any, who: str) -> None:
    schema, callers = api
    headers = {"Authorization": callers[who].bearer or "", "X-OneCity-Purpose": "schema test"}
    found = _failures(schema, headers)
    assert not found, "\n".join(f"{op}: {'; '.join(sorted(f))}" for op, f in sorted(found.items()))
