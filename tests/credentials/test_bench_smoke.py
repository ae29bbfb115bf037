"""The credentials benchmark still runs (``--quick``, SQLite) and prints its one JSON line."""

from __future__ import annotations

from tests.test_bench_smoke import run_bench


def test_credentials_verify_bench_runs() -> None:
    result = run_bench("credentials_verify", "--backends", "sqlite", timeout=120)
    figures = result["figures"]["sqlite"]
    assert figures["verify_per_s"] > 0 and figures["issue_per_s"] > 0
    # a tenth of the credentials are revoked and a tenth suspended: the check must see them
    assert figures["statuses"] == {"active": 48, "revoked": 6, "suspended": 6}
    assert result["ratio"]["sqlite"]["verify_vs_ed25519"] > 0
