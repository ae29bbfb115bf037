"""The document benchmark still runs: ``--quick`` (three family-b documents) in its own process, JSON shape only."""

from __future__ import annotations

from tests.test_bench_smoke import run_bench


def test_documents_ocr_quick() -> None:
    result = run_bench("documents_ocr", timeout=240)
    f = result["figures"]
    assert f["documents"] == 3 and f["fields_clean"] + f["fields_degraded"] > 0
    shares = (f["field_accuracy_clean_pct"], f["field_accuracy_degraded_pct"])
    assert all(0 <= v <= 100 for v in shares if v is not None) and f["seconds_per_page"] > 0
    assert "forged_rated_low_risk" in f and "detection_vs_perfect_reading" in result["ratio"]
    assert f["false_unattended_approvals"] == 0 and sum(sum(v.values()) for v in f["decisions"].values()) == 3
    family = f["families"]["b"]
    assert family["documents"] == 3 and "by_field_pct" in family and "by_degradation_pct" in family
    assert family["documents_clean"] + family["documents_degraded"] == 3 and family["pages_timed"] == 3
    low, high = family["field_accuracy_degraded_ci95"] or family["field_accuracy_clean_ci95"]
    assert 0 <= low <= high <= 100
    assert f["forged_check_digit_corrected"] == 0
