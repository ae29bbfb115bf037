"""Forecasts from stored states against both baselines; max-pressure signals against fixed time."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
from sqlalchemy import select

from onecity.core.db import Database, table_of
from onecity.traffic import forecast, service, signals
from onecity.traffic.models import Segment, SegmentState
from onecity.traffic.network import Network
from onecity.traffic.runner import day_start


def test_forecast_beats_the_historical_average_and_persistence(db: Database, tiny: Network) -> None:
    """Four mornings of states: a peak whose depth varies by day and drifts slowly — what the recent
    speeds know and the average of other days does not; the last morning is held out."""
    with db.transaction() as session:
        key = service.install_network(session, tiny)
        edges = list(session.scalars(select(Segment.edge_id).where(Segment.network == key).limit(20)))
    rng = np.random.default_rng(3)
    days = [date(2026, 11, 3) + timedelta(weeks=k) for k in range(4)]
    rows = []
    for day in days:
        depth = rng.uniform(5, 25)  # how bad this morning's peak is
        for e, edge in enumerate(edges):
            base = 40 + (e % 5) * 4
            for slot in range(48):  # 6:00 … 9:55
                peak = depth * math.exp(-(((slot - 24) / 10) ** 2))
                speed = base - peak + rng.normal(0, 1.0)
                at = day_start(day) + timedelta(hours=6, minutes=5 * slot)
                rows.append(
                    {"network": key, "edge_id": edge, "at": at, "speed_kmh": round(speed, 2), "flow_vph": None,
                     "occupancy": None, "index": 0.0, "grade": 1, "loop_samples": 1, "probe_samples": 0}
                )  # fmt: skip
    with db.transaction() as session:
        session.execute(table_of(SegmentState).insert(), rows)
        assert forecast.days_with_states(session, key) == days
    with db.sessions() as session:
        result = forecast.evaluate(session, key, days[:-1], days[-1])
    for h in forecast.HORIZONS:
        r = result[h]
        assert r["samples"] > 500
        assert r["mae_kmh"] < r["mae_persistence_kmh"], (h, r)
    assert result["h15"]["mae_kmh"] <= 0.75 * result["h15"]["mae_historical_average_kmh"], result["h15"]


def test_max_pressure_delays_less_than_fixed_time(tiny: Network) -> None:
    out = signals.compare(tiny, seed=1, minutes=10, demand=25.0)
    assert out["throughput_fixed"] > 50 and out["throughput_adaptive"] > 50
    assert out["delay_adaptive_s"] < out["delay_fixed_s"], out
