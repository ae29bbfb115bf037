"""Segment speed forecasts 15, 30 and 60 minutes ahead against the historical average and persistence
(goals: MAE at 15 min ≥ 25 % below the historical average, and below persistence at every horizon).

Simulated weekday mornings (same network, a different draw of trips and incidents each day and a
day-to-day demand level within ±15 %) go through the whole chain — SUMO, the detectors through
the sensing ingest, the 5-minute states — into one database; the model (gradient boosting,
:mod:`onecity.traffic.forecast`) learns from all days but the last and forecasts the last, which
neither it nor the historical average has seen. Baselines on the same pairs: the historical
average of the segment at that time of day over the training days, and the last value.

A simulated day is produced once: its 5-minute segment states are kept under
``var/traffic/<area>-<seed>/forecast-days/`` (``ONECITY_TRAFFIC_DIR`` moves ``var/traffic``),
one gzipped JSON file per day named by everything that makes the day (its date, the draw of
trips and incidents, the demand and its level, the hours, :data:`CHAIN_VERSION`); a later run
loads the states of the days it already has and simulates only the rest (``--fresh``: simulate
them all again). ``--days 12`` after a run of 6 simulates six more.

``--rotate`` holds out every day in turn as well and reports the mean (one held-out morning is
a few thousand pairs); ``diagnosis`` (:func:`onecity.traffic.forecast.diagnose`) says how much of
the states' variation round the usual is measurement noise and how much of it lasts.
"""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench._common import database_url, emit, log, parser

#: what the simulated days' states depend on beyond the file's name: bump it when the chain
#: (simulation, sensing, fusion) changes what a day's states are
CHAIN_VERSION = 2
STATE_COLUMNS = (
    "edge_id",
    "at",
    "speed_kmh",
    "flow_vph",
    "occupancy",
    "index",
    "grade",
    "loop_samples",
    "probe_samples",
)


def day_file(
    root: Path,
    *,
    day: date,
    demand_seed: int,
    demand: float,
    begin: str,
    minutes: float,
    incidents: float,
    probe_share: float = 0.05,
    probe_units: int = 200,
) -> Path:
    probes = "" if (probe_share, probe_units) == (0.05, 200) else f"-p{probe_share:g}x{probe_units}"
    name = (
        f"{day.isoformat()}-d{demand_seed}-q{demand:.3f}-b{begin.replace(':', '')}-m{minutes:g}"
        f"-i{incidents:g}{probes}-v{CHAIN_VERSION}.json.gz"
    )
    return root / "forecast-days" / name


