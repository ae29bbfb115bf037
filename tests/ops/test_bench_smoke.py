"""``bench.ops_open311`` still runs (``--quick``, Xuhui only) and prints its JSON line; no speed asserted."""

from __future__ import annotations

from tests.test_bench_smoke import run_bench


def test_ops_open311_benchmark() -> None:
    result = run_bench("ops_open311", timeout=180)
    f = result["figures"]
    assert f["open311_post"]["requests"] > 0 and f["open311_post"]["non_2xx"] == 0
    assert f["register_and_dispatch"]["dispatched"] == f["register_and_dispatch"]["cases"] > 0
    assert "operations" in f["simulated_day"] and result["ratio"]["open311_post_req_per_s_vs_bare"] > 0
    assert f["open311_get"]["before_paging"]["non_2xx"] == 0
    assert result["ratio"]["open311_get_default_page_vs_before_paging"] > 0
