"""The services benchmarks still run at ``--quick`` size (pre-review: two simulated hours at 1:10,000; prefill: one
hour at 1:5,000), JSON shape only."""

from __future__ import annotations

from tests.test_bench_smoke import run_bench


def test_services_prereview_quick() -> None:
    f = run_bench("services_prereview", timeout=300)["figures"]
    assert f["applications"] > 0 and f["prereviewed"] == f["applications"]
    assert f["false_auto_approvals"] == 0 and "auto_approved" in f and "prereview_seconds_p50" in f


def test_services_prefill_quick() -> None:
    """One simulated hour at 1:5,000: the share and its breakdown come out in the report's shape."""
    f = run_bench("services_prefill", timeout=300)["figures"]
    assert f["fields"] >= f["prefilled"] > 0 and 0 < f["prefilled_field_share"] <= 1
    assert set(f["unfilled"]) <= {"no_source", "source_empty", "changed"} and f["by_item"]
