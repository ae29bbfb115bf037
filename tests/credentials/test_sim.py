"""The verifiers in the simulated city: checks through the real public check, forgeries all refused,
registry revocations reaching the credentials through the consumer, no status ever out of step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from onecity.credentials import service
from onecity.hub.registries.models import Certificate
from onecity.sim.engine import Simulation
from onecity.synth.actors.credentials import Verifiers
from tests.credentials.conftest import APPROVER, Registry


def test_two_simulated_days_of_checks(registry_db: Registry, make_certificate: Callable[..., Certificate]) -> None:
    for _ in range(12):
        cert = make_certificate()
        with registry_db.db.transaction() as s:
            service.issue_for_certificate(s, APPROVER, cert.id)
    actor = Verifiers(scale=0.0003, revoke_per_live_day=0.2)  # ~300 checks a day; revocations made frequent
    sim = Simulation(
        db=registry_db.db,
        actors=[actor],
        start=datetime(2026, 6, 1, 16, tzinfo=UTC),
        seed=7,
        deliver_events=True,
        progress=lambda _msg: None,
    )
    sim.run(hours=48)
    report = sim.report()["credentials"]
    assert report["issued"] == 12
    assert report["checks"] > 300 and report["valid"] > 0
    assert report["forged_presented"] > 0 and report["forged_accepted"] == 0
    assert report["forged_refused"] == report["forged_presented"]
    assert report["registry_revocations"] > 0 and report["revoked_seen"] > 0
    assert report["status_mismatches"] == 0
