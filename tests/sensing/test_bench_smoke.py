"""The sensing benchmarks still run, at ``--quick`` size, each printing its one JSON line."""

from __future__ import annotations

import pytest

from tests.conftest import need_service
from tests.test_bench_smoke import run_bench


@pytest.fixture(autouse=True)
def _services() -> None:
    need_service("Mosquitto", "127.0.0.1", 1883)
    need_service("PostgreSQL", "127.0.0.1", 5432)


def test_mqtt_ingest() -> None:
    result = run_bench("sensing_ingest", "--backends", "sqlite", timeout=120)
    assert result["figures"]["sqlite"]["stored"] == result["params"]["messages"]
    assert result["baseline"]["bare_subscriber_per_s"] > 0


def test_data_array() -> None:
    result = run_bench("sensing_data_array", "--backends", "sqlite", timeout=120)
    assert result["figures"]["sqlite"]["stored"] == result["params"]["observations"]


def test_alert_latency() -> None:
    result = run_bench("sensing_alert_latency", "--backends", "postgresql", timeout=120)
    assert result["figures"]["postgresql"]["alerts"] == result["params"]["events"]


def test_fault_run() -> None:
    result = run_bench("sensing_fault", "--backends", "postgresql", timeout=180)
    figures = result["figures"]["postgresql"]
    assert figures["missing"] == 0 and figures["duplicates"] == 0 and figures["kills"] == 1
