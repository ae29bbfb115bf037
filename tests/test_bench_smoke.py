"""The benchmarks still run: each at ``--quick`` size, in its own process, printing its JSON line.

Benchmarks are code nobody runs on every commit, so they rot; this keeps them honest at a
few seconds each. It checks the shape of the output, not the figures: a shared two-core
machine is too noisy for speed assertions, which belong in the report, not in CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench._runs import orphanless
from tests.conftest import need_service

REPO = Path(__file__).resolve().parent.parent


def _stop_group(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM to the benchmark and all it started (it drops its database and stops its workers
    on it), SIGKILL to what is still there after 20 s; returns what it printed."""
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            return proc.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return "", ""


def run_bench(name: str, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``bench.<name> --quick`` and return its JSON result.

    The benchmark runs in a process group of its own: a timeout, or Ctrl-C on this run, stops
    it and everything it started (workers, publisher, broker) with SIGTERM, so its ``finally``
    blocks still drop its database and end its workers' sessions; if this run is killed
    outright, Linux sends the benchmark SIGTERM (``orphanless``)."""
    proc = subprocess.Popen(
        orphanless([sys.executable, "-m", f"bench.{name}", "--quick", *args]),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _, stderr = _stop_group(proc)
        pytest.fail(f"bench.{name} did not finish in {timeout} s; stderr:\n{stderr[-3000:]}")
    except BaseException:  # Ctrl-C, the suite's own timeout: take the benchmark's processes down too
        _stop_group(proc)
        raise
    assert proc.returncode == 0, stderr[-3000:]
    lines = stdout.strip().splitlines()
    assert lines, f"bench.{name} printed nothing on stdout; stderr:\n{stderr[-3000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert result["benchmark"] == name
    assert isinstance(result["figures"], dict) and result["figures"]
    return result


def test_audit_append_on_sqlite() -> None:
    result = run_bench("audit_append", "--backends", "sqlite")
    assert result["figures"]["sqlite"]["tx1_entries_per_s"] > 0
    assert "sqlite" in result["ratio"]


@pytest.mark.postgres
def test_audit_append_on_postgresql() -> None:
    need_service("PostgreSQL", "127.0.0.1", 5432)
    result = run_bench("audit_append", "--backends", "postgresql")
    assert result["figures"]["postgresql"]["verify_entries"] > 0


def test_outbox_relay_on_the_memory_bus() -> None:
    result = run_bench("outbox_relay", "--backends", "sqlite", "--buses", "memory")
    assert result["figures"]["sqlite/memory"]["tx1"]["events_per_s"] > 0


@pytest.mark.nats
@pytest.mark.postgres
def test_outbox_relay_on_nats_and_postgresql() -> None:
    need_service("NATS", "127.0.0.1", 4222)
    need_service("PostgreSQL", "127.0.0.1", 5432)
    result = run_bench("outbox_relay", "--backends", "postgresql", "--buses", "nats")
    assert result["baseline"]["postgresql/nats"]["raw_window1"]["events_per_s"] > 0


def test_api_http() -> None:
    result = run_bench("api_http")
    assert set(result["figures"]) >= {"health", "me", "users", "login"}
    assert result["figures"]["me"]["non_2xx"] == 0


def test_api_scaling() -> None:
    result = run_bench("api_scaling", "--no-open311", timeout=300)
    assert result["figures"]["sqlite.w1"]["audited_read_req_per_s"] > 0


def test_geo_lookup() -> None:
    result = run_bench("geo_lookup", timeout=180)  # generates the whole geography first
    assert result["figures"]["agree"] is True and result["ratio"]["vs_per_point_loop"] > 0


@pytest.mark.postgres
def test_seed_scale() -> None:
    need_service("PostgreSQL", "127.0.0.1", 5432)
    result = run_bench("seed_scale", "--scale", "0.001", timeout=240)  # loads the whole geography first
    assert result["figures"]["tables"]["persons"]["rows"] == 24_871 and result["figures"]["peak_rss"]["self_mb"] > 0
    assert result["baseline"]["raw_copy_s"] > 0 and result["figures"]["cpu_s"]["self"] > 0


def test_benefits_offers() -> None:
    result = run_bench("benefits_offers", timeout=180)  # seeds a small city first
    assert result["figures"]["same_counts"] is True and result["figures"]["city_made"] > 0


def test_runner_rejects_an_unknown_benchmark() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "no_such_bench"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2 and "unknown benchmark" in proc.stderr
