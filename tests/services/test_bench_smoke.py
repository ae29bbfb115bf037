"""The services benchmark still runs at --quick size and prints its JSON line (shape, never speed)."""

from __future__ import annotations

from tests.test_bench_smoke import run_bench


def test_services_workflow_bench() -> None:
    result = run_bench("services_workflow", timeout=120)
    assert result["figures"]["standard_approval.cases_per_s"] > 0
    assert set(result["ratio"]) == {"standard_approval.cached_vs_parse_per_case",
                                    "joint_review.cached_vs_parse_per_case"}
