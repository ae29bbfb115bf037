"""Forecasts from stored states against both baselines; max-pressure signals against fixed time."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select

from onecity.core import clock
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


def test_the_diagnosis_tells_sampling_noise_from_a_deviation_that_lasts(db: Database, tiny: Network) -> None:
    """Speeds that scatter at random round the usual: almost all noise, nothing carried 15 minutes on;
    a day whose deviation drifts slowly: far less noise, and its deviations correlate over the horizons."""
    with db.transaction() as session:
        key = service.install_network(session, tiny)
        edges = list(session.scalars(select(Segment.edge_id).where(Segment.network == key).limit(20)))
    days = [date(2026, 11, 3) + timedelta(weeks=k) for k in range(5)]

    def diagnosis(drift: float) -> dict[str, float]:
        rng = np.random.default_rng(5)
        rows = []
        for day in days:
            for e, edge in enumerate(edges):
                walk = np.cumsum(rng.normal(0, drift, 24))
                for slot in range(24):
                    speed = 40 + (e % 5) * 4 + walk[slot] + rng.normal(0, 1.0)
                    rows.append(
                        {"network": key, "edge_id": edge, "at": day_start(day) + timedelta(hours=7, minutes=5 * slot),
                         "speed_kmh": round(float(speed), 2), "flow_vph": None, "occupancy": None, "index": 0.0,
                         "grade": 1, "loop_samples": 2, "probe_samples": 1}
                    )  # fmt: skip
        with db.transaction() as session:
            session.execute(table_of(SegmentState).delete().where(table_of(SegmentState).c.network == key))
            session.execute(table_of(SegmentState).insert(), rows)
        with db.sessions() as session:
            return forecast.diagnose(session, key, days)

    noise = diagnosis(0.0)
    assert noise["noise_share_of_variance"] > 0.9 and abs(noise["deviation_corr_h15"]) < 0.1, noise
    lasting = diagnosis(1.5)
    assert lasting["noise_share_of_variance"] < 0.3 and lasting["deviation_corr_h15"] > 0.5, lasting
    assert lasting["deviation_corr_h15"] > lasting["deviation_corr_h60"]
    with db.transaction() as session:
        session.execute(table_of(SegmentState).delete().where(table_of(SegmentState).c.network == key))


def test_max_pressure_delays_less_than_fixed_time(tiny: Network) -> None:
    out = signals.compare(tiny, seed=1, minutes=10, demand=25.0)
    assert out["throughput_fixed"] > 50 and out["throughput_adaptive"] > 50
    assert out["delay_adaptive_s"] < out["delay_fixed_s"], out


def test_a_simulated_day_is_kept_on_disk_and_loaded_back_the_same(db: Database, tiny: Network, tmp_path: Path) -> None:
    from bench.traffic_forecast import CHAIN_VERSION, day_file, day_states, load_day, save_day

    with db.transaction() as session:
        key = service.install_network(session, tiny)
        edges = list(session.scalars(select(Segment.edge_id).where(Segment.network == key).limit(3)))
    days = [date(2026, 11, 3), date(2026, 11, 10)]
    rows = [
        {"network": key, "edge_id": edge, "at": day_start(day) + timedelta(hours=7, minutes=5 * s),
         "speed_kmh": 30.0 + s + k, "flow_vph": 600.0 if s % 2 else None, "occupancy": 4.5, "index": 1.5, "grade": 1,
         "loop_samples": 10, "probe_samples": s}
        for k, day in enumerate(days) for edge in edges for s in range(4)
    ]  # fmt: skip
    with db.transaction() as session:
        session.execute(table_of(SegmentState).insert(), rows)

    def stored() -> set[tuple[object, ...]]:
        with db.sessions() as session:
            return {
                (
                    s.edge_id,
                    s.at,
                    s.speed_kmh,
                    s.flow_vph,
                    s.occupancy,
                    s.index,
                    s.grade,
                    s.loop_samples,
                    s.probe_samples,
                )
                for s in session.scalars(select(SegmentState).where(SegmentState.network == key))
                if clock.local(s.at).date() == days[1]
            }

    before = stored()
    kept = day_states(db, key, days[1])
    assert len(kept) == len(before) == 12  # that day's, not the other's
    path = day_file(tmp_path, day=days[1], demand_seed=1001, demand=20.0, begin="06:30", minutes=180, incidents=2)
    save_day(path, kept)
    with db.transaction() as session:
        session.execute(table_of(SegmentState).delete().where(table_of(SegmentState).c.network == key))
    import gzip
    import json

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        load_day(db, key, json.load(fh))
    assert stored() == before
    # another draw, demand or hours is another day
    other = day_file(tmp_path, day=days[1], demand_seed=1001, demand=20.5, begin="06:30", minutes=180, incidents=2)
    assert other != path and not other.exists()
    # and so is another floating-car share; the default share keeps the names days were kept under before
    probes = day_file(
        tmp_path, day=days[1], demand_seed=1001, demand=20.0, begin="06:30", minutes=180, incidents=2,
        probe_share=0.10, probe_units=400,
    )  # fmt: skip
    assert probes != path and not probes.exists()
    assert path.name == f"2026-11-10-d1001-q20.000-b0630-m180-i2-v{CHAIN_VERSION}.json.gz"
    with db.transaction() as session:
        session.execute(table_of(SegmentState).delete().where(table_of(SegmentState).c.network == key))
