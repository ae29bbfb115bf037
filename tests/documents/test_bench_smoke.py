"""The document benchmark still runs: ``--quick`` (three documents) in its own process, JSON shape only."""

from __future__ import annotations

from tests.test_bench_smoke import run_bench


def test_documents_ocr_quick() -> None:
    result = run_bench("documents_ocr", timeout=240)
    f = result["figures"]
    assert f["documents"] == 3 and f["fields_clean"] + f["fields_degraded"] > 0
    assert 0 <= f["field_accuracy_clean_pct"] <= 100 and f["seconds_per_page"] > 0
    assert "forged_rated_low_risk" in f and "detection_vs_perfect_reading" in result["ratio"]
    assert f["false_unattended_approvals"] == 0 and sum(sum(v.values()) for v in f["decisions"].values()) == 3