def save_day(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        json.dump(rows, fh)
    tmp.replace(path)  # whole or not at all: a run stopped while writing leaves no half day


def day_states(db: Any, key: str, day: date) -> list[dict[str, Any]]:
    """A simulated day's states as plain rows (``at`` in UTC ISO form)."""
    from sqlalchemy import select

    from onecity.core import clock
    from onecity.traffic.models import SegmentState

    out = []
    with db.sessions() as session:
        for st in session.scalars(select(SegmentState).where(SegmentState.network == key)):
            if clock.local(st.at).date() != day:
                continue
            row = {c: getattr(st, c) for c in STATE_COLUMNS}
            at = st.at if st.at.tzinfo else st.at.replace(tzinfo=UTC)
            row["at"] = at.astimezone(UTC).isoformat()
            out.append(row)
    return out


def load_day(db: Any, key: str, rows: list[dict[str, Any]]) -> None:
    from onecity.traffic.models import SegmentState

    with db.transaction() as session:
        session.add_all(SegmentState(network=key, **{**r, "at": datetime.fromisoformat(r["at"])}) for r in rows)


def grade_shares(session: Any, key: str) -> dict[str, float]:
    """How congested the simulated mornings are: the share of all 5-minute states in each GB/T 33171 grade."""
    from sqlalchemy import func, select

    from onecity.traffic.index import GRADE_KEYS
    from onecity.traffic.models import SegmentState

    counts = dict(
        session.execute(
            select(SegmentState.grade, func.count()).where(SegmentState.network == key).group_by(SegmentState.grade)
        ).all()
    )
    total = sum(counts.values()) or 1
    return {name: round(counts.get(g, 0) / total, 3) for g, name in GRADE_KEYS.items()}


def main() -> None:
    p = parser(__doc__ or "traffic_forecast")
    p.add_argument("--area", default="tiny", choices=["tiny", "central", "city"])
    p.add_argument("--days", type=int, default=6, help="simulated mornings; the last is held out")
    p.add_argument("--begin", default="06:30")
    p.add_argument("--minutes", type=float, default=180.0)
    p.add_argument("--demand", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    p.add_argument("--incidents-per-hour", type=float, default=2.0)
    p.add_argument("--probe-share", type=float, default=0.05, help="share of the vehicles reporting as floating cars")
    p.add_argument(
        "--probe-units", type=int, default=200, help="floating-car units registered (at most this many report)"
    )
    p.add_argument("--fresh", action="store_true", help="simulate every day again, replacing the kept ones")
    p.add_argument(
        "--rotate", action="store_true",
        help="also hold out every other day in turn (the rest learn) and report the mean over all held-out days",
    )  # fmt: skip
    args = p.parse_args()
    if args.quick:
        args.days, args.minutes = 3, 90.0
    from onecity.core.db import Database
    from onecity.core.migrate import upgrade
    from onecity.traffic import forecast, service
    from onecity.traffic.network import load_network, network_dir
    from onecity.traffic.runner import RunConfig, run

    rng = np.random.default_rng(args.seed)
    load_before = os.getloadavg()
    first = date(2026, 11, 3)  # Tuesdays, a week apart
    days = [first + timedelta(weeks=k) for k in range(args.days)]
    with database_url(args.backend, "traffic_forecast") as url:
        db = Database(url)
        upgrade(db)
        walls = []
        kept = 0
        net = load_network(args.area, args.seed)
        with db.transaction() as session:
            key = service.install_network(session, net)
        for k, day in enumerate(days):
            level = float(rng.uniform(0.85, 1.15))
            path = day_file(
                network_dir(args.area, args.seed), day=day, demand_seed=1000 + k, demand=args.demand * level,
                begin=args.begin, minutes=args.minutes, incidents=args.incidents_per_hour,
                probe_share=args.probe_share, probe_units=args.probe_units,
            )  # fmt: skip
            if path.exists() and not args.fresh:
                with gzip.open(path, "rt", encoding="utf-8") as fh:
                    load_day(db, key, json.load(fh))
                kept += 1
                log(f"day {k + 1}/{len(days)} ({day}, demand ×{level:.2f}): kept from {path}")
                continue
            cfg = RunConfig(
                area=args.area,
                seed=args.seed,
                demand_seed=1000 + k,
                day=day,
                begin=args.begin,
                minutes=args.minutes,
                trips_per_km_hour=args.demand * level,
                incidents_per_hour=args.incidents_per_hour,
                probe_share=args.probe_share,
                probe_units=args.probe_units,
                deliver_events=False,
            )
            log(f"day {k + 1}/{len(days)} ({day}, demand ×{level:.2f})…")
            walls.append(run(db, cfg)["wall_s"])
            save_day(path, day_states(db, key, day))
        with db.sessions() as session:
            result = forecast.evaluate(session, key, days[:-1], days[-1], seed=args.seed)
            diagnosis = forecast.diagnose(session, key, days)
            diagnosis["grade_shares"] = grade_shares(session, key)
            rotated: dict[str, Any] = {}
            if args.rotate:
                each = [
                    forecast.evaluate(session, key, [d for d in days if d != test], test, seed=args.seed)
                    for test in days
                ]
                for h in forecast.HORIZONS:
                    got = [r[h] for r in each if r[h].get("mae_kmh") is not None]
                    mean = {
                        k: round(float(np.mean([g[k] for g in got])), 3)
                        for k in ("mae_kmh", "mae_historical_average_kmh", "mae_persistence_kmh")
                    }
                    rotated[h] = mean | {
                        "vs_historical_average": round(1 - mean["mae_kmh"] / mean["mae_historical_average_kmh"], 3),
                        "vs_persistence": round(1 - mean["mae_kmh"] / mean["mae_persistence_kmh"], 3),
                        "held_out_days": len(got),
                        "days_better_than_historical_average": sum(
                            g["mae_kmh"] < g["mae_historical_average_kmh"] for g in got
                        ),
                    }
        db.dispose()
    figures = {h: result[h] for h in forecast.HORIZONS}
    ratio = {}
    for h, f in figures.items():
        if f.get("mae_kmh") is not None:
            ratio[h] = {
                "vs_historical_average": round(1 - f["mae_kmh"] / f["mae_historical_average_kmh"], 3),
                "vs_persistence": round(1 - f["mae_kmh"] / f["mae_persistence_kmh"], 3),
            }
    emit(
        "traffic_forecast",
        {k: v for k, v in vars(args).items()},
        {
            **figures,
            "days": len(days),
            "diagnosis": diagnosis,
            **({"every_day_held_out": rotated} if rotated else {}),
            "days_simulated_now": len(walls),
            "days_kept_from_earlier_runs": kept,
            "simulation_wall_s": round(sum(walls), 1),
            "load_average": {
                "before": [round(x, 2) for x in load_before],
                "after": [round(x, 2) for x in os.getloadavg()],
            },
        },
        ratio=ratio,
    )


if __name__ == "__main__":
    main()
