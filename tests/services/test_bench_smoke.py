"""The pre-review benchmark still runs: ``--quick`` (two simulated hours at 1:10,000), JSON shape only."""

from __future__ import annotations

from tests.test_bench_smoke import run_bench


def test_services_prereview_quick() -> None:
    f = run_bench("services_prereview", timeout=300)["figures"]
    assert f["applications"] > 0 and f["prereviewed"] == f["applications"]
    assert f["false_auto_approvals"] == 0 and "auto_approved" in f and "prereview_seconds_p50" in f
